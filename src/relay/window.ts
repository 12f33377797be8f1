/**
 * The uncommitted window: how far delivery may run ahead of the committed offsets. Every message
 * takes a unit of the window (in offset order within its partition) before it is delivered and
 * gives it back once its offset is committed, so at any moment at most `RELAY_MAX_UNCOMMITTED`
 * messages have been started and are not yet committed. A crashed process's successor starts at
 * the committed offsets: it delivers again at most that many messages.
 */
import type { ConsumedBatch } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import type { Tier } from './config.ts';
import type { WeightedGate } from './gate.ts';

/** Delay that lets several deliveries share one commit, unless the window is short of units. */
const COMMIT_DELAY_MS = 100;
const COMMIT_RETRY_MS = 1000;

/** One batch's progress: which records are handled, the committed prefix, and the window units it holds. */
export class BatchProgress {
  private readonly index = new Map<string, number>();
  private readonly handled: boolean[];
  /** Records [0, committed) are committed; [0, prefix) are handled. */
  private committed = 0;
  private prefix = 0;
  /** Window units held, by record index. */
  private readonly holding: boolean[];
  private timer?: NodeJS.Timeout;
  private committing?: Promise<void>;
  private closed = false;

  private readonly batch: ConsumedBatch;
  private readonly tier: Tier;
  private readonly window: WeightedGate;
  private readonly log: Logger;

  constructor(batch: ConsumedBatch, tier: Tier, window: WeightedGate, log: Logger) {
    this.batch = batch;
    this.tier = tier;
    this.window = window;
    this.log = log;
    batch.records.forEach((r, i) => {
      this.index.set(r.offset, i);
    });
    this.handled = new Array<boolean>(batch.records.length).fill(false);
    this.holding = new Array<boolean>(batch.records.length).fill(false);
  }

  /** Takes a window unit for a record; call in offset order. */
  async admit(offset: string): Promise<void> {
    await this.window.acquire(this.tier);
    const i = this.index.get(offset)!;
    if (this.closed) this.window.release();
    else this.holding[i] = true;
  }

  /** A record is delivered or dead-lettered: its offset may be committed once every earlier one is. */
  handle(offset: string): void {
    const i = this.index.get(offset);
    if (i === undefined) return;
    this.handled[i] = true;
    while (this.prefix < this.handled.length && this.handled[this.prefix]) this.prefix++;
    if (this.prefix > this.committed) this.schedule(this.delay());
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.committing) return;
    if (this.timer && delayMs > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.committing = this.commit().then((ok) => {
        this.committing = undefined;
        if (this.prefix > this.committed) this.schedule(ok ? this.delay() : COMMIT_RETRY_MS);
      });
    }, delayMs);
  }

  private delay(): number {
    return this.window.waiting() > 0 ? 0 : COMMIT_DELAY_MS;
  }

  /** Commits the handled prefix and gives back the units of the records it covers. */
  private async commit(): Promise<boolean> {
    const upTo = this.prefix;
    if (upTo <= this.committed || this.closed) return true;
    this.batch.resolve(this.batch.records[upTo - 1]!.offset);
    try {
      await this.batch.commit();
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'commit failed; trying again');
      return false;
    }
    this.releaseBelow(upTo);
    this.committed = upTo;
    return true;
  }

  private releaseBelow(upTo: number): void {
    for (let i = this.committed; i < upTo; i++) {
      if (!this.holding[i]) continue;
      this.holding[i] = false;
      this.window.release();
    }
  }

  /** Commits what is handled and gives back every unit (the batch is done, failed or handed back). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.committing;
    if (this.prefix > this.committed && !this.batch.isStale()) {
      this.batch.resolve(this.batch.records[this.prefix - 1]!.offset);
      await this.batch
        .commit()
        .catch((err: unknown) => this.log.debug({ err: (err as Error).message }, 'final commit failed'));
    }
    this.committed = Math.max(this.committed, this.prefix);
    for (let i = 0; i < this.holding.length; i++) {
      if (!this.holding[i]) continue;
      this.holding[i] = false;
      this.window.release();
    }
  }
}
