/**
 * The uncommitted window of one partition: records taken from Kafka whose offsets are not committed
 * yet. Each record completes on its own (delivered or dead-lettered), so a slow delivery holds back
 * only the later records of its own key; the partition's commit moves to just past the longest run of
 * completed records from its start (never past an unfinished one). Every taken record holds a unit
 * of RELAY_MAX_UNCOMMITTED (shared by all partitions and tiers) until its offset is committed, so at
 * any moment at most that many records are taken and not committed, and a crashed process's
 * successor, which starts at the committed offsets, delivers again at most that many.
 */
import type { BatchConsumer, ConsumedRecord } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import type { Tier } from './config.ts';
import type { WeightedGate } from './gate.ts';

/** Delay that lets several completions share one commit, unless other records wait for units. */
const COMMIT_DELAY_MS = 100;
const COMMIT_RETRY_MS = 1000;

export interface WindowEntry<T> {
  readonly record: ConsumedRecord;
  readonly item: T;
  done: boolean;
  /** The next taken record of the same key: it starts when this one is done. */
  next: WindowEntry<T> | null;
}

export class PartitionWindow<T> {
  /** Entries [head, length) are taken and not committed, in offset order. */
  private entries: WindowEntry<T>[] = [];
  private head = 0;
  /** Offset after the last record taken: anything below it that is fetched again (a rejoin) is a duplicate. */
  private nextOffset = -1;
  /** The last taken entry of each key whose chain is not finished. */
  private readonly tails = new Map<string, WindowEntry<T>>();
  private timer?: NodeJS.Timeout;
  private committing?: Promise<boolean>;
  /** The partition was revoked or consumption stopped: completions commit nothing, units are given back. */
  abandoned = false;
  /** Deliveries of this partition waiting for a route to have an endpoint again; the partition is paused while any does. */
  private holds = 0;

  readonly tier: Tier;
  readonly topic: string;
  readonly partition: number;
  readonly consumer: BatchConsumer;
  private readonly units: WeightedGate;
  private readonly log: Logger;

  constructor(tier: Tier, topic: string, partition: number, consumer: BatchConsumer, units: WeightedGate, log: Logger) {
    this.tier = tier;
    this.topic = topic;
    this.partition = partition;
    this.consumer = consumer;
    this.units = units;
    this.log = log;
  }

  /** Not taken before (a consumer fetches again from the committed offset after a rejoin). */
  isNew(record: ConsumedRecord): boolean {
    return Number(record.offset) >= this.nextOffset;
  }

  /** Records taken and not committed. */
  size(): number {
    return this.entries.length - this.head;
  }

  /**
   * Appends a record whose unit the caller holds. Returns the entry, and whether it may start now
   * (false: an earlier record of its key is not done; it starts when that one is).
   */
  take(record: ConsumedRecord, item: T): { entry: WindowEntry<T>; runnable: boolean } {
    const entry: WindowEntry<T> = { record, item, done: false, next: null };
    this.entries.push(entry);
    this.nextOffset = Number(record.offset) + 1;
    if (!record.key?.length) return { entry, runnable: true };
    const key = record.key.toString('latin1');
    const tail = this.tails.get(key);
    this.tails.set(key, entry);
    if (!tail) return { entry, runnable: true };
    tail.next = entry;
    return { entry, runnable: false };
  }

  /** A record is delivered or dead-lettered. Returns the next record of its key to start, if any. */
  complete(entry: WindowEntry<T>): WindowEntry<T> | null {
    entry.done = true;
    if (entry.record.key?.length) {
      const key = entry.record.key.toString('latin1');
      if (this.tails.get(key) === entry) this.tails.delete(key);
    }
    if (this.abandoned) return null;
    if (this.entries[this.head] === entry) this.schedule(this.delay());
    return entry.next;
  }

  private delay(): number {
    return this.units.waiting() > 0 ? 0 : COMMIT_DELAY_MS;
  }

  private schedule(delayMs: number): void {
    if (this.abandoned || this.committing) return;
    if (this.timer && delayMs > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.committing = this.commit();
      void this.committing.then((ok) => {
        this.committing = undefined;
        if (this.doneEnd() > this.head) this.schedule(ok ? this.delay() : COMMIT_RETRY_MS);
      });
    }, delayMs);
  }

  /** End of the run of completed entries from the head. */
  private doneEnd(): number {
    let end = this.head;
    while (end < this.entries.length && this.entries[end]!.done) end++;
    return end;
  }

  /** Commits just past the completed run and gives back its units. */
  private async commit(): Promise<boolean> {
    const end = this.doneEnd();
    if (end <= this.head || this.abandoned) return true;
    const offset = String(Number(this.entries[end - 1]!.record.offset) + 1);
    try {
      await this.consumer.commit([{ topic: this.topic, partition: this.partition, offset }]);
    } catch (err) {
      this.log.debug({ topic: this.topic, partition: this.partition, err: (err as Error).message }, 'commit failed');
      return false;
    }
    if (this.abandoned) return true;
    for (let i = this.head; i < end; i++) this.units.release();
    this.head = end;
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return true;
  }

  /** Commits what is completed now (consumption stops). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.committing;
    if (this.doneEnd() > this.head) await this.commit();
  }

  /** Revoked, or consumption stopped: nothing more is committed or started, every unit is given back. */
  abandon(): void {
    if (this.abandoned) return;
    this.abandoned = true;
    clearTimeout(this.timer);
    for (let i = this.head; i < this.entries.length; i++) this.units.release();
    this.entries = [];
    this.head = 0;
    this.tails.clear();
    if (this.holds > 0) this.resumeFetching();
  }

  /** A delivery of this partition waits for its route: stop fetching the partition meanwhile. */
  hold(): void {
    if (this.holds++ === 0 && !this.abandoned) {
      this.consumer.pause(this.topic, [this.partition]);
      this.log.debug({ topic: this.topic, partition: this.partition }, 'partition paused: a route has no endpoint');
    }
  }

  unhold(): void {
    if (--this.holds === 0 && !this.abandoned) this.resumeFetching();
  }

  private resumeFetching(): void {
    try {
      this.consumer.resume(this.topic, [this.partition]);
      this.log.debug({ topic: this.topic, partition: this.partition }, 'partition resumed');
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'resume failed (consumer gone)');
    }
  }

  isHeld(): boolean {
    return this.holds > 0;
  }
}
