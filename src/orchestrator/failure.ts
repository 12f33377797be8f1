/**
 * Failure prediction: the probability that a service breaches its SLO (error rate or latency
 * above its limit) at some sample within the next `horizonMs`, from features of its recent
 * metrics. The model is an online logistic regression (AdaGrad, L2) over standardised features,
 * shared by all services (the features are ratios to the SLO and to capacity, so they carry
 * over). Labels arrive late: a sample's label is known once its horizon has passed, so each
 * service keeps a bounded queue of pending feature rows.
 *
 * The classic rule it is measured against (bench/failure.ts): "percent of the SLO used", the
 * larger of error rate / SLO and latency / SLO, read as a probability.
 */

export const FEATURES = [
  'error_ratio',
  'latency_ratio',
  'error_trend',
  'latency_trend',
  'utilization',
  'utilization_trend',
  'cpu',
  'memory',
  'memory_trend',
  'anomaly_score',
] as const;
export type FeatureName = (typeof FEATURES)[number];
const K = FEATURES.length;

export interface Slo {
  errorRate: number;
  latencyMs: number;
}

export interface SampleView {
  timestamp: number;
  error_rate: number;
  network_latency: number;
  cpu_usage: number;
  memory_usage: number;
  /** Requests per second over capacity (replicas x per-replica capacity); NaN when unknown. */
  utilization: number;
}

export const breaches = (s: Pick<SampleView, 'error_rate' | 'network_latency'>, slo: Slo): boolean =>
  s.error_rate > slo.errorRate || s.network_latency > slo.latencyMs;

/** Rule baseline: the share of the SLO in use, 0..1. */
export const ruleProbability = (s: Pick<SampleView, 'error_rate' | 'network_latency'>, slo: Slo): number =>
  Math.min(1, Math.max(s.error_rate / slo.errorRate, s.network_latency / slo.latencyMs));

/** Per-service feature state: EW levels and trends of the ratios. */
export class FeatureTracker {
  private readonly prev = new Float64Array(4);
  private readonly trend = new Float64Array(4);
  private lastT = 0;
  private n = 0;
  anomalyScore = 0;

  private readonly slo: Slo;

  constructor(slo: Slo) {
    this.slo = slo;
  }

  /** Feature row of a sample (writes into `out`, length FEATURES.length). */
  features(s: SampleView, horizonMs: number, out: Float64Array): Float64Array {
    const cur = [
      s.error_rate / this.slo.errorRate,
      s.network_latency / this.slo.latencyMs,
      Number.isFinite(s.utilization) ? s.utilization : 0,
      s.memory_usage / 100,
    ];
    const dt = this.n > 0 ? s.timestamp - this.lastT : 0;
    for (let i = 0; i < 4; i++) {
      // Trend: EW slope per ms, expressed as the change over the horizon.
      if (dt > 0) this.trend[i] = this.trend[i]! + 0.2 * ((cur[i]! - this.prev[i]!) / dt - this.trend[i]!);
      this.prev[i] = cur[i]!;
    }
    this.lastT = s.timestamp;
    this.n++;
    out[0] = Math.min(cur[0]!, 5);
    out[1] = Math.min(cur[1]!, 5);
    out[2] = clip(this.trend[0]! * horizonMs);
    out[3] = clip(this.trend[1]! * horizonMs);
    out[4] = Math.min(cur[2]!, 5);
    out[5] = clip(this.trend[2]! * horizonMs);
    out[6] = s.cpu_usage / 100;
    out[7] = cur[3]!;
    out[8] = clip(this.trend[3]! * horizonMs);
    out[9] = this.anomalyScore;
    return out;
  }
}

const clip = (v: number) => Math.max(-5, Math.min(5, v));

export interface Driver {
  feature: FeatureName;
  value: number;
  /** Contribution to the log-odds (weight x standardised value). */
  effect: number;
}

/** Online logistic regression with running standardisation. */
export class FailureModel {
  readonly weights = new Float64Array(K + 1);
  private readonly g2 = new Float64Array(K + 1);
  private readonly mean = new Float64Array(K);
  private readonly m2 = new Float64Array(K);
  private n = 0;
  trained = 0;
  private readonly std = new Float64Array(K + 1);

  private readonly lr: number;
  private readonly l2: number;

  constructor(lr = 0.1, l2 = 1e-4) {
    this.lr = lr;
    this.l2 = l2;
  }

  /** Updates the running feature statistics (every row, labeled or not). */
  observe(x: Float64Array): void {
    this.n++;
    for (let i = 0; i < K; i++) {
      const d = x[i]! - this.mean[i]!;
      this.mean[i] = this.mean[i]! + d / this.n;
      this.m2[i] = this.m2[i]! + d * (x[i]! - this.mean[i]!);
    }
  }

  private standardise(x: Float64Array): Float64Array {
    for (let i = 0; i < K; i++) {
      const sd = this.n > 1 ? Math.sqrt(this.m2[i]! / (this.n - 1)) : 1;
      this.std[i] = sd > 1e-9 ? (x[i]! - this.mean[i]!) / sd : 0;
    }
    this.std[K] = 1;
    return this.std;
  }

  private logit(z: Float64Array): number {
    let s = 0;
    for (let i = 0; i <= K; i++) s += this.weights[i]! * z[i]!;
    return s;
  }

  predict(x: Float64Array): number {
    const s = this.logit(this.standardise(x));
    return 1 / (1 + Math.exp(-Math.max(-30, Math.min(30, s))));
  }

  /** One AdaGrad step on a labeled row. */
  learn(x: Float64Array, y: 0 | 1): void {
    const z = this.standardise(x);
    const p = 1 / (1 + Math.exp(-Math.max(-30, Math.min(30, this.logit(z)))));
    const err = p - y;
    for (let i = 0; i <= K; i++) {
      const g = err * z[i]! + (i < K ? this.l2 * this.weights[i]! : 0);
      this.g2[i] = this.g2[i]! + g * g;
      this.weights[i] = this.weights[i]! - (this.lr * g) / Math.sqrt(this.g2[i]! + 1e-8);
    }
    this.trained++;
  }

  /** The features that push this prediction most, largest effect first. */
  drivers(x: Float64Array, top = 3): Driver[] {
    const z = this.standardise(x);
    const rows: Driver[] = FEATURES.map((feature, i) => ({ feature, value: x[i]!, effect: this.weights[i]! * z[i]! }));
    return rows.sort((a, b) => b.effect - a.effect).slice(0, top);
  }

  toJSON(): { weights: number[]; g2: number[]; mean: number[]; m2: number[]; n: number; trained: number } {
    return {
      weights: [...this.weights],
      g2: [...this.g2],
      mean: [...this.mean],
      m2: [...this.m2],
      n: this.n,
      trained: this.trained,
    };
  }
}

interface Pending {
  t: number;
  x: Float64Array;
  positive: boolean;
}

/**
 * Delayed labels of one service: a row becomes positive when a breach is seen within its
 * horizon, and is learned from once the horizon has passed. At most `max` rows wait.
 */
export class LabelQueue {
  private readonly rows: Pending[] = [];

  private readonly horizonMs: number;
  private readonly max: number;

  constructor(horizonMs: number, max = 4096) {
    this.horizonMs = horizonMs;
    this.max = max;
  }

  /** Adds the row of time t and settles what t's breach status tells about earlier rows. */
  push(t: number, x: Float64Array, breached: boolean, model: FailureModel): void {
    for (const r of this.rows) if (breached && t > r.t && t <= r.t + this.horizonMs) r.positive = true;
    while (this.rows.length && (t > this.rows[0]!.t + this.horizonMs || this.rows.length >= this.max)) {
      const r = this.rows.shift()!;
      model.learn(r.x, r.positive ? 1 : 0);
    }
    this.rows.push({ t, x: Float64Array.from(x), positive: false });
  }

  get size(): number {
    return this.rows.length;
  }
}
