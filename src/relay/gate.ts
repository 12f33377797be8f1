/**
 * Delivery slots shared by the priority tiers. While several tiers wait, freed slots go to them
 * in proportion to their weights (stride scheduling), so a flood of low never starves high and
 * low still progresses; an idle tier banks no credit.
 */
import { TIERS, type Tier } from './config.ts';

export class WeightedGate {
  private free: number;
  private readonly queues: Record<Tier, (() => void)[]> = { high: [], normal: [], low: [] };
  private readonly pass: Record<Tier, number> = { high: 0, normal: 0, low: 0 };
  private virtualTime = 0;
  /** Slots granted per tier since start. */
  readonly granted: Record<Tier, number> = { high: 0, normal: 0, low: 0 };

  readonly capacity: number;
  private readonly weights: Record<Tier, number>;

  constructor(capacity: number, weights: Record<Tier, number>) {
    this.capacity = capacity;
    this.weights = weights;
    this.free = capacity;
  }

  /** Takes a slot now if one is free and nobody waits (no promise, no allocation). */
  tryAcquire(tier: Tier): boolean {
    if (this.free <= 0 || this.waiting() > 0) return false;
    this.free--;
    this.charge(tier);
    return true;
  }

  acquire(tier: Tier): Promise<void> {
    if (this.tryAcquire(tier)) return Promise.resolve();
    return new Promise((resolve) => {
      const queue = this.queues[tier];
      if (!queue.length) this.pass[tier] = Math.max(this.pass[tier], this.virtualTime);
      queue.push(resolve);
    });
  }

  release(): void {
    let next: Tier | undefined;
    for (const t of TIERS)
      if (this.queues[t].length && (next === undefined || this.pass[t] < this.pass[next])) next = t;
    if (next === undefined) {
      this.free++;
      return;
    }
    this.charge(next);
    this.queues[next].shift()!();
  }

  private charge(tier: Tier): void {
    this.virtualTime = this.pass[tier];
    this.pass[tier] += 1 / this.weights[tier];
    this.granted[tier]++;
  }

  waiting(tier?: Tier): number {
    return tier
      ? this.queues[tier].length
      : this.queues.high.length + this.queues.normal.length + this.queues.low.length;
  }

  inUse(): number {
    return this.capacity - this.free;
  }
}
