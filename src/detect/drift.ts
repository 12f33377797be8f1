/**
 * Drift evidence: how far the baseline's (deseasonalised) level has moved over the last 6 and
 * 24 hours, against how far it usually moves over as long. Adaptive models follow a slow ramp
 * with a small lag, so their residuals barely show it; the level's history does. Hourly
 * checkpoints of the level (the last 25) are kept; the typical move per window is a robust
 * (mean absolute) spread learned from unremarkable moves, in units of a slow reference of the
 * baseline's error scale (which itself grows while it lags a drift). Once a drift has levelled
 * off, the windows move past it: the new level becomes normal without any re-anchoring.
 */
import { MEAN_ABS_TO_SIGMA } from '../timeseries/holt-winters.ts';
import { gaussianSurprise } from '../timeseries/stats.ts';

const RING = 25;
const WINDOWS = [6, 24] as const;
const LOG10_WINDOWS = Math.log10(WINDOWS.length);
const HOUR_MS = 3_600_000;
const SLOW = 0.002;

export class DriftTracker {
  private readonly ring = new Float64Array(RING);
  private readonly spread = new Float64Array(WINDOWS.length);
  private count = 0;
  private head = 0;
  private nextAt = 0;
  private span = 0;
  private sigmaRef = 0;
  private seen = 0;
  /** Standardised move of the window that gave the evidence, last update. */
  z = 0;

  /** Forgets the level history (a new baseline model, or an accepted level shift). */
  reset(sigma: number): void {
    this.count = 0;
    this.head = 0;
    this.span = 0;
    this.seen = 0;
    this.sigmaRef = sigma;
    this.spread.fill(0);
    this.z = 0;
  }

  /** Takes the baseline's level and error scale of sample number n; returns -log10 of the drift's tail probability. */
  observe(n: number, level: number, sigma: number, intervalMs: number, rate: number): number {
    if (this.span === 0) {
      this.span = Math.max(1, Math.round(HOUR_MS / Math.max(1, intervalMs)));
      this.nextAt = n;
      this.sigmaRef = this.sigmaRef || sigma;
    }
    if (n >= this.nextAt) this.checkpoint(level);
    const ref = Math.max(this.sigmaRef, 1e-9 * (Math.abs(level) + 1));
    let best = 0;
    let bestZ = 0;
    this.seen++;
    for (let w = 0; w < WINDOWS.length; w++) {
      const back = WINDOWS[w]!;
      if (this.count <= back) continue;
      const d = (level - this.ring[(this.head - 1 - back + 2 * RING) % RING]!) / ref;
      const z = d / Math.max(1, MEAN_ABS_TO_SIGMA * this.spread[w]!);
      // The first day after a reset teaches the spread unconditionally; later, only unremarkable moves do.
      if (Math.abs(z) < 2 || this.seen < 24 * this.span)
        this.spread[w] = this.spread[w]! + Math.max(rate, 1 / this.seen) * (Math.abs(d) - this.spread[w]!);
      const surprise = gaussianSurprise(z);
      if (surprise > best) {
        best = surprise;
        bestZ = z;
      }
    }
    this.z = bestZ;
    if (Math.abs(bestZ) < 2 || this.seen < 24 * this.span)
      this.sigmaRef = ref + Math.max(SLOW, 1 / this.seen) * (sigma - ref);
    return Math.max(0, best - LOG10_WINDOWS);
  }

  private checkpoint(level: number): void {
    this.ring[this.head] = level;
    this.head = (this.head + 1) % RING;
    if (this.count < RING) this.count++;
    this.nextAt += this.span;
  }

  toJSON(): DriftSnapshot {
    return {
      ring: Array.from(this.ring),
      spread: Array.from(this.spread),
      count: this.count,
      head: this.head,
      nextAt: this.nextAt,
      span: this.span,
      sigmaRef: this.sigmaRef,
      seen: this.seen,
    };
  }

  static fromJSON(s: DriftSnapshot | undefined): DriftTracker {
    const d = new DriftTracker();
    if (!s) return d;
    d.ring.set(s.ring.slice(0, RING));
    d.spread.set(s.spread.slice(0, WINDOWS.length));
    Object.assign(d, {
      count: s.count,
      head: s.head,
      nextAt: s.nextAt,
      span: s.span,
      sigmaRef: s.sigmaRef,
      seen: s.seen,
    });
    return d;
  }
}

export interface DriftSnapshot {
  ring: number[];
  spread: number[];
  count: number;
  head: number;
  nextAt: number;
  span: number;
  sigmaRef: number;
  seen: number;
}
