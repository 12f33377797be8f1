/**
 * A BatchConsumer on @platformatic/kafka (KAFKA_CLIENT=platformatic; a prototype, see
 * docs/kafka-clients.md). The client hands over a stream of single messages; PartitionBatcher cuts
 * it into per-partition batches, one at a time per partition, so the handler sees what it sees on
 * kafkajs: a batch of one partition, in offset order, committed (next offset) once the handler
 * returns, never before. If the handler throws, what it resolved is committed and the partition is
 * read again from the first record it did not resolve (at-least-once), after a short pause.
 *
 * What the client lacks is built here: it cannot pause or seek one partition of a stream, so a seek
 * rewrites the stream's next fetch offset and drops what was fetched before it, and a paused
 * partition's records are dropped and read again from the first dropped one on resume.
 */
import {
  Consumer,
  FetchIsolationLevels,
  type Message,
  type MessagesStream,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
} from '@platformatic/kafka';
import type { Logger } from '../../log/index.ts';
import type { Assignment, BatchConsumer, BatchHandler, ConsumerOptions, RunOptions } from '../consumer.ts';
import type { ConsumedRecord, TopicPartitionOffset } from '../types.ts';
import { PartitionBatcher } from './batcher.ts';
import { deserializers, headersToRecord } from './codec.ts';
import type { PlatformaticBase } from './producer.ts';

type Received = Message<Buffer, Buffer, string, string>;

/** A seek not yet reached: the stream fetches from `offset`; records fetched before the seek are dropped. */
interface PendingSeek {
  offset: bigint;
  /** The last offset the stream had handed over for the partition when the seek was made (-1: none). */
  boundary: bigint;
  /** The fetch offset the stream tried to set meanwhile (applied once the seek is reached). */
  shadow?: bigint;
}

const RETRY_PAUSE_MS = 1000;

export class PlatformaticBatchConsumer implements BatchConsumer {
  private consumer?: Consumer<Buffer, Buffer, string, string>;
  private stream?: MessagesStream<Buffer, Buffer, string, string>;
  private batcher?: PartitionBatcher<Received>;
  private topics: string[] = [];
  private fromBeginning = false;
  private assignment: Assignment = {};
  private stopping = false;
  private closed?: Promise<void>;
  /** Last offset the stream handed over, per `topic:partition`. */
  private readonly lastSeen = new Map<string, bigint>();
  /** Last offset passed on to a batch, per `topic:partition`: the stream fetching it again (a rejoin restarts from the commits) is a duplicate. */
  private readonly accepted = new Map<string, bigint>();
  private readonly seeks = new Map<string, PendingSeek>();
  /** Bumped by every seek of the partition: a batch from before it is stale. */
  private readonly seekEpochs = new Map<string, number>();
  /** Paused partitions, with the first offset to read again on resume (null: none dropped yet). */
  private readonly paused = new Map<string, bigint | null>();
  /** RunOptions.commits: the caller commits what it handled; a batch is only taken here. */
  private byCaller = false;
  private readonly crashListeners: ((error: Error, restarting: boolean) => void)[] = [];
  private readonly joinListeners: ((assignment: Assignment) => void)[] = [];

  private readonly base: PlatformaticBase;
  private readonly opts: ConsumerOptions;
  private readonly log: Logger;

  constructor(base: PlatformaticBase, opts: ConsumerOptions, log: Logger) {
    this.base = base;
    this.opts = opts;
    this.log = log;
  }

  get groupId(): string {
    return this.opts.groupId;
  }

  async subscribe(topics: string[], opts: { fromBeginning?: boolean } = {}): Promise<void> {
    this.topics = topics;
    this.fromBeginning = opts.fromBeginning ?? false;
  }

  async run(handler: BatchHandler, opts: RunOptions = {}): Promise<void> {
    this.byCaller = opts.commits === 'by-caller';
    const o = this.opts;
    const consumer = new Consumer<Buffer, Buffer, string, string>({
      ...this.base,
      groupId: o.groupId,
      deserializers,
      autocommit: false,
      sessionTimeout: o.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: o.heartbeatIntervalMs ?? 3000,
      rebalanceTimeout: o.rebalanceTimeoutMs ?? 60_000,
      maxBytesPerPartition: o.maxBytesPerPartition ?? 1024 * 1024,
      maxWaitTime: o.maxWaitTimeMs ?? 500,
      isolationLevel:
        (o.readCommittedOnly ?? true) ? FetchIsolationLevels.READ_COMMITTED : FetchIsolationLevels.READ_UNCOMMITTED,
    });
    this.consumer = consumer;
    consumer.on('consumer:group:join', (payload) => this.joined(payload.assignments ?? []));
    const stream = await consumer.consume({
      topics: this.topics,
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: this.fromBeginning ? MessagesStreamFallbackModes.EARLIEST : MessagesStreamFallbackModes.LATEST,
      autocommit: false,
    });
    this.stream = stream;
    this.interceptFetchOffsets(stream);
    const batcher = new PartitionBatcher<Received>(
      (topic, partition, messages) => this.handle(handler, topic, partition, messages),
      {
        concurrency: opts.partitionsConcurrently ?? 1,
        maxWaiting: 20_000,
        maxBatchBytes: o.maxBytesPerPartition ?? 1024 * 1024,
        pause: () => stream.pause(),
        resume: () => stream.resume(),
      },
    );
    this.batcher = batcher;
    stream.on('data', (m: Received) => this.received(m));
    stream.on('error', (err: Error) => {
      if (this.stopping) return;
      this.log.error({ group: this.groupId, err: err.message }, 'platformatic consumer stream failed');
      for (const l of this.crashListeners) l(err, false);
    });
  }

  /** Routes a message of the stream: dropped if fetched before a seek, or while its partition is paused or not ours. */
  private received(m: Received): void {
    if (this.stopping) return;
    const key = `${m.topic}:${m.partition}`;
    this.lastSeen.set(key, m.offset);
    if (!this.assignment[m.topic]?.includes(m.partition)) return;
    const seek = this.seeks.get(key);
    if (seek) {
      const reached =
        seek.offset > seek.boundary ? m.offset >= seek.offset : m.offset >= seek.offset && m.offset <= seek.boundary;
      if (!reached) return;
      this.seeks.delete(key);
      this.accepted.delete(key);
      if (seek.shadow !== undefined) this.stream?.offsetsToFetch.set(key, seek.shadow);
    } else {
      const last = this.accepted.get(key);
      if (last !== undefined && m.offset <= last) return;
    }
    if (this.paused.has(key)) {
      if (this.paused.get(key) === null) this.paused.set(key, m.offset);
      return;
    }
    this.accepted.set(key, m.offset);
    this.batcher?.add(m);
  }

  /** While a seek is pending, the stream's own updates of the partition's fetch offset keep the seek's offset. */
  private interceptFetchOffsets(stream: MessagesStream<Buffer, Buffer, string, string>): void {
    const offsets = stream.offsetsToFetch;
    const set = offsets.set.bind(offsets);
    offsets.set = (key: string, value: bigint) => {
      const seek = this.seeks.get(key);
      if (!seek) return set(key, value);
      seek.shadow = value;
      return set(key, seek.offset);
    };
  }

  private joined(assignments: { topic: string; partitions: number[] }[]): void {
    const next: Assignment = {};
    for (const a of assignments) next[a.topic] = [...a.partitions];
    for (const [topic, partitions] of Object.entries(this.assignment)) {
      for (const p of partitions) {
        if (next[topic]?.includes(p)) continue;
        // Revoked: what waits is the next owner's; a batch in progress is stale and commits nothing.
        this.batcher?.discard(topic, p);
        this.bumpEpoch(`${topic}:${p}`);
        this.accepted.delete(`${topic}:${p}`);
      }
    }
    this.assignment = next;
    for (const l of this.joinListeners) l(next);
  }

  private bumpEpoch(key: string): void {
    this.seekEpochs.set(key, (this.seekEpochs.get(key) ?? 0) + 1);
  }

  private async handle(handler: BatchHandler, topic: string, partition: number, messages: Received[]): Promise<void> {
    const key = `${topic}:${partition}`;
    const epoch = this.seekEpochs.get(key) ?? 0;
    const isStale = () => (this.seekEpochs.get(key) ?? 0) !== epoch;
    let resolved: bigint | undefined;
    let committed = -1n;
    const commitResolved = async () => {
      if (resolved === undefined || resolved + 1n <= committed || isStale()) return;
      await this.consumer!.commit({ offsets: [{ topic, partition, offset: resolved + 1n, leaderEpoch: -1 }] });
      committed = resolved + 1n;
    };
    const records = messages.map(toRecord);
    try {
      await handler({
        topic,
        partition,
        records,
        // Not exposed per message by @platformatic/kafka: unknown.
        highWatermark: '-1',
        resolve: (offset) => {
          resolved = BigInt(offset);
        },
        commit: commitResolved,
        // The client heartbeats on its own timer, whatever the handler does.
        heartbeat: async () => undefined,
        isRunning: () => !this.stopping,
        isStale,
      });
      if (isStale() || this.byCaller) return;
      const last = messages[messages.length - 1]!.offset;
      if (resolved === undefined || resolved < last) resolved = last;
      await commitResolved();
    } catch (err) {
      if (isStale()) return;
      if (!this.byCaller) await commitResolved().catch(() => undefined);
      if (this.stopping) return;
      const from = resolved === undefined ? messages[0]!.offset : resolved + 1n;
      this.log.warn(
        { group: this.groupId, topic, partition, from: from.toString(), err: (err as Error).message },
        'batch handler failed; reading the partition again from its first unhandled record',
      );
      this.seekTo(topic, partition, from);
      await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
    }
  }

  assigned(): Assignment {
    return this.assignment;
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    if (!this.consumer) throw new Error('commit before run()');
    await this.consumer.commit({
      offsets: offsets.map((o) => ({
        topic: o.topic,
        partition: o.partition,
        offset: BigInt(o.offset),
        leaderEpoch: -1,
      })),
    });
  }

  pause(topic: string, partitions?: number[]): void {
    for (const p of partitions ?? this.assignment[topic] ?? []) {
      const key = `${topic}:${p}`;
      if (this.paused.has(key)) continue;
      const first = this.batcher?.discard(topic, p);
      this.paused.set(key, first?.offset ?? null);
    }
  }

  resume(topic: string, partitions?: number[]): void {
    for (const p of partitions ??
      [...this.paused.keys()].filter((k) => k.startsWith(`${topic}:`)).map((k) => Number(k.slice(topic.length + 1)))) {
      const key = `${topic}:${p}`;
      if (!this.paused.has(key)) continue;
      const from = this.paused.get(key);
      this.paused.delete(key);
      if (from !== null && from !== undefined) this.seekTo(topic, p, from);
    }
  }

  isPaused(topic: string, partition: number): boolean {
    return this.paused.has(`${topic}:${partition}`);
  }

  seek(topic: string, partition: number, offset: string): void {
    this.seekTo(topic, partition, BigInt(offset));
  }

  private seekTo(topic: string, partition: number, offset: bigint): void {
    const key = `${topic}:${partition}`;
    this.batcher?.discard(topic, partition);
    this.bumpEpoch(key);
    if (this.paused.has(key)) this.paused.set(key, null);
    this.seeks.set(key, { offset, boundary: this.lastSeen.get(key) ?? -1n });
    this.stream?.offsetsToFetch.set(key, offset);
  }

  onCrash(listener: (error: Error, restarting: boolean) => void): void {
    this.crashListeners.push(listener);
  }

  onGroupJoin(listener: (assignment: Assignment) => void): void {
    this.joinListeners.push(listener);
  }

  /** Stops intake, waits for the batches being handled (they commit what they finish), leaves the group. */
  async stop(): Promise<void> {
    this.closed ??= (async () => {
      this.stopping = true;
      this.stream?.pause();
      this.batcher?.clear();
      await this.batcher?.idle();
      await this.consumer?.close(true);
    })();
    await this.closed;
  }

  async disconnect(): Promise<void> {
    await this.stop();
  }
}

function toRecord(m: Received): ConsumedRecord {
  return {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset.toString(),
    key: m.key ?? null,
    value: m.value ?? null,
    headers: headersToRecord(m.headers),
    timestamp: Number(m.timestamp),
  };
}
