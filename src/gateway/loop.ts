/**
 * Mirrors Kafka topics to subscribers. One shared live reader per topic collects what it fetches
 * into a round; at each frame tick the round goes to the subscriptions that are live on its
 * partitions, cut into data messages that are built once per view and shared by every client with
 * that view. A subscription that starts in the past reads Kafka with a replay reader of its own
 * until it reaches the live reader's position on a partition, then joins it there. The hand-off
 * happens in one synchronous step, and each subscription only takes records at or past its own
 * next offset, so nothing is missed or repeated. Partitions added to a topic are found by a
 * periodic metadata check and read from their beginning, without a restart.
 */

import type { TopicKey } from '../../topics/index.ts';
import { AutomatrixError } from '../errors/index.ts';
import type { ConsumedRecord, KafkaConnection, TopicReader } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import type { FrameClock, RoundSource } from './frames.ts';
import { hasFilter, matches, type RecordFilter, type StartFrom } from './protocol.ts';
import { cutPieces, type DataPiece, type PreparedBatch, type PreparedRecord, RecordCodec } from './records.ts';

/** Where a subscription's records go: a client connection, or an in-process consumer. */
export interface SubscriptionTarget {
  /** Takes records as data messages (a client queues them for its next frame, under its slow-client policy). */
  deliver(sub: Subscription, pieces: readonly DataPiece[]): void;
  /** Resolves when the target can take more: replays wait here instead of dropping. */
  room(): Promise<void>;
  /** A control message for this subscription (subscribed, caught_up, partitions_added, error). */
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

/** What the live reader fetched since the last tick, and the data messages already cut from it per view. */
export interface LiveRound {
  batches: PreparedBatch[];
  pieces: Map<string, DataPiece[]>;
  bytes: number;
}

export interface HubSettings {
  maxReplays: number;
  /** How often each mirrored topic's partition count is checked. */
  partitionCheckMs: number;
}

class LiveTail implements RoundSource {
  private readonly positions = new Map<number, bigint>();
  private round: LiveRound | undefined;
  /** Every subscription of this topic, live or replaying: each takes from a round the partitions it is live on. */
  private readonly subs = new Set<Subscription>();
  /** The first reader, then one more per batch of partitions added while running. */
  private readonly readers: TopicReader[] = [];
  private checkTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  records = 0;

  readonly topic: ResolvedTopic;
  readonly codec: RecordCodec;
  private readonly hub: TopicHub;

  constructor(topic: ResolvedTopic, codec: RecordCodec, hub: TopicHub) {
    this.topic = topic;
    this.codec = codec;
    this.hub = hub;
  }

  async start(): Promise<void> {
    const ranges = await (await this.hub.kafka.admin()).offsets(this.topic.real);
    if (!ranges.length) throw new TopicUnavailableError(`topic ${this.topic.name} does not exist`);
    for (const r of ranges) this.positions.set(r.partition, BigInt(r.high));
    await this.read(new Map(ranges.map((r) => [r.partition, r.high])));
    this.scheduleCheck();
  }

  private async read(start: Map<number, string>): Promise<void> {
    const reader = this.hub.kafka.reader({
      topic: this.topic.real,
      start,
      onBatch: (partition, records) => this.collect(partition, records),
      // The broker answers a fetch as soon as one record is there; this is only how long an idle topic's poll waits.
      maxWaitTimeMs: 500,
    });
    this.readers.push(reader);
    await reader.start();
  }

  private scheduleCheck(): void {
    if (this.stopped) return;
    this.checkTimer = setTimeout(() => {
      this.checkPartitions()
        .catch((err: unknown) =>
          this.hub.log.warn({ topic: this.topic.name, err: (err as Error).message }, 'partition check failed'),
        )
        .finally(() => this.scheduleCheck());
    }, this.hub.settings.partitionCheckMs);
    this.checkTimer.unref();
  }

  /** Starts reading partitions the topic gained since we last looked, from their beginning. */
  async checkPartitions(): Promise<number[]> {
    const count = await (await this.hub.kafka.admin()).partitionCount(this.topic.real);
    const added: number[] = [];
    for (let p = 0; p < count; p++) if (!this.positions.has(p)) added.push(p);
    if (!added.length || this.stopped) return [];
    // Nothing of a new partition has been fanned out yet: every subscription joins it live at its start.
    for (const p of added) this.positions.set(p, 0n);
    for (const sub of this.subs) sub.addPartitions(added);
    this.hub.log.info({ topic: this.topic.name, partitions: added }, 'new partitions: mirroring them from their start');
    await this.read(new Map(added.map((p) => [p, 'earliest'])));
    return added;
  }

  private async collect(partition: number, records: ConsumedRecord[]): Promise<void> {
    const batch = await this.codec.prepare(partition, records);
    // The position moves now; delivery waits for the tick. Subscriptions take only records at or
    // past their own next offset, so joining in between loses or repeats nothing.
    if (batch.end > (this.positions.get(partition) ?? 0n)) this.positions.set(partition, batch.end);
    this.records += records.length;
    if (!this.round) {
      this.round = { batches: [], pieces: new Map(), bytes: 0 };
      this.hub.clock.roundDue(this);
    }
    this.round.batches.push(batch);
    for (const r of batch.records) this.round.bytes += r.json.length;
    if (this.round.bytes >= this.hub.clock.maxBytes) this.flushRound();
  }

  flushRound(): void {
    const round = this.round;
    if (!round) return;
    this.round = undefined;
    // Each subscription takes the partitions it is live on (none, while it still replays them).
    for (const sub of this.subs) sub.onLive(round);
  }

  partitions(): number[] {
    return [...this.positions.keys()];
  }

  /** The next offset this tail will fan out on a partition. */
  position(partition: number): bigint {
    return this.positions.get(partition) ?? 0n;
  }

  add(sub: Subscription): void {
    this.subs.add(sub);
  }

  leave(sub: Subscription): void {
    this.subs.delete(sub);
  }

  subscribers(): number {
    return this.subs.size;
  }

  health(): { ok: boolean; detail?: string } {
    if (!this.readers.length) return { ok: false, detail: 'starting' };
    const failing = this.readers.map((r) => r.health()).find((h) => !h.ok);
    return failing ?? { ok: true };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.checkTimer);
    await Promise.all(this.readers.map((r) => r.stop()));
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
  /** Data messages are shared between subscriptions with the same id and filter (e.g. many dashboards). */
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

  /** Records of a round this subscription takes, as data messages; those already cut for the same view are reused. */
  onLive(round: LiveRound): void {
    if (this.closed) return;
    let key = this.sharePrefix;
    const starts: [PreparedBatch, number][] = [];
    for (let i = 0; i < round.batches.length; i++) {
      const batch = round.batches[i]!;
      if (!this.live.has(batch.partition)) continue;
      const start = this.startOf(batch);
      if (start < 0) continue;
      starts.push([batch, start]);
      // Which batches of the round, and from where in each: subscriptions with the same view and key get the same records.
      key += `${i}:${start},`;
      this.next.set(batch.partition, batch.end);
    }
    if (!starts.length) return;
    let pieces = round.pieces.get(key);
    if (!pieces) {
      const records =
        starts.length === 1 ? this.pick(starts[0]![0], starts[0]![1]) : starts.flatMap(([b, s]) => this.pick(b, s));
      pieces = cutPieces(this.id, this.topic, records, this.hub.clock.maxBytes);
      round.pieces.set(key, pieces);
    }
    if (!pieces.length) return;
    for (const p of pieces) this.delivered += p.records.length;
    this.target.deliver(this, pieces);
  }

  async onReplay(partition: number, records: ConsumedRecord[]): Promise<void> {
    if (this.closed || this.live.has(partition)) return;
    const batch = await this.tail.codec.prepare(partition, records);
    await this.target.room();
    if (this.closed || this.live.has(partition)) return;
    const start = this.startOf(batch);
    if (start >= 0) {
      this.next.set(partition, batch.end);
      const picked = this.pick(batch, start);
      this.delivered += picked.length;
      if (picked.length) this.target.deliver(this, cutPieces(this.id, this.topic, picked, this.hub.clock.maxBytes));
    }
    if (this.next.get(partition)! >= this.tail.position(partition)) this.goLive(partition);
  }

  /** Called synchronously: from here on the live tail hands this partition's records over. */
  goLive(partition: number): void {
    this.live.add(partition);
    this.reader?.release(partition);
    if (this.reader && !this.replaying) {
      this.target.notify({ type: 'caught_up', id: this.id, topic: this.topic });
      void this.endReplay();
    }
  }

  /** Partitions the topic gained: followed live from their start, and the client told where they start. */
  addPartitions(partitions: number[]): void {
    if (this.closed) return;
    const added = partitions.filter((p) => !this.next.has(p));
    if (!added.length) return;
    this.target.notify({
      type: 'partitions_added',
      id: this.id,
      topic: this.topic,
      partitions: added.map((p) => ({ partition: p, start: this.tail.position(p).toString(), live: true })),
    });
    for (const p of added) {
      this.next.set(p, this.tail.position(p));
      this.live.add(p);
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
  readonly log: Logger;
  readonly clock: FrameClock;
  readonly settings: HubSettings;

  constructor(kafka: KafkaConnection, log: Logger, clock: FrameClock, settings: HubSettings) {
    this.kafka = kafka;
    this.log = log;
    this.clock = clock;
    this.settings = settings;
    this.replaySlots = new Semaphore(settings.maxReplays);
  }

  private tail(topic: ResolvedTopic): Promise<LiveTail> {
    let tail = this.tails.get(topic.real);
    if (!tail) {
      const created = new LiveTail(topic, new RecordCodec(topic.name, this.kafka.serde, topic.declared), this);
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
    tail.add(sub);
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

  /**
   * Where each partition starts, clamped into the log. A partition the admin's metadata does not
   * know yet (just added) is taken from its start, or where the client asked, unclamped.
   */
  private async startOffsets(tail: LiveTail, from: StartFrom): Promise<PartitionStart[]> {
    const partitions = tail.partitions();
    if (from.kind === 'latest') return partitions.map((p) => ({ partition: p, start: tail.position(p).toString() }));
    const admin = await this.kafka.admin();
    const ranges = new Map((await admin.offsets(tail.topic.real)).map((r) => [r.partition, r]));
    const low = (p: number) => BigInt(ranges.get(p)?.low ?? '0');
    // Partitions added meanwhile are in the tail now: take them too.
    const all = () => tail.partitions();
    if (from.kind === 'earliest') return all().map((p) => ({ partition: p, start: low(p).toString() }));
    if (from.kind === 'timestamp') {
      const found = new Map(
        (await admin.offsetsForTime(tail.topic.real, from.timestamp)).map((f) => [f.partition, f.offset]),
      );
      return all().map((p) => ({ partition: p, start: found.get(p) ?? ranges.get(p)?.high ?? '0' }));
    }
    return all().map((p) => {
      const wanted = from.offsets.get(p);
      if (wanted === undefined)
        return { partition: p, start: (from.otherwise === 'earliest' ? low(p) : tail.position(p)).toString() };
      const range = ranges.get(p);
      if (!range) return { partition: p, start: wanted };
      const w = BigInt(wanted);
      const clampedTo = w < BigInt(range.low) ? BigInt(range.low) : w > BigInt(range.high) ? BigInt(range.high) : w;
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
