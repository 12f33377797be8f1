/**
 * Mirrors Kafka topics to subscribers. One shared live reader per topic fans each fetched batch
 * out to the subscriptions that are live on its partition; a subscription that starts in the past
 * reads Kafka with a replay reader of its own until it reaches the live reader's position on a
 * partition, then joins it there. The hand-off happens in one synchronous step, and each
 * subscription only takes records at or past its own next offset, so nothing is missed or repeated.
 */

import type { TopicKey } from '../../topics/index.ts';
import { AutomatrixError } from '../errors/index.ts';
import type { KafkaConnection, TopicReader } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import { hasFilter, matches, type RecordFilter, type StartFrom } from './protocol.ts';
import { type FrameGroup, type PreparedBatch, type PreparedRecord, RecordCodec } from './records.ts';

/** Where a subscription's records go: a client connection, or an in-process consumer. */
export interface SubscriptionTarget {
  /** Takes records (a client applies its slow-client policy here). `shareKey` names this view of `group` for frame reuse. */
  deliver(sub: Subscription, group: FrameGroup, records: PreparedRecord[], shareKey: string): void;
  /** Resolves when the target can take more: replays wait here instead of dropping. */
  room(): Promise<void>;
  /** A control message for this subscription (subscribed, caught_up, error). */
  notify(message: Record<string, unknown>): void;
}

export interface ResolvedTopic {
  /** As clients name it. */
  name: string;
  /** The Kafka topic. */
  real: string;
  declared?: TopicKey;
}

export class TopicUnavailableError extends AutomatrixError {
  constructor(message: string) {
    super('topic_unavailable', message);
  }
}

export interface PartitionStart {
  partition: number;
  start: string;
  /** The requested offset was outside the log and moved to its nearest end. */
  clamped?: boolean;
}

class Semaphore {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }
  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
  get queued(): number {
    return this.waiting.length;
  }
}

/** The batches of one fetch (several partitions), fanned out together: one frame per client. */
interface LiveRound extends FrameGroup {
  batches: PreparedBatch[];
}

class LiveTail {
  private readonly positions = new Map<number, bigint>();
  private round: LiveRound | undefined;
  private readonly live = new Map<number, Set<Subscription>>();
  private reader?: TopicReader;
  records = 0;

  readonly topic: ResolvedTopic;
  readonly codec: RecordCodec;
  private readonly kafka: KafkaConnection;

  constructor(topic: ResolvedTopic, codec: RecordCodec, kafka: KafkaConnection) {
    this.topic = topic;
    this.codec = codec;
    this.kafka = kafka;
  }

  async start(): Promise<void> {
    const ranges = await (await this.kafka.admin()).offsets(this.topic.real);
    if (!ranges.length) throw new TopicUnavailableError(`topic ${this.topic.name} does not exist`);
    for (const r of ranges) {
      this.positions.set(r.partition, BigInt(r.high));
      this.live.set(r.partition, new Set());
    }
    this.reader = this.kafka.reader({
      topic: this.topic.real,
      start: new Map(ranges.map((r) => [r.partition, r.high])),
      onBatch: (partition, records) => this.fanOut(partition, records),
      maxWaitTimeMs: 20,
    });
    await this.reader.start();
  }

  private async fanOut(partition: number, records: Parameters<RecordCodec['prepare']>[1]): Promise<void> {
    const batch = await this.codec.prepare(partition, records);
    // The position moves now; delivery waits for the rest of the fetch. Subscriptions take only
    // records at or past their own next offset, so joining in between loses or repeats nothing.
    this.positions.set(partition, batch.end);
    this.records += records.length;
    if (!this.round) {
      this.round = { topic: this.topic.name, frames: new Map(), batches: [] };
      setImmediate(() => this.flush());
    }
    this.round.batches.push(batch);
  }

  private flush(): void {
    const round = this.round!;
    this.round = undefined;
    const subs = new Set<Subscription>();
    for (const b of round.batches) for (const s of this.live.get(b.partition) ?? []) subs.add(s);
    for (const sub of subs) sub.onLive(round);
  }

  partitions(): number[] {
    return [...this.positions.keys()];
  }

  /** The next offset this tail will fan out on a partition. */
  position(partition: number): bigint {
    return this.positions.get(partition) ?? 0n;
  }

  join(partition: number, sub: Subscription): void {
    this.live.get(partition)?.add(sub);
  }

  leave(sub: Subscription): void {
    for (const subs of this.live.values()) subs.delete(sub);
  }

  subscribers(): number {
    const all = new Set<Subscription>();
    for (const subs of this.live.values()) for (const s of subs) all.add(s);
    return all.size;
  }

  health(): { ok: boolean; detail?: string } {
    return this.reader?.health() ?? { ok: false, detail: 'starting' };
  }

  async stop(): Promise<void> {
    await this.reader?.stop();
  }
}

export class Subscription {
  readonly next = new Map<number, bigint>();
  readonly live = new Set<number>();
  private reader?: TopicReader;
  private holdsSlot = false;
  closed = false;
  /** Records handed to the target. */
  delivered = 0;
  private readonly filterKey: string;
  /** Frames are shared between subscriptions with the same id and filter (e.g. many dashboards). */
  private readonly sharePrefix: string;

  readonly id: string;
  readonly tail: LiveTail;
  readonly filter: RecordFilter;
  readonly target: SubscriptionTarget;
  private readonly hub: TopicHub;

  constructor(id: string, tail: LiveTail, filter: RecordFilter, target: SubscriptionTarget, hub: TopicHub) {
    this.id = id;
    this.tail = tail;
    this.filter = filter;
    this.target = target;
    this.hub = hub;
    this.filterKey = hasFilter(filter) ? JSON.stringify(filter) : '';
    this.sharePrefix = `${id}\u0000${this.filterKey}\u0000`;
  }

  get topic(): string {
    return this.tail.topic.name;
  }

  get replaying(): boolean {
    return this.live.size < this.next.size;
  }

  /** Index of the first record of a batch at or past this subscription's next offset (-1: none). */
  private startOf(batch: PreparedBatch): number {
    const next = this.next.get(batch.partition);
    if (next === undefined || batch.end <= next) return -1;
    let start = 0;
    while (batch.records[start]!.offset < next) start++;
    return start;
  }

  private pick(batch: PreparedBatch, start: number): PreparedRecord[] {
    const tail = start === 0 ? batch.records : batch.records.slice(start);
    return this.filterKey ? tail.filter((r) => matches(this.filter, r.key, r.value)) : tail;
  }

  /** Records of a fetch this subscription takes, as one delivery; views already built for another client are reused. */
  onLive(round: LiveRound): void {
    if (this.closed) return;
    let key = this.sharePrefix;
    const starts: [PreparedBatch, number][] = [];
    for (const batch of round.batches) {
      if (!this.live.has(batch.partition)) continue;
      const start = this.startOf(batch);
      if (start < 0) continue;
      starts.push([batch, start]);
      key += `${batch.partition}:${start},`;
      this.next.set(batch.partition, batch.end);
    }
    if (!starts.length) return;
    let records = round.frames.get(key)?.records;
    if (!records) {
      records =
        starts.length === 1 ? this.pick(starts[0]![0], starts[0]![1]) : starts.flatMap(([b, s]) => this.pick(b, s));
      round.frames.set(key, { records });
    }
    if (!records.length) return;
    this.delivered += records.length;
    this.target.deliver(this, round, records, key);
  }

  async onReplay(partition: number, records: Parameters<RecordCodec['prepare']>[1]): Promise<void> {
    if (this.closed || this.live.has(partition)) return;
    const batch = await this.tail.codec.prepare(partition, records);
    await this.target.room();
    if (this.closed || this.live.has(partition)) return;
    const start = this.startOf(batch);
    if (start >= 0) {
      this.next.set(partition, batch.end);
      const records = this.pick(batch, start);
      this.delivered += records.length;
      if (records.length) this.target.deliver(this, batch, records, `${this.sharePrefix}${partition}:${start},`);
    }
    if (this.next.get(partition)! >= this.tail.position(partition)) this.goLive(partition);
  }

  /** Called synchronously: from here on the live tail hands this partition's records over. */
  goLive(partition: number): void {
    this.live.add(partition);
    this.tail.join(partition, this);
    this.reader?.release(partition);
    if (this.reader && !this.replaying) {
      this.target.notify({ type: 'caught_up', id: this.id, topic: this.topic });
      void this.endReplay();
    }
  }

  async startReplay(starts: Map<number, string>): Promise<void> {
    await this.hub.replaySlots.acquire();
    this.holdsSlot = true;
    if (this.closed) return this.endReplay();
    this.reader = this.hub.kafka.reader({
      topic: this.tail.topic.real,
      start: starts,
      onBatch: (partition, records) => this.onReplay(partition, records),
      maxWaitTimeMs: 50,
    });
    await this.reader.start();
  }

  private async endReplay(): Promise<void> {
    const reader = this.reader;
    this.reader = undefined;
    if (this.holdsSlot) {
      this.holdsSlot = false;
      this.hub.replaySlots.release();
    }
    await reader?.stop();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.tail.leave(this);
    await this.endReplay();
  }
}

export interface SubscribeOptions {
  id: string;
  topic: ResolvedTopic;
  from: StartFrom;
  filter: RecordFilter;
  target: SubscriptionTarget;
}

export class TopicHub {
  private readonly tails = new Map<string, Promise<LiveTail>>();
  private readonly started = new Map<string, LiveTail>();
  readonly replaySlots: Semaphore;

  readonly kafka: KafkaConnection;
  private readonly log: Logger;

  constructor(kafka: KafkaConnection, log: Logger, maxReplays: number) {
    this.kafka = kafka;
    this.log = log;
    this.replaySlots = new Semaphore(maxReplays);
  }

  private tail(topic: ResolvedTopic): Promise<LiveTail> {
    let tail = this.tails.get(topic.real);
    if (!tail) {
      const created = new LiveTail(topic, new RecordCodec(topic.name, this.kafka.serde, topic.declared), this.kafka);
      tail = created.start().then(() => {
        this.started.set(topic.real, created);
        return created;
      });
      tail.catch(async (err: unknown) => {
        this.tails.delete(topic.real);
        this.started.delete(topic.real);
        await created.stop();
        this.log.warn({ topic: topic.name, err: (err as Error).message }, 'could not mirror topic');
      });
      this.tails.set(topic.real, tail);
    }
    return tail;
  }

  /**
   * Starts a subscription. The target is told `subscribed` (with each partition's start offset)
   * before any record of it, then gets replayed records, then live ones.
   */
  async subscribe(opts: SubscribeOptions): Promise<Subscription> {
    let tail: LiveTail;
    try {
      tail = await this.tail(opts.topic);
    } catch (err) {
      throw err instanceof TopicUnavailableError
        ? err
        : new TopicUnavailableError(`topic ${opts.topic.name} cannot be read now: ${(err as Error).message}`);
    }
    const starts = await this.startOffsets(tail, opts.from);
    const sub = new Subscription(opts.id, tail, opts.filter, opts.target, this);
    const replay = new Map<number, string>();
    for (const s of starts) sub.next.set(s.partition, BigInt(s.start));
    opts.target.notify({
      type: 'subscribed',
      id: opts.id,
      topic: opts.topic.name,
      partitions: starts.map((s) => ({ ...s, live: BigInt(s.start) >= tail.position(s.partition) })),
    });
    for (const s of starts) {
      if (BigInt(s.start) >= tail.position(s.partition)) sub.goLive(s.partition);
      else replay.set(s.partition, s.start);
    }
    if (replay.size) {
      sub.startReplay(replay).catch((err: unknown) => {
        this.log.warn({ topic: opts.topic.name, err: (err as Error).message }, 'replay failed');
        opts.target.notify({
          type: 'error',
          code: 'replay_failed',
          id: opts.id,
          message: `replay of ${opts.topic.name} failed: ${(err as Error).message}`,
        });
        void sub.close();
      });
    }
    return sub;
  }

  /** Where each partition starts, clamped into the log. */
  private async startOffsets(tail: LiveTail, from: StartFrom): Promise<PartitionStart[]> {
    const partitions = tail.partitions();
    if (from.kind === 'latest') return partitions.map((p) => ({ partition: p, start: tail.position(p).toString() }));
    const admin = await this.kafka.admin();
    const ranges = await admin.offsets(tail.topic.real);
    const low = (p: number) => BigInt(ranges.find((r) => r.partition === p)?.low ?? '0');
    const high = (p: number) => BigInt(ranges.find((r) => r.partition === p)?.high ?? '0');
    if (from.kind === 'earliest') return partitions.map((p) => ({ partition: p, start: low(p).toString() }));
    if (from.kind === 'timestamp') {
      const found = await admin.offsetsForTime(tail.topic.real, from.timestamp);
      return partitions.map((p) => ({
        partition: p,
        start: (found.find((f) => f.partition === p)?.offset ?? high(p).toString()).toString(),
      }));
    }
    return partitions.map((p) => {
      const wanted = from.offsets.get(p);
      if (wanted === undefined)
        return { partition: p, start: (from.otherwise === 'earliest' ? low(p) : tail.position(p)).toString() };
      const w = BigInt(wanted);
      const clampedTo = w < low(p) ? low(p) : w > high(p) ? high(p) : w;
      return clampedTo === w
        ? { partition: p, start: w.toString() }
        : { partition: p, start: clampedTo.toString(), clamped: true };
    });
  }

  /** Starts mirroring a topic ahead of its first subscriber. */
  async warm(topic: ResolvedTopic): Promise<void> {
    await this.tail(topic);
  }

  async stats(): Promise<
    { topic: string; partitions: number; subscribers: number; records: number; ok: boolean; detail?: string }[]
  > {
    const tails = await Promise.allSettled([...this.tails.values()]);
    return tails
      .filter((t): t is PromiseFulfilledResult<LiveTail> => t.status === 'fulfilled')
      .map(({ value: t }) => ({
        topic: t.topic.name,
        partitions: t.partitions().length,
        subscribers: t.subscribers(),
        records: t.records,
        ...t.health(),
      }));
  }

  /** Health of the mirrors already running (synchronous, for health checks). */
  statsNow(): { topic: string; ok: boolean; detail?: string }[] {
    return [...this.started.values()].map((t) => ({ topic: t.topic.name, ...t.health() }));
  }

  replaysQueued(): number {
    return this.replaySlots.queued;
  }

  async stop(): Promise<void> {
    const tails = await Promise.allSettled([...this.tails.values()]);
    this.tails.clear();
    this.started.clear();
    await Promise.allSettled(tails.map((t) => (t.status === 'fulfilled' ? t.value.stop() : undefined)));
  }
}
