/**
 * @platformatic/kafka hands over a stream of single messages; our consumers work in per-partition
 * batches. This cuts the stream into batches: what arrived for a partition while its previous batch
 * was being handled becomes its next batch, partitions are handled concurrently (up to a limit),
 * one batch at a time each, and the stream is paused while too much is waiting.
 */

export interface Batchable {
  topic: string;
  partition: number;
  key?: Buffer | null;
  value?: Buffer | null;
}

export interface BatcherOptions {
  /** Partitions whose batches are handled at the same time. */
  concurrency: number;
  /** Messages waiting (not yet handed over) above which the source is paused; it resumes below half. */
  maxWaiting: number;
  /** Bytes of keys and values in one batch at most (at least one message), as kafkajs' maxBytesPerPartition bounds its batches: a pass-through writes a batch as one produce request, which the broker refuses above max.message.bytes. */
  maxBatchBytes: number;
  pause(): void;
  resume(): void;
}

type Handler<M> = (topic: string, partition: number, messages: M[]) => Promise<void>;

interface Lane<M> {
  topic: string;
  partition: number;
  waiting: M[];
  busy: boolean;
}

export class PartitionBatcher<M extends Batchable> {
  private readonly lanes = new Map<string, Lane<M>>();
  private waiting = 0;
  private running = 0;
  private paused = false;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];

  private readonly handle: Handler<M>;
  private readonly opts: BatcherOptions;

  constructor(handle: Handler<M>, opts: BatcherOptions) {
    this.handle = handle;
    this.opts = opts;
  }

  add(message: M): void {
    const key = `${message.topic}:${message.partition}`;
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { topic: message.topic, partition: message.partition, waiting: [], busy: false };
      this.lanes.set(key, lane);
    }
    lane.waiting.push(message);
    this.waiting++;
    if (!this.paused && this.waiting >= this.opts.maxWaiting) {
      this.paused = true;
      this.opts.pause();
    }
    // A fetch response is pushed synchronously: start batches once all of it is in.
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.dispatch();
      });
    }
  }

  /** Drops what waits for a partition (it was paused, sought, revoked, or its batch failed); returns the first message dropped. */
  discard(topic: string, partition: number): M | undefined {
    const lane = this.lanes.get(`${topic}:${partition}`);
    if (!lane) return undefined;
    const first = lane.waiting[0];
    this.waiting -= lane.waiting.length;
    lane.waiting = [];
    this.maybeResume();
    return first;
  }

  /** Drops everything that waits (stopping: batches being handled finish, no new one starts). */
  clear(): void {
    for (const lane of this.lanes.values()) lane.waiting = [];
    this.waiting = 0;
  }

  /** Resolves when no batch is being handled. */
  async idle(): Promise<void> {
    if (this.running === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private dispatch(): void {
    for (const lane of this.lanes.values()) {
      if (this.running >= this.opts.concurrency) return;
      if (lane.busy || !lane.waiting.length) continue;
      void this.run(lane);
    }
  }

  private async run(lane: Lane<M>): Promise<void> {
    const batch = this.take(lane);
    lane.busy = true;
    this.running++;
    this.waiting -= batch.length;
    this.maybeResume();
    try {
      await this.handle(lane.topic, lane.partition, batch);
    } finally {
      lane.busy = false;
      this.running--;
      if (this.running === 0)
        this.idleWaiters.splice(0).forEach((w) => {
          w();
        });
      this.dispatch();
    }
  }

  private take(lane: Lane<M>): M[] {
    let bytes = 0;
    let n = 0;
    for (const m of lane.waiting) {
      bytes += (m.key?.length ?? 0) + (m.value?.length ?? 0);
      if (n > 0 && bytes > this.opts.maxBatchBytes) break;
      n++;
    }
    if (n === lane.waiting.length) {
      const all = lane.waiting;
      lane.waiting = [];
      return all;
    }
    return lane.waiting.splice(0, n);
  }

  private maybeResume(): void {
    if (this.paused && this.waiting < this.opts.maxWaiting / 2) {
      this.paused = false;
      this.opts.resume();
    }
  }
}
