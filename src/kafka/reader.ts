import type { Consumer } from 'kafkajs';
import { toRecord } from './consumer.ts';
import type { ConsumedRecord } from './types.ts';

const RESTART_DELAY_MS = 5000;
/** kafkajs' seek offset for the start of the log. */
const EARLIEST = '-2';

export interface ReaderOptions {
  topic: string;
  /** Next offset to read on every partition, or `earliest` (the first one still in the log). Partitions left out are not read. */
  start: ReadonlyMap<number, string>;
  /** Called with each fetched batch, in offset order per partition; a slow handler slows only this reader. */
  onBatch: (partition: number, records: ConsumedRecord[]) => Promise<void> | void;
  maxWaitTimeMs?: number;
  maxBytesPerPartition?: number;
}

/**
 * Reads one topic from explicit offsets, without committing anything: a mirror, not a member of
 * a processing group. It keeps its own position per partition and seeks back to it whenever its
 * (private) group is joined again, so a broker restart or a consumer crash resumes exactly where
 * it was rather than at the group's default offset.
 */
export class TopicReader {
  private readonly positions: Map<number, string>;
  private healthy = false;
  private lastError: string | undefined;
  private stopped = false;

  private readonly consumer: Consumer;
  readonly groupId: string;
  private readonly opts: ReaderOptions;
  /** Cleans up after the consumer disconnected (deletes the private group). */
  private readonly onStopped: (groupId: string) => Promise<void>;

  constructor(consumer: Consumer, groupId: string, opts: ReaderOptions, onStopped: (groupId: string) => Promise<void>) {
    this.onStopped = onStopped;
    this.consumer = consumer;
    this.groupId = groupId;
    this.opts = opts;
    this.positions = new Map(opts.start);
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.healthy = true;
      this.lastError = undefined;
      for (const [partition, offset] of this.positions)
        consumer.seek({ topic: opts.topic, partition, offset: offset === 'earliest' ? EARLIEST : offset });
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.healthy = false;
      this.lastError = e.payload.error.message;
      // kafkajs restarts by itself after a retriable error; after any other, start again from our positions.
      if (!e.payload.restart && !this.stopped) setTimeout(() => void this.restart(), RESTART_DELAY_MS).unref();
    });
    consumer.on(consumer.events.FETCH, () => {
      this.healthy = true;
    });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.opts.topic], fromBeginning: false });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch }) => {
        if (this.stopped) return;
        if (!this.positions.has(batch.partition)) {
          // Not ours to read (never asked for, or released): stop fetching it.
          this.consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
          return;
        }
        if (!batch.messages.length) return;
        const records = batch.messages.map((m) => toRecord(batch.topic, batch.partition, m));
        const last = records[records.length - 1]!;
        this.positions.set(batch.partition, (BigInt(last.offset) + 1n).toString());
        await this.opts.onBatch(batch.partition, records);
      },
    });
  }

  private async restart(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.consumer.disconnect();
      await this.start();
    } catch (err) {
      this.lastError = (err as Error).message;
      if (!this.stopped) setTimeout(() => void this.restart(), RESTART_DELAY_MS).unref();
    }
  }

  /** Next offset this reader will hand over, per partition. */
  position(partition: number): string | undefined {
    return this.positions.get(partition);
  }

  /** Stops reading a partition (e.g. once a replay has caught up on it). */
  release(partition: number): void {
    this.positions.delete(partition);
    this.consumer.pause([{ topic: this.opts.topic, partitions: [partition] }]);
  }

  health(): { ok: boolean; detail?: string } {
    return this.healthy ? { ok: true } : { ok: false, detail: this.lastError ?? 'joining' };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.consumer.disconnect().catch(() => undefined);
    await this.onStopped(this.groupId).catch(() => undefined);
  }
}
