/**
 * How rare a standardised residual is, learned from the series itself (peaks over threshold, as
 * in SPOT: Siffer et al., "Anomaly Detection in Streams with Extreme Value Theory", KDD 2017).
 *
 * The 95th percentile u of |z| is tracked by stochastic approximation; the excesses |z| - u of
 * normal samples (the last 200) are fitted with a generalized Pareto distribution by the method
 * of moments, shrunk toward a mildly heavy prior (shape 0.1, worth 30 excesses) and never
 * lighter than exponential (shape >= 0): a bounded tail fitted from a few hundred points would
 * call anything past its end impossible. The tail probability of |z| > u is then 5% times the
 * GPD survival of the excess. Heavy-tailed series get a heavy tail and are not flagged for being
 * heavy-tailed. Until 10 excesses are seen, a Gaussian tail rescaled by u is used.
 */
import { clamp, gaussianSurprise, surpriseToZ } from '../timeseries/stats.ts';

const LEVEL = 0.05;
const Z_LEVEL = 1.96; // two-sided Gaussian 95%
const PEAKS = 200;
const MIN_PEAKS = 10;
const FLAG_RATE_STEP = 0.002;
const COMMON = 0.01;
const PRIOR_XI = 0.1;
const PRIOR_WEIGHT = 30;
const STEP = 0.01;
const LOG10_LEVEL = Math.log10(LEVEL);
const MAX_SURPRISE = 30;

export class TailModel {
  u = Z_LEVEL;
  private readonly peaks = new Float64Array(PEAKS);
  private count = 0;
  private next = 0;
  private sum = 0;
  private sumSq = 0;
  private xi = 0;
  private sigma = 1;
  private flaggedRate = 0;

  /** Factor that maps |z| to its Gaussian equivalent at the threshold (1 for a Gaussian series). */
  calibration(): number {
    return Z_LEVEL / Math.max(Z_LEVEL, this.u);
  }

  /** -log10 P(|Z| >= |z|) under the learned tail. */
  surprise(z: number): number {
    const a = Math.abs(z);
    if (a <= this.u || this.count < MIN_PEAKS) return gaussianSurprise(a * this.calibration());
    const y = a - this.u;
    let log10Survival: number;
    if (Math.abs(this.xi) < 1e-6) log10Survival = -y / this.sigma / Math.LN10;
    else {
      const base = 1 + (this.xi * y) / this.sigma;
      if (base <= 0) return MAX_SURPRISE;
      log10Survival = (-1 / this.xi) * Math.log10(base);
    }
    return Math.min(MAX_SURPRISE, -(LOG10_LEVEL + log10Survival));
  }

  /** The |z| whose surprise is `s` (for expected ranges; not on the hot path). */
  zAt(s: number): number {
    if (this.count < MIN_PEAKS) return surpriseToZ(s) / this.calibration();
    const ratio = 10 ** -s / LEVEL;
    if (ratio >= 1) return surpriseToZ(s) / this.calibration();
    const y =
      Math.abs(this.xi) < 1e-6 ? -this.sigma * Math.log(ratio) : (this.sigma / this.xi) * (ratio ** -this.xi - 1);
    return this.u + y;
  }

  /**
   * Learns from one residual; `normal` is false for samples already judged anomalous, which do not
   * shape the tail — unless flagged samples are common (over 1% of the recent ones): what happens
   * that often is the series' ordinary behaviour, and excluding it would lock the tail out of it
   * for good (a series of frequent blips flagged once would be flagged forever).
   */
  learn(z: number, normal: boolean): void {
    this.flaggedRate += FLAG_RATE_STEP * ((normal ? 0 : 1) - this.flaggedRate);
    if (!normal && this.flaggedRate < COMMON) return;
    const a = Math.abs(z);
    if (a > this.u) {
      this.addPeak(a - this.u);
      this.u *= 1 + (1 - LEVEL) * STEP;
    } else {
      this.u *= 1 - LEVEL * STEP;
    }
  }

  private addPeak(excess: number): void {
    if (this.count === PEAKS) {
      const old = this.peaks[this.next]!;
      this.sum -= old;
      this.sumSq -= old * old;
    } else this.count++;
    this.peaks[this.next] = excess;
    this.next = (this.next + 1) % PEAKS;
    this.sum += excess;
    this.sumSq += excess * excess;
    this.fit();
  }

  /** Method-of-moments GPD fit of the stored excesses, shrunk toward the prior, shape >= 0. */
  private fit(): void {
    const m = this.sum / this.count;
    const v = Math.max(1e-12, this.sumSq / this.count - m * m);
    const moments = clamp(0.5 * (1 - (m * m) / v), -0.4, 0.5);
    this.xi = Math.max(0, (this.count * moments + PRIOR_WEIGHT * PRIOR_XI) / (this.count + PRIOR_WEIGHT));
    // The GPD mean is sigma / (1 - xi).
    this.sigma = Math.max(1e-6, m * (1 - this.xi));
  }

  /** Shape and scale of the fitted tail (xi > 0: heavy; xi < 0: bounded). */
  shape(): { xi: number; sigma: number; threshold: number; peaks: number } {
    return { xi: this.xi, sigma: this.sigma, threshold: this.u, peaks: this.count };
  }

  toJSON(): TailSnapshot {
    const ordered: number[] = [];
    for (let i = 0; i < this.count; i++) ordered.push(this.peaks[(this.next - this.count + i + PEAKS) % PEAKS]!);
    return { u: this.u, peaks: ordered, flaggedRate: this.flaggedRate };
  }

  static fromJSON(snap: TailSnapshot | undefined): TailModel {
    const t = new TailModel();
    if (!snap) return t;
    t.u = snap.u;
    t.flaggedRate = snap.flaggedRate ?? 0;
    for (const p of snap.peaks.slice(-PEAKS)) t.addPeak(p);
    return t;
  }
}

export interface TailSnapshot {
  u: number;
  peaks: number[];
  flaggedRate?: number;
}
