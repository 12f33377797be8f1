/**
 * The detector of one service: a univariate detector per metric, plus a multivariate score over
 * the metrics' standardised residuals against their baseline models. The multivariate part is a Mahalanobis distance under a
 * robust, shrunk, exponentially weighted covariance of those residuals: it sees a broken
 * relationship (CPU up while requests are flat) that no single metric shows.
 */
import type { AnomalyKind } from '../../schemas/index.ts';
import { chiSquareSurprise, clamp, surpriseToScore } from '../timeseries/stats.ts';
import {
  DEFAULT_SETTINGS,
  type DetectorSettings,
  KIND_NONE,
  UnivariateDetector,
  type UnivariateSnapshot,
} from './univariate.ts';

export const KIND_MULTIVARIATE = 6;
/** The detector's kinds by number (the univariate ones, then multivariate); every name but `none` is in the anomalies contract. */
export const KIND_NAMES = [
  'none',
  'spike',
  'level_shift',
  'drift',
  'variance_change',
  'seasonality_break',
  'multivariate',
] as const satisfies readonly (AnomalyKind | 'none')[];

const COV_RATE = 0.01;
const SHRINK = 0.02;
const Z_CLIP = 8;

export interface MetricScore {
  metric: string;
  value: number;
  score: number;
  kind: number;
  expectedLow: number;
  expectedHigh: number;
  /** Share of the multivariate distance this metric accounts for. */
  share: number;
}

export class ServiceDetector {
  readonly metrics: string[] = [];
  readonly detectors: UnivariateDetector[] = [];
  private cov: Float64Array;
  private covN = 0;
  private readonly z: Float64Array;
  private readonly seen: Uint8Array;
  private readonly chol: Float64Array;
  private readonly solved: Float64Array;
  private readonly values: Float64Array;
  // Outputs of the last update.
  score = 0;
  kind = KIND_NONE;
  univariateScore = 0;
  multivariateScore = 0;
  /** Index of the metric with the highest score in the last update. */
  lead = -1;

  readonly maxMetrics: number;
  readonly settings: DetectorSettings;

  constructor(maxMetrics = 16, settings: DetectorSettings = DEFAULT_SETTINGS) {
    this.maxMetrics = maxMetrics;
    this.settings = settings;
    this.cov = new Float64Array(maxMetrics * maxMetrics);
    this.z = new Float64Array(maxMetrics);
    this.seen = new Uint8Array(maxMetrics);
    this.chol = new Float64Array(maxMetrics * maxMetrics);
    this.solved = new Float64Array(maxMetrics);
    this.values = new Float64Array(maxMetrics);
  }

  /** Slot of a metric, created on first sight; -1 once `maxMetrics` are taken. */
  slot(metric: string): number {
    const i = this.metrics.indexOf(metric);
    if (i >= 0) return i;
    if (this.metrics.length >= this.maxMetrics) return -1;
    this.metrics.push(metric);
    this.detectors.push(new UnivariateDetector(this.settings));
    return this.metrics.length - 1;
  }

  /** Sets a metric's value for the next `score` call (NaN: absent). */
  set(slot: number, value: number): void {
    if (slot >= 0) {
      this.values[slot] = value;
      this.seen[slot] = 1;
    }
  }

  /** Scores the values set since the last call, at time t; returns the service score. */
  update(t: number): number {
    const k = this.metrics.length;
    let best = 0;
    let lead = -1;
    for (let i = 0; i < k; i++) {
      const present = this.seen[i] === 1 && Number.isFinite(this.values[i]!);
      const d = this.detectors[i]!;
      const s = present ? d.update(t, this.values[i]!) : 0;
      this.z[i] = present && d.n > d.settings.warmup ? clamp(d.zBase, -Z_CLIP, Z_CLIP) : 0;
      if (s > best) {
        best = s;
        lead = i;
      }
      this.seen[i] = 0;
    }
    this.univariateScore = best;
    this.multivariateScore = k >= 2 ? this.multivariate(k) : 0;
    this.lead = lead;
    if (this.multivariateScore > best && best < 0.5) {
      this.score = this.multivariateScore;
      this.kind = this.multivariateScore >= 0.05 ? KIND_MULTIVARIATE : KIND_NONE;
      this.lead = this.largestShare(k);
    } else {
      this.score = best;
      this.kind = lead >= 0 ? this.detectors[lead]!.kind : KIND_NONE;
    }
    return this.score;
  }

  /** Mahalanobis distance of z under the shrunk covariance; learns the covariance from normal samples. */
  private multivariate(k: number): number {
    const ready = this.covN > 50;
    let surprise = 0;
    if (ready && this.factor(k)) {
      const d2 = this.solve(k);
      surprise = chiSquareSurprise(d2, k);
    }
    if (!ready || surprise < 3) this.learnCov(k);
    return ready ? surpriseToScore(surprise, this.settings.scoreHalf) : 0;
  }

  private learnCov(k: number): void {
    let any = false;
    for (let i = 0; i < k; i++) if (this.z[i] !== 0) any = true;
    if (!any) return;
    this.covN++;
    const rate = Math.max(1 / this.covN, COV_RATE);
    const n = this.maxMetrics;
    for (let i = 0; i < k; i++) {
      const zi = clamp(this.z[i]!, -4, 4);
      for (let j = 0; j <= i; j++) {
        const v = this.cov[i * n + j]! + rate * (zi * clamp(this.z[j]!, -4, 4) - this.cov[i * n + j]!);
        this.cov[i * n + j] = v;
        this.cov[j * n + i] = v;
      }
    }
  }

  /** Cholesky factor of (1 - SHRINK) C + SHRINK diag(C) + eps I into `chol`; false if not positive definite. */
  private factor(k: number): boolean {
    const n = this.maxMetrics;
    const c = this.chol;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j <= i; j++) {
        let sum = this.cov[i * n + j]! * (i === j ? 1 : 1 - SHRINK) + (i === j ? 1e-3 : 0);
        for (let p = 0; p < j; p++) sum -= c[i * n + p]! * c[j * n + p]!;
        if (i === j) {
          if (sum <= 0) return false;
          c[i * n + i] = Math.sqrt(sum);
        } else c[i * n + j] = sum / c[j * n + j]!;
      }
    }
    return true;
  }

  /** d^2 = z' C^-1 z; leaves C^-1 z in `solved` (for contributions). */
  private solve(k: number): number {
    const n = this.maxMetrics;
    const c = this.chol;
    const y = this.solved;
    for (let i = 0; i < k; i++) {
      let sum = this.z[i]!;
      for (let p = 0; p < i; p++) sum -= c[i * n + p]! * y[p]!;
      y[i] = sum / c[i * n + i]!;
    }
    let d2 = 0;
    for (let i = 0; i < k; i++) d2 += y[i]! * y[i]!;
    for (let i = k - 1; i >= 0; i--) {
      let sum = y[i]!;
      for (let p = i + 1; p < k; p++) sum -= c[p * n + i]! * y[p]!;
      y[i] = sum / c[i * n + i]!;
    }
    return d2;
  }

  private share(i: number): number {
    return Math.max(0, this.z[i]! * this.solved[i]!);
  }

  private largestShare(k: number): number {
    let best = -1;
    let bestShare = 0;
    for (let i = 0; i < k; i++) {
      const s = this.share(i);
      if (s > bestShare) {
        bestShare = s;
        best = i;
      }
    }
    return best;
  }

  /** Per-metric detail of the last update, most anomalous first (allocates: call it for incidents only). */
  explain(): MetricScore[] {
    const k = this.metrics.length;
    let totalShare = 0;
    for (let i = 0; i < k; i++) totalShare += this.share(i);
    const rows: MetricScore[] = [];
    for (let i = 0; i < k; i++) {
      const d = this.detectors[i]!;
      const half = d.halfWidth;
      rows.push({
        metric: this.metrics[i]!,
        value: this.values[i]!,
        score: d.score,
        kind: d.kind,
        expectedLow: d.expected - half,
        expectedHigh: d.expected + half,
        share: totalShare > 0 ? this.share(i) / totalShare : 0,
      });
    }
    const key = (r: MetricScore) => Math.max(r.score, this.kind === KIND_MULTIVARIATE ? r.share : 0);
    return rows.sort((a, b) => key(b) - key(a));
  }

  toJSON(): ServiceSnapshot {
    const k = this.metrics.length;
    const cov: number[] = [];
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) cov.push(this.cov[i * this.maxMetrics + j]!);
    return { metrics: [...this.metrics], detectors: this.detectors.map((d) => d.toJSON()), cov, covN: this.covN };
  }

  static fromJSON(
    snap: ServiceSnapshot,
    maxMetrics = 16,
    settings: DetectorSettings = DEFAULT_SETTINGS,
  ): ServiceDetector {
    const s = new ServiceDetector(maxMetrics, settings);
    const k = Math.min(snap.metrics.length, maxMetrics);
    for (let i = 0; i < k; i++) {
      s.metrics.push(snap.metrics[i]!);
      s.detectors.push(UnivariateDetector.fromJSON(snap.detectors[i]!, settings));
      for (let j = 0; j < k; j++) s.cov[i * maxMetrics + j] = snap.cov[i * snap.metrics.length + j] ?? 0;
    }
    s.covN = snap.covN;
    return s;
  }
}

export interface ServiceSnapshot {
  metrics: string[];
  detectors: UnivariateSnapshot[];
  cov: number[];
  covN: number;
}
