import type { Consumer, EachBatchPayload, IHeaders, KafkaMessage } from 'kafkajs';
import type { ConsumedRecord, TopicPartitionOffset } from './types.ts';

export interface ConsumerOptions {
  groupId: string;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  maxBytesPerPartition?: number;
  maxWaitTimeMs?: number;
  /** Read only committed records of transactional producers. */
  readCommittedOnly?: boolean;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  records: ConsumedRecord[];
  /** The partition's high watermark when fetched: `high - lastOffset - 1` is the lag. */
  highWatermark: string;
  /** Marks records up to and including `offset` as handled; `commit()` then makes it durable. */
  resolve(offset: string): void;
  /** Commits what has been resolved so far (the runner also commits when the handler returns). */
  commit(): Promise<void>;
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping: finish the current record and return. */
  isRunning(): boolean;
  /** True after a seek or rebalance made this batch obsolete. */
  isStale(): boolean;
}

export type BatchHandler = (batch: ConsumedBatch) => Promise<void>;

export interface RunOptions {
  /** Partitions whose batches are handled at the same time (one batch at a time per partition). */
  partitionsConcurrently?: number;
  /**
   * `after-handler` (default): a batch counts as handled when its handler returns, and is committed then.
   * `by-caller`: when the handler returns, its records are only *taken*: the partition is fetched on past
   * them, nothing is committed, and the caller commits handled offsets itself with `commit()` (it must
   * keep its own bound on what it has taken and not committed).
   */
  commits?: 'after-handler' | 'by-caller';
}

export interface Assignment {
  [topic: string]: number[];
}

/**
 * A consumer whose offsets are committed only after the handler is done with them: when the
 * batch handler returns, its records count as handled (delivered or dead-lettered) and are
 * committed; if it throws, nothing past the last resolved record is committed and the records
 * are fetched again (at-least-once). On kafkajs below; on @platformatic/kafka in platformatic/.
 */
export interface BatchConsumer {
  readonly groupId: string;
  subscribe(topics: string[], opts?: { fromBeginning?: boolean }): Promise<void>;
  run(handler: BatchHandler, opts?: RunOptions): Promise<void>;
  /** Partitions currently assigned to this member, by topic. */
  assigned(): Assignment;
  /** Commits these offsets (each the next offset to read) now; fails rather than retries (a rebalance, a broker away). */
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  pause(topic: string, partitions?: number[]): void;
  resume(topic: string, partitions?: number[]): void;
  isPaused(topic: string, partition: number): boolean;
  seek(topic: string, partition: number, offset: string): void;
  onCrash(listener: (error: Error, restarting: boolean) => void): void;
  onGroupJoin(listener: (assignment: Assignment) => void): void;
  stop(): Promise<void>;
  disconnect(): Promise<void>;
}

export class KafkajsBatchConsumer implements BatchConsumer {
  private assignment: Assignment = {};
  /** The runner's own commit of the latest batch: no retry loop, unlike `consumer.commitOffsets`. */
  private commitNow?: EachBatchPayload['commitOffsetsIfNecessary'];

  private readonly consumer: Consumer;
  readonly groupId: string;

  constructor(consumer: Consumer, groupId: string) {
    this.consumer = consumer;
    this.groupId = groupId;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.assignment = e.payload.memberAssignment as Assignment;
    });
  }

  async subscribe(topics: string[], opts: { fromBeginning?: boolean } = {}): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics, fromBeginning: opts.fromBeginning ?? false });
  }

  async run(handler: BatchHandler, opts: RunOptions = {}): Promise<void> {
    const byCaller = opts.commits === 'by-caller';
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: opts.partitionsConcurrently ?? 1,
      eachBatch: async (payload) => (byCaller ? this.takeBatch(payload, handler) : this.handleBatch(payload, handler)),
    });
  }

  /** `by-caller`: the fetch position moves past the batch once the handler has taken it; nothing is committed here. */
  private async takeBatch(payload: EachBatchPayload, handler: BatchHandler): Promise<void> {
    const { batch } = payload;
    this.commitNow = payload.commitOffsetsIfNecessary;
    if (!batch.messages.length) return;
    await handler({
      topic: batch.topic,
      partition: batch.partition,
      records: batch.messages.map((m) => toRecord(batch.topic, batch.partition, m)),
      highWatermark: batch.highWatermark,
      resolve: () => undefined,
      commit: async () => undefined,
      heartbeat: () => payload.heartbeat(),
      isRunning: () => payload.isRunning(),
      isStale: () => payload.isStale(),
    });
    if (!payload.isStale()) payload.resolveOffset(batch.lastOffset());
  }

  private async handleBatch(payload: EachBatchPayload, handler: BatchHandler): Promise<void> {
    const { batch } = payload;
    if (!batch.messages.length) return;
    let resolved: string | undefined;
    let committed: string | undefined;
    const commitResolved = async () => {
      if (resolved === undefined || resolved === committed || payload.isStale()) return;
      const offset = resolved;
      await payload.commitOffsetsIfNecessary({
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next(offset) }] }],
      });
      if (committed === undefined || BigInt(offset) > BigInt(committed)) committed = offset;
    };
    await handler({
      topic: batch.topic,
      partition: batch.partition,
      records: batch.messages.map((m) => toRecord(batch.topic, batch.partition, m)),
      highWatermark: batch.highWatermark,
      resolve: (offset) => {
        resolved = offset;
        payload.resolveOffset(offset);
      },
      commit: commitResolved,
      heartbeat: () => payload.heartbeat(),
      isRunning: () => payload.isRunning(),
      isStale: () => payload.isStale(),
    });
    if (payload.isStale()) return;
    const last = batch.lastOffset();
    if (resolved === undefined || BigInt(resolved) < BigInt(last)) {
      resolved = last;
      payload.resolveOffset(last);
    }
    await commitResolved();
  }

  assigned(): Assignment {
    return this.assignment;
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    if (!this.commitNow) {
      await this.consumer.commitOffsets(offsets);
      return;
    }
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const o of offsets) {
      const list = byTopic.get(o.topic) ?? [];
      list.push({ partition: o.partition, offset: o.offset });
      byTopic.set(o.topic, list);
    }
    await this.commitNow({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
  }

  pause(topic: string, partitions?: number[]): void {
    this.consumer.pause([{ topic, partitions }]);
  }

  resume(topic: string, partitions?: number[]): void {
    this.consumer.resume([{ topic, partitions }]);
  }

  isPaused(topic: string, partition: number): boolean {
    return this.consumer.paused().some((p) => p.topic === topic && p.partitions.includes(partition));
  }

  seek(topic: string, partition: number, offset: string): void {
    this.consumer.seek({ topic, partition, offset });
  }

  onCrash(listener: (error: Error, restarting: boolean) => void): void {
    this.consumer.on(this.consumer.events.CRASH, (e) => listener(e.payload.error, e.payload.restart));
  }

  onGroupJoin(listener: (assignment: Assignment) => void): void {
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => listener(e.payload.memberAssignment as Assignment));
  }

  async stop(): Promise<void> {
    await this.consumer.stop();
  }

  async disconnect(): Promise<void> {
    await this.consumer.disconnect();
  }
}

const next = (offset: string) => (BigInt(offset) + 1n).toString();

export function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const first = Array.isArray(v) ? v[v.length - 1] : v;
    if (first !== undefined) out[k] = first.toString();
  }
  return out;
}

export function toRecord(topic: string, partition: number, m: KafkaMessage): ConsumedRecord {
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key,
    value: m.value,
    headers: headersToStrings(m.headers),
    timestamp: Number(m.timestamp),
  };
}
