/**
 * Online additive Holt-Winters (level, damped trend, seasonal profile) on irregular timestamps.
 *
 * The season is indexed by the phase of the timestamp within a period (time of day, time of
 * week), not by sample count, so gaps and irregular sampling do not shift it. Updates are
 * robust: the innovation is clipped at `clip` times the model's own error scale, so one outlier
 * moves the level and profile by a bounded amount. Early on, each rate is at least 1/n (a plain
 * running mean), so a new series is usable after a few samples. State lives in typed arrays.
 */
import { clamp } from './stats.ts';

export interface HoltWintersSpec {
  /** Level smoothing, 0..1. */
  alpha: number;
  /** Trend smoothing, 0..1 (0: no trend). */
  beta: number;
  /** Trend damping per step, 0..1. */
  phi: number;
  /** Seasonal smoothing per bin, 0..1. */
  gamma: number;
  /** Season length in ms; 0 for none. */
  periodMs: number;
  /** Bins per season. */
  bins: number;
}

// Scalar state slots.
const LEVEL = 0;
const TREND = 1;
const N = 2;
const ERR_ABS = 3; // EW mean absolute one-step error (slow)
const ERR_SQ = 4; // EW mean squared one-step error (slow)
const ERR_FAST = 5; // EW mean absolute one-step error (fast)
const SLOTS = 6;

const ERR_RATE = 0.01;
const FAST_RATE = 0.1;
/** |error| / mean |error| for a Gaussian: scale = 1.2533 * mean |error|. */
export const MEAN_ABS_TO_SIGMA = Math.sqrt(Math.PI / 2);

export class HoltWinters {
  readonly state = new Float64Array(SLOTS);
  readonly profile: Float64Array;
  readonly counts: Float64Array;
  /** Forecast made by the last `predict` call. */
  lastForecast = 0;
  private seenBins = 0;

  readonly spec: HoltWintersSpec;
  private readonly clip: number;

  constructor(spec: HoltWintersSpec, clip = 4) {
    this.spec = spec;
    this.clip = clip;
    const bins = spec.periodMs > 0 ? spec.bins : 0;
    this.profile = new Float64Array(bins);
    this.counts = new Float64Array(bins);
  }

  get seasonal(): boolean {
    return this.profile.length > 0;
  }

  get n(): number {
    return this.state[N]!;
  }

  get level(): number {
    return this.state[LEVEL]!;
  }

  /** Mean absolute one-step error, slow and fast. */
  get errAbs(): number {
    return this.state[ERR_ABS]!;
  }

  get errFast(): number {
    return this.state[ERR_FAST]!;
  }

  /** One-step error standard deviation (robust: from the mean absolute error). */
  get sigma(): number {
    return this.state[ERR_ABS]! * MEAN_ABS_TO_SIGMA;
  }

  /** RMS one-step error, for prediction intervals. */
  get rmse(): number {
    return Math.sqrt(this.state[ERR_SQ]!);
  }

  /** Lower bin of t and the weight of the upper one: the season is interpolated linearly between bin centres. */
  private locate(t: number): number {
    const p = this.spec.periodMs;
    const bins = this.profile.length;
    const pos = ((((t % p) + p) % p) / p) * bins - 0.5;
    const lower = Math.floor(pos);
    this.upperWeight = pos - lower;
    return lower < 0 ? bins - 1 : lower;
  }

  private upperWeight = 0;

  seasonalAt(t: number): number {
    if (!this.seasonal) return 0;
    const b0 = this.locate(t);
    const b1 = b0 + 1 === this.profile.length ? 0 : b0 + 1;
    const w = this.upperWeight;
    const c0 = this.counts[b0]! > 0;
    const c1 = this.counts[b1]! > 0;
    if (c0 && c1) return (1 - w) * this.profile[b0]! + w * this.profile[b1]!;
    return c0 ? this.profile[b0]! : c1 ? this.profile[b1]! : 0;
  }

  /** One-step forecast for a sample at time t. */
  predict(t: number): number {
    const s = this.state;
    this.lastForecast = s[LEVEL]! + this.spec.phi * s[TREND]! + this.seasonalAt(t);
    return this.lastForecast;
  }

  /** Forecast `steps` steps ahead (damped trend), with the season of time t. */
  forecastAhead(t: number, steps: number): number {
    const phi = this.spec.phi;
    const damp = phi === 1 ? steps : (phi * (1 - phi ** steps)) / (1 - phi);
    return this.state[LEVEL]! + this.state[TREND]! * damp + this.seasonalAt(t);
  }

  /**
   * Variance multiplier of the h-step forecast error for ETS(A,Ad,A):
   * 1 + sum_{j=1}^{h-1} c_j^2, c_j = alpha (1 + beta (phi + ... + phi^j)) + gamma [j a multiple of the season].
   */
  varianceFactor(steps: number, stepsPerSeason: number): number {
    const { alpha, beta, phi, gamma } = this.spec;
    let total = 1;
    let damp = 0;
    let pj = 1;
    for (let j = 1; j < steps; j++) {
      pj *= phi;
      damp += pj;
      const seasonal = this.seasonal && stepsPerSeason > 0 && j % stepsPerSeason === 0 ? gamma : 0;
      const c = alpha * (1 + beta * damp) + seasonal;
      total += c * c;
    }
    return total;
  }

  /**
   * Takes in an observation; returns the one-step error it had (observation minus forecast).
   * `weight` (0..1) scales how much the sample teaches the error scale: below 1 while a sample
   * looks anomalous, so an incident does not widen what counts as normal. Level and season learn
   * at full rate (bounded by the clipping), so the model can never lock itself out of a series.
   */
  update(t: number, x: number, weight = 1): number {
    const s = this.state;
    const n = ++s[N]!;
    if (n === 1) {
      s[LEVEL] = x;
      this.learnSeason(t, x, x, x);
      this.lastForecast = x;
      return 0;
    }
    const f = this.predict(t);
    const err = x - f;
    const scale = s[ERR_ABS]! * MEAN_ABS_TO_SIGMA;
    const limit = this.clip * scale;
    const e = n > 8 && scale > 0 ? clamp(err, -limit, limit) : err;
    this.trackError(n, e, err, weight);
    const rate = Math.max(1 / n, this.spec.alpha);
    const prevLevel = s[LEVEL]!;
    const level = prevLevel + this.spec.phi * s[TREND]! + rate * e;
    if (this.spec.beta > 0 && n > 2)
      s[TREND] = this.spec.phi * s[TREND]! + this.spec.beta * (level - prevLevel - this.spec.phi * s[TREND]!);
    s[LEVEL] = level;
    this.learnSeason(t, level, f + e, x);
    return err;
  }

  private trackError(n: number, clipped: number, raw: number, weight: number): void {
    const s = this.state;
    const slow = Math.max(1 / n, ERR_RATE) * weight;
    const fast = Math.max(1 / n, FAST_RATE);
    const a = Math.abs(clipped);
    s[ERR_ABS] = s[ERR_ABS]! + slow * (a - s[ERR_ABS]!);
    s[ERR_SQ] = s[ERR_SQ]! + slow * (clipped * clipped - s[ERR_SQ]!);
    s[ERR_FAST] = s[ERR_FAST]! + fast * (Math.min(Math.abs(raw), 3 * a + 1e-300) - s[ERR_FAST]!);
  }

  /**
   * Moves the two bins around t toward (observation - level), each by its interpolation weight.
   * A bin seen for the first time takes the raw observation: clipping is for outliers against a
   * learned season, and an unlearned bin has none yet.
   */
  private learnSeason(t: number, level: number, observed: number, raw: number): void {
    if (!this.seasonal) return;
    const current = this.seasonalAt(t);
    const b0 = this.locate(t);
    const b1 = b0 + 1 === this.profile.length ? 0 : b0 + 1;
    const w = this.upperWeight;
    this.learnBin(b0, 1 - w, observed - level, raw - level, current);
    this.learnBin(b1, w, observed - level, raw - level, current);
  }

  private learnBin(b: number, weight: number, target: number, rawTarget: number, current: number): void {
    if (weight <= 0) return;
    const before = this.counts[b]!;
    const c = (this.counts[b] = before + weight);
    if (before === 0) {
      this.seenBins++;
      this.profile[b] = rawTarget;
      return;
    }
    this.profile[b] =
      this.profile[b]! + Math.min(1, Math.max(weight / c, this.spec.gamma * weight)) * (target - current);
  }

  /** Re-anchors the model so it forecasts `value` at time t (a level shift accepted as the new normal); the trend the jump fed is dropped. */
  reanchor(t: number, value: number): void {
    this.state[TREND] = 0;
    this.state[LEVEL] = value - this.seasonalAt(t);
  }

  /** Resets the error trackers (e.g. when a seasonal model is first allowed to compete). */
  seedErrors(errAbs: number): void {
    this.state[ERR_ABS] = errAbs;
    this.state[ERR_FAST] = errAbs;
    this.state[ERR_SQ] = (errAbs * MEAN_ABS_TO_SIGMA) ** 2;
  }

  /** Bins of the profile that have seen at least one sample, as a fraction. */
  coverage(): number {
    return this.seasonal ? this.seenBins / this.counts.length : 1;
  }

  toJSON(): HoltWintersSnapshot {
    return {
      spec: this.spec,
      clip: this.clip,
      state: encodeFloats(this.state),
      profile: encodeFloats(this.profile),
      counts: encodeFloats(this.counts),
    };
  }

  static fromJSON(snap: HoltWintersSnapshot): HoltWinters {
    const m = new HoltWinters(snap.spec, snap.clip);
    m.state.set(decodeFloats(snap.state).subarray(0, SLOTS));
    m.profile.set(decodeFloats(snap.profile).subarray(0, m.profile.length));
    m.counts.set(decodeFloats(snap.counts).subarray(0, m.counts.length));
    for (let i = 0; i < m.counts.length; i++) if (m.counts[i]! > 0) m.seenBins++;
    return m;
  }
}

export interface HoltWintersSnapshot {
  spec: HoltWintersSpec;
  clip: number;
  state: string;
  profile: string;
  counts: string;
}

export function encodeFloats(a: Float64Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

export function decodeFloats(s: string): Float64Array {
  const buf = Buffer.from(s, 'base64');
  const out = new Float64Array(Math.floor(buf.length / 8));
  for (let i = 0; i < out.length; i++) out[i] = buf.readDoubleLE(i * 8);
  return out;
}

export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;

/** Bins for a season given the typical sampling interval: about one sample per bin per season, 12 to `maxBins`. */
export function binsFor(periodMs: number, intervalMs: number, maxBins: number): number {
  if (!(intervalMs > 0)) return 0;
  return Math.round(clamp(periodMs / intervalMs, 0, maxBins));
}
