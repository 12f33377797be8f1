/**
 * The online detector of one metric series. Each sample is scored from that sample and the ones
 * before it only. See docs/detect.md for the method; in short:
 *
 * 1. Onset: the sample against a fast-adapting level (the immediate past), in units of a local
 *    robust scale (the residual spread of the last ~20 samples, never below most of its long-run
 *    value). A sample is abnormal when it breaks from what the series was just doing; once the
 *    series has moved, the fast level has moved with it, so a persistent change is flagged at its
 *    onset and not for hours after.
 * 2. Calibration: that residual in units of the local scale is read as a Gaussian tail
 *    probability. The local scale carries the series' own noise level, so the same score means
 *    about the same rarity on every series and one threshold fits them all. (A learned
 *    extreme-value tail was tried instead and lost on the real KPIs: see docs/detect.md.)
 * 3. Slow evidence against a baseline (a few robust Holt-Winters models compete: slow level with
 *    damped trend, daily and weekly season by time of day/week): a short EWMA of its residuals
 *    (level shifts) and the log ratio of short- to long-run residual variance (variance changes,
 *    flat lines). Each is reported once per change: after it has raised the score to 0.5 it
 *    counts again only when it gets materially worse (latch), or after it has been quiet.
 * 4. Score: -log10 of the smallest tail probability (Bonferroni-corrected for the three tests)
 *    mapped to [0, 1] by a fixed curve, 0.5 at `scoreHalf`.
 * A sustained same-sign excursion from the baseline is accepted as a level shift: the models
 * re-anchor and the new level becomes normal.
 */
import {
  binsFor,
  DAY_MS,
  decodeFloats,
  encodeFloats,
  HoltWinters,
  type HoltWintersSnapshot,
  MEAN_ABS_TO_SIGMA,
  WEEK_MS,
} from '../timeseries/holt-winters.ts';
import { clamp, gaussianSurprise, surpriseToScore, surpriseToZ } from '../timeseries/stats.ts';

export const KINDS = ['none', 'spike', 'level_shift', 'drift', 'variance_change', 'seasonality_break'] as const;
export type AnomalyKind = (typeof KINDS)[number];
export const KIND_NONE = 0;
export const KIND_SPIKE = 1;
export const KIND_LEVEL_SHIFT = 2;
export const KIND_DRIFT = 3;
export const KIND_VARIANCE = 4;
export const KIND_SEASONALITY = 5;

export interface DetectorSettings {
  /** Evidence (-log10 p) at which the score is 0.5. */
  scoreHalf: number;
  /** Samples learned before the first non-zero score. */
  warmup: number;
  /** Consecutive same-sign excursions beyond 3 sigma that are accepted as a new level. */
  shiftRun: number;
  /** Smoothing of the fast level the onset residual is taken against (1: the previous sample). */
  fastAlpha: number;
  /** Learning rate of the local residual scale (0.05: about the last 20 samples). */
  localRate: number;
  /** The local scale is never taken below this fraction of the long-run one. */
  localFloor: number;
}

/** Defaults; fastAlpha, localRate, localFloor and scoreHalf were chosen on the first halves of the real KPIs (bench:detect-eval). */
export const DEFAULT_SETTINGS: DetectorSettings = {
  scoreHalf: 4,
  warmup: 30,
  shiftRun: 8,
  fastAlpha: 1,
  localRate: 0.05,
  localFloor: 0.8,
};

// Indices of the plain models; seasonal ones follow when created.
const FAST = 0;
const SLOW = 1;
const MAX_MODELS = 4;
const SEASON_START = 48;
const MIN_BINS = 6;
const MAX_BINS_DAY = 288;
const MAX_BINS_WEEK = 336;
const TESTS = 3;
const LOG10_TESTS = Math.log10(TESTS);
const LAMBDA_SHORT = 0.25;
const LAMBDA_VAR = 0.1;
const ERR_RATE = 0.01;
const LONG_RATE = 0.002;
const HOURLY_RATE = 0.02;
/** A reported slow condition counts again once its evidence is this many times what was reported. */
const LATCH_RISE = 1.5;
/** Evidence (-log10 p) below which a slow condition is over and its latch released. */
const LATCH_QUIET = 2;
/** Consecutive same-sign onset residuals beyond 4 sigma after which the fast level jumps to the series. */
const ONSET_RUN = 3;

// Scalar state slots.
const S_N = 0;
const S_FIRST_T = 1;
const S_LAST_T = 2;
const S_INTERVAL = 3;
const S_E_SHORT = 4; // EWMA of baseline residuals
const S_V_SHORT = 5; // its observed variance
const S_W_FAST = 6; // short-run mean square baseline residual
const S_W_SLOW = 7; // long-run one
const S_V_LOGW = 8; // observed variance of their log ratio
const S_RUN = 9;
const S_RUN_X = 10;
const S_BEST = 11;
const S_BASE = 12;
const S_RESOLUTION = 13;
const S_LAST_X = 14;
const S_LOCAL = 15; // EW mean |onset residual|, fast
const S_LONG = 16; // the same, slow
const S_LATCH = 17; // slow evidence already reported (0: none)
const S_ONSET_LEVEL = 18; // fast level, in raw units at the time S_ONSET_T
const S_ONSET_T = 19;
const S_ONSET_RUN = 20; // consecutive same-sign onset residuals beyond the clip (signed)
const S_DAY_BINS = 21; // time-of-day bins of the same-time-yesterday memory (0: not sized yet)
const S_DAY_ERR = 22; // slow EW mean |x - same time yesterday| (clipped like S_LONG)
const SLOTS = 23;
const HOURS = 24;
const HOUR_MS = 3_600_000;
/** Samples an hour of day needs before its own scale stands in for the long-run one. */
const HOUR_MIN_COUNT = 20;

// Per-model slots (MAX_MODELS each): AR(1) correction of the model's one-step error.
const M_PREV = 0; // previous error
const M_CROSS = 1; // EW mean of e_t * e_{t-1}
const M_SQ = 2; // EW mean of e_t^2
const M_ERR = 3; // EW mean |corrected error|
const M_FAST_ERR = 4; // fast EW mean |corrected error|
const M_SLOTS = 5;

/** Variance of an EWMA of unit-variance independent values. */
const ewmaVar = (lambda: number) => lambda / (2 - lambda);
const hourOf = (t: number) => Math.floor((((t % 86_400_000) + 86_400_000) % 86_400_000) / HOUR_MS);

export class UnivariateDetector {
  readonly state = new Float64Array(SLOTS);
  /** AR(1) error-correction state of each model. */
  readonly ar = new Float64Array(MAX_MODELS * M_SLOTS);
  /** Typical |onset residual| by hour of day, and how many samples each hour has taught (noise often follows the daily cycle). */
  readonly hourly = new Float64Array(2 * HOURS);
  /** The value last seen in each time-of-day bin, then when it was seen: what the series did at this time yesterday. */
  readonly yesterday = new Float64Array(2 * MAX_BINS_DAY);
  models: HoltWinters[];
  // Outputs of the last update (read them right after `update`).
  score = 0;
  kind = KIND_NONE;
  /** Which evidence decided the score (spike: onset residual, level_shift: short EWMA, variance_change), before kind refinements. */
  evidence = KIND_NONE;
  /** What the last sample was expected to be: the fast level (the immediate past). */
  expected = 0;
  /** Local scale of the last sample's onset residual (0 during warm-up). */
  private lastSigma = 0;
  /** Signed standardised onset residual of the last sample. */
  z = 0;
  /** The same against the baseline (slow or seasonal) model: what multivariate scoring compares across metrics. */
  zBase = 0;
  private readonly forecasts = new Float64Array(MAX_MODELS);

  readonly settings: DetectorSettings;

  constructor(settings: DetectorSettings = DEFAULT_SETTINGS) {
    this.settings = settings;
    this.models = [
      new HoltWinters({ alpha: 0.3, beta: 0, phi: 1, gamma: 0, periodMs: 0, bins: 0 }),
      new HoltWinters({ alpha: 0.03, beta: 0.005, phi: 0.98, gamma: 0, periodMs: 0, bins: 0 }),
    ];
    this.state[S_BEST] = SLOW;
    this.state[S_BASE] = SLOW;
  }

  get n(): number {
    return this.state[S_N]!;
  }

  /** Scores one sample (timestamp in ms). Non-finite values are ignored (score 0). Returns the score. */
  update(t: number, x: number): number {
    if (!Number.isFinite(x) || !Number.isFinite(t)) return this.reset0();
    const s = this.state;
    const n = ++s[S_N]!;
    this.trackInterval(n, t);
    if (n === SEASON_START) this.addSeasonalModels();
    const base = s[S_BASE]!;
    this.predictAll(t, n);
    const onsetForecast = this.onsetForecast(t, n, x);
    const onsetSigma = this.onsetSigma(t, onsetForecast);
    const baseForecast = this.models[base]!.lastForecast;
    const baseSigma = Math.max(this.models[base]!.sigma, this.sigmaFloor(baseForecast));
    this.expected = onsetForecast;
    if (n <= this.settings.warmup) return this.warmUp(t, x, n, onsetForecast);
    const zOnset = this.onsetZ(t, x, onsetForecast, onsetSigma);
    this.z = zOnset;
    // Explained by yesterday at this time: the baseline's miss (a smoothed season) is no evidence either.
    const explained = this.expected !== onsetForecast;
    this.zBase = (x - (explained ? this.expected : baseForecast)) / baseSigma;
    this.lastSigma = onsetSigma;
    this.evaluate(zOnset, this.zBase, n);
    // An anomalous sample teaches the models' error scales a tenth of a normal one.
    const weight = this.score >= 0.5 ? 0.1 : 1;
    this.trackResolution(n, x, this.score < 0.5);
    this.learnOnset(t, n, x, onsetForecast, onsetSigma);
    this.remember(t, x);
    this.learnAll(t, x, weight);
    if (this.trackRun(t, x, this.zBase)) this.kind = KIND_LEVEL_SHIFT;
    else if (this.kind !== KIND_NONE && this.seasonBroken()) this.kind = KIND_SEASONALITY;
    this.selectModels(t);
    return this.score;
  }

  /**
   * The onset residual in units of the local scale. The value at the same time yesterday is a
   * second explanation, used once it explains the series at least as well as the immediate past
   * does (its long-run miss is no larger than the onset residual's: a daily pattern that repeats
   * itself): then a sample is abnormal only if neither explains it. A step the series takes at
   * 9:00 every day is no news, however sharp; a spike, or the day the step does not come, is news
   * against both. Sets `expected` to the explanation used.
   */
  private onsetZ(t: number, x: number, forecast: number, sigma: number): number {
    const z = (x - forecast) / sigma;
    const prior = this.sameTimeYesterday(t);
    if (Number.isNaN(prior)) return z;
    const s = this.state;
    const miss = Math.min(Math.abs(x - prior), 4 * sigma);
    // Starts at the onset residual's spread (explains nothing better) and has to earn its way below it.
    s[S_DAY_ERR] = s[S_DAY_ERR] ? s[S_DAY_ERR]! + LONG_RATE * (miss - s[S_DAY_ERR]!) : Math.max(miss, s[S_LONG]!);
    if (s[S_DAY_ERR]! > s[S_LONG]!) return z;
    const zy = (x - prior) / sigma;
    if (Math.abs(zy) >= Math.abs(z)) return z;
    this.expected = prior;
    return zy;
  }

  /** Time-of-day bin of the current sample in the same-time-yesterday memory (-1: none yet). */
  private dayBinNow = -1;

  /** The value seen in this time-of-day bin between half a day and a day and a half ago (NaN if none). */
  private sameTimeYesterday(t: number): number {
    const bins = this.state[S_DAY_BINS]!;
    if (!bins) return Number.NaN;
    const b = Math.min(bins - 1, Math.floor(((((t % DAY_MS) + DAY_MS) % DAY_MS) / DAY_MS) * bins));
    this.dayBinNow = b;
    const age = t - this.yesterday[MAX_BINS_DAY + b]!;
    return age >= 0.5 * DAY_MS && age <= 1.5 * DAY_MS ? this.yesterday[b]! : Number.NaN;
  }

  private remember(t: number, x: number): void {
    const b = this.dayBinNow;
    if (b < 0) return;
    this.yesterday[b] = x;
    this.yesterday[MAX_BINS_DAY + b] = t;
    this.dayBinNow = -1;
  }

  /** Scale of the onset residual: the local spread, never below `localFloor` of the long-run one, nor below the series' quantum. */
  private onsetSigma(t: number, level: number): number {
    const s = this.state;
    return Math.max(
      MEAN_ABS_TO_SIGMA * Math.max(s[S_LOCAL]!, this.settings.localFloor * this.usualSpread(t)),
      this.sigmaFloor(level),
    );
  }

  /** The long-run spread of the onset residual at this hour of day (the overall one until the hour has been seen enough). */
  private usualSpread(t: number): number {
    const h = hourOf(t);
    return this.hourly[HOURS + h]! >= HOUR_MIN_COUNT ? this.hourly[h]! : this.state[S_LONG]!;
  }

  /**
   * The fast level carried to time t: the last fast level plus the change the baseline's season
   * expects between the two times (none while the baseline has no season).
   */
  private onsetForecast(t: number, n: number, x: number): number {
    const s = this.state;
    if (n === 1) return x;
    const base = this.models[s[S_BASE]!]!;
    return base.seasonal ? s[S_ONSET_LEVEL]! + base.seasonalAt(t) - base.seasonalAt(s[S_ONSET_T]!) : s[S_ONSET_LEVEL]!;
  }

  /**
   * Moves the fast level toward the sample (the innovation clipped at 4 sigma once scored), and
   * learns the local and long-run spread of the onset residual from every sample, clipped alike:
   * after an outlier the local scale widens a little (the next few samples must stand out more to
   * count as a new onset) and settles back within ~20 samples.
   */
  private learnOnset(t: number, n: number, x: number, forecast: number, sigma: number): void {
    const s = this.state;
    const residual = x - forecast;
    const scored = n > this.settings.warmup;
    const clipped = scored && Math.abs(residual) > 4 * sigma;
    const run = s[S_ONSET_RUN]!;
    s[S_ONSET_RUN] = clipped ? (run * residual > 0 ? run + Math.sign(residual) : Math.sign(residual)) : 0;
    // A third clipped residual in a row in the same direction is a new level, not an outlier: jump to it.
    const persistent = Math.abs(s[S_ONSET_RUN]!) >= ONSET_RUN;
    if (persistent) s[S_ONSET_RUN] = 0;
    const step = clipped && !persistent ? 4 * sigma * Math.sign(residual) : residual;
    s[S_ONSET_LEVEL] = n === 1 ? x : forecast + (persistent ? 1 : Math.max(1 / n, this.settings.fastAlpha)) * step;
    s[S_ONSET_T] = t;
    if (n === 1) return;
    const a = scored ? Math.min(Math.abs(residual), 4 * sigma) : Math.abs(residual);
    s[S_LOCAL] = s[S_LOCAL]! + Math.max(1 / n, this.settings.localRate) * (a - s[S_LOCAL]!);
    s[S_LONG] = s[S_LONG]! + Math.max(1 / n, LONG_RATE) * (a - s[S_LONG]!);
    const h = hourOf(t);
    const count = ++this.hourly[HOURS + h]!;
    this.hourly[h] = this.hourly[h]! + Math.max(1 / count, HOURLY_RATE) * (a - this.hourly[h]!);
  }

  /** A warm-up sample: learned from, not scored. */
  private warmUp(t: number, x: number, n: number, onsetForecast: number): number {
    this.trackResolution(n, x, true);
    this.learnOnset(t, n, x, onsetForecast, 0);
    this.learnAll(t, x, 1);
    this.selectModels(t);
    this.lastSigma = 0;
    this.z = 0;
    this.zBase = 0;
    return this.reset0();
  }

  /** Half-width of the last sample's expected range: how far from the forecast the score would reach 0.5. Computed on demand (it is not cheap). */
  get halfWidth(): number {
    return this.lastSigma ? surpriseToZ(this.settings.scoreHalf + LOG10_TESTS) * this.lastSigma : 0;
  }

  private reset0(): number {
    this.score = 0;
    this.kind = KIND_NONE;
    return 0;
  }

  /** Each model's forecast of time t, corrected by its AR(1) error term. */
  private predictAll(t: number, n: number): void {
    for (let i = 0; i < this.models.length; i++) {
      const m = this.models[i]!;
      const f = n > 1 ? m.predict(t) : 0;
      const o = i * M_SLOTS;
      const sigma = m.sigma;
      const prev = clamp(this.ar[o + M_PREV]!, -3 * sigma, 3 * sigma);
      this.forecasts[i] = f + this.rho(i) * prev;
    }
  }

  private rho(i: number): number {
    const o = i * M_SLOTS;
    const sq = this.ar[o + M_SQ]!;
    return sq > 0 ? clamp(this.ar[o + M_CROSS]! / sq, 0, 0.98) : 0;
  }

  /** Robust scale of a model's corrected one-step error. */
  private sigmaOf(i: number): number {
    const m = this.models[i]!;
    return Math.max(this.ar[i * M_SLOTS + M_ERR]! * MEAN_ABS_TO_SIGMA, this.sigmaFloor(m.level));
  }

  private learnAll(t: number, x: number, weight: number): void {
    for (let i = 0; i < this.models.length; i++) {
      const m = this.models[i]!;
      const sigma = m.sigma;
      const err = m.update(t, x, weight);
      const o = i * M_SLOTS;
      const k = Math.max(1 / m.n, ERR_RATE) * weight;
      const e = m.n > 8 && sigma > 0 ? clamp(err, -4 * sigma, 4 * sigma) : err;
      const corrected = Math.abs(x - this.forecasts[i]!);
      const cap = m.n > 8 ? 4 * this.sigmaOf(i) : corrected;
      if (m.n > 1) {
        this.ar[o + M_CROSS] = this.ar[o + M_CROSS]! + k * (e * this.ar[o + M_PREV]! - this.ar[o + M_CROSS]!);
        this.ar[o + M_SQ] = this.ar[o + M_SQ]! + k * (e * e - this.ar[o + M_SQ]!);
        this.ar[o + M_ERR] = this.ar[o + M_ERR]! + k * (Math.min(corrected, cap) - this.ar[o + M_ERR]!);
        this.ar[o + M_FAST_ERR] =
          this.ar[o + M_FAST_ERR]! + Math.max(1 / m.n, 0.1) * (Math.min(corrected, cap) - this.ar[o + M_FAST_ERR]!);
      }
      this.ar[o + M_PREV] = e;
    }
  }

  /**
   * The smallest step the series has moved by (its quantum, for counts and rounded gauges). A
   * series that sits still most of the time would otherwise have an error scale near zero, and its
   * every one-quantum blip would look like an outlier of many sigmas. Only steps of unremarkable
   * samples count: the first jump of a flat series is the anomaly, not its resolution.
   */
  private trackResolution(n: number, x: number, normal: boolean): void {
    const s = this.state;
    // A step that was itself anomalous says nothing about the quantum.
    if (n > 1 && normal) {
      const step = Math.abs(x - s[S_LAST_X]!);
      if (step > 1e-9 * Math.max(1, Math.abs(x)) && (s[S_RESOLUTION] === 0 || step < s[S_RESOLUTION]!))
        s[S_RESOLUTION] = step;
    }
    s[S_LAST_X] = x;
  }

  /** No error scale is taken below half the series' quantum (or a relative epsilon). */
  private sigmaFloor(level: number): number {
    return Math.max(1e-6 * (Math.abs(level) + 1), 0.5 * this.state[S_RESOLUTION]!);
  }

  private trackInterval(n: number, t: number): void {
    const s = this.state;
    if (n === 1) {
      s[S_FIRST_T] = t;
      s[S_LAST_T] = t;
      return;
    }
    const dt = t - s[S_LAST_T]!;
    if (t > s[S_LAST_T]!) s[S_LAST_T] = t;
    if (!(dt > 0)) return;
    const prev = s[S_INTERVAL]!;
    // Geometric EW mean of the gap, capped so one long outage does not look like the cadence.
    const capped = prev > 0 ? Math.min(dt, 10 * prev) : dt;
    s[S_INTERVAL] =
      prev > 0 ? Math.exp(Math.log(prev) + Math.max(1 / n, 0.02) * (Math.log(capped) - Math.log(prev))) : dt;
  }

  /** Daily and weekly seasonal models, sized to the sampling cadence; only where a season spans enough samples. */
  private addSeasonalModels(): void {
    const interval = this.state[S_INTERVAL]!;
    const dayBins = binsFor(DAY_MS, interval, MAX_BINS_DAY);
    if (dayBins >= MIN_BINS && DAY_MS / interval >= MIN_BINS) this.state[S_DAY_BINS] = dayBins;
    for (const [period, maxBins] of [
      [DAY_MS, MAX_BINS_DAY],
      [WEEK_MS, MAX_BINS_WEEK],
    ] as const) {
      const bins = binsFor(period, interval, maxBins);
      if (bins >= MIN_BINS && period / interval >= MIN_BINS) {
        this.models.push(new HoltWinters({ alpha: 0.05, beta: 0, phi: 1, gamma: 0.1, periodMs: period, bins }));
      }
    }
  }

  /** The onset evidence and the (latched) slow evidence; sets score and kind. */
  private evaluate(zOnset: number, zb: number, n: number): void {
    const s = this.state;
    const zbc = clamp(zb, -4, 4);
    const point = gaussianSurprise(zOnset);
    s[S_E_SHORT] = s[S_E_SHORT]! + LAMBDA_SHORT * (zbc - s[S_E_SHORT]!);
    // Spreads are learned fast at first (rate 1/m), then slowly.
    const rate = Math.max(1 / (n - this.settings.warmup), 0.005);
    const short = this.ewmaSurprise(S_E_SHORT, S_V_SHORT, LAMBDA_SHORT, rate);
    const variance = this.varianceSurprise(zbc, rate);
    let slow = short;
    let slowKind = KIND_LEVEL_SHIFT;
    if (variance > slow) {
      slow = variance;
      slowKind = KIND_VARIANCE;
    }
    const reported = this.latch(slow);
    let best = point;
    let kind = KIND_SPIKE;
    if (reported > best) {
      best = reported;
      kind = slowKind;
    }
    // Confidence ramp: evidence counts fully once the detector has seen 5x its warm-up.
    const w = this.settings.warmup;
    const confidence = Math.min(1, (n - w) / (4 * w));
    this.score = surpriseToScore((best - LOG10_TESTS) * confidence, this.settings.scoreHalf);
    this.kind = this.score >= 0.05 ? kind : KIND_NONE;
    this.evidence = this.kind;
    if (reported > 0 && reported === best && this.score >= 0.5) s[S_LATCH] = slow;
  }

  /**
   * A slow condition (level, drift, variance) is reported once: after its evidence has raised the
   * score to 0.5 it counts again only when it has grown LATCH_RISE-fold, and the latch is released
   * once the condition is quiet. Returns the evidence that may count now.
   */
  private latch(slow: number): number {
    const s = this.state;
    const held = s[S_LATCH]!;
    if (held === 0) return slow;
    if (slow < LATCH_QUIET) {
      s[S_LATCH] = 0;
      return slow;
    }
    return slow >= LATCH_RISE * held ? slow : 0;
  }

  /** EWMA of residuals against its own observed spread (never below the white-noise spread). */
  private ewmaSurprise(slot: number, varSlot: number, lambda: number, rate: number): number {
    const s = this.state;
    const e = s[slot]!;
    const floor = ewmaVar(lambda);
    const v = Math.max(floor, s[varSlot]!);
    const ze = e / Math.sqrt(v);
    if (Math.abs(ze) < 3 || rate > 0.05) s[varSlot] = s[varSlot]! + rate * (e * e - s[varSlot]!);
    return gaussianSurprise(ze);
  }

  /**
   * log(short-run / long-run mean square residual), against its own observed spread; one-sided
   * (variance up). A fall in residual variance is what a baseline that is still learning its
   * season shows, and on its own it is no incident.
   */
  private varianceSurprise(zc: number, rate: number): number {
    const s = this.state;
    const sq = zc * zc;
    s[S_W_FAST] = (s[S_W_FAST]! || 1) + LAMBDA_VAR * (sq - (s[S_W_FAST]! || 1));
    const lw = Math.log(Math.max(1e-4, s[S_W_FAST]!) / Math.max(1e-4, s[S_W_SLOW]! || 1));
    const floor = 0.1;
    const v = Math.max(floor, s[S_V_LOGW]!);
    const zv = lw / Math.sqrt(v);
    if (Math.abs(zv) < 3 || rate > 0.05) {
      s[S_V_LOGW] = s[S_V_LOGW]! + rate * (lw * lw - s[S_V_LOGW]!);
      s[S_W_SLOW] = (s[S_W_SLOW]! || 1) + rate * (sq - (s[S_W_SLOW]! || 1));
    }
    return zv > 0 ? gaussianSurprise(zv) : 0;
  }

  /** Counts same-sign excursions of the baseline beyond 3 sigma; after `shiftRun` of them, re-anchors every model. */
  private trackRun(t: number, x: number, zb: number): boolean {
    const s = this.state;
    const run = s[S_RUN]!;
    if (Math.abs(zb) <= 3 || (run !== 0 && Math.sign(run) !== Math.sign(zb))) {
      s[S_RUN] = Math.abs(zb) > 3 ? Math.sign(zb) : 0;
      s[S_RUN_X] = x;
      return false;
    }
    s[S_RUN] = run + Math.sign(zb);
    s[S_RUN_X] = Math.abs(run) < 1 ? x : s[S_RUN_X]! + 0.5 * (x - s[S_RUN_X]!);
    if (Math.abs(s[S_RUN]!) < this.settings.shiftRun) return false;
    for (let i = 0; i < this.models.length; i++) {
      const m = this.models[i]!;
      m.reanchor(t, s[S_RUN_X]!);
      this.ar[i * M_SLOTS + M_PREV] = 0;
    }
    s[S_RUN] = 0;
    s[S_E_SHORT] = 0;
    s[S_W_FAST] = s[S_W_SLOW]!;
    return true;
  }

  /** A seasonal model is the baseline but the plain slow one now predicts better: the season broke. */
  private seasonBroken(): boolean {
    const base = this.state[S_BASE]!;
    if (!this.models[base]!.seasonal) return false;
    return this.ar[SLOW * M_SLOTS + M_FAST_ERR]! < 0.8 * this.ar[base * M_SLOTS + M_FAST_ERR]!;
  }

  /**
   * Picks the best model for point forecasts (lowest recent corrected error, all models) and the
   * baseline for level evidence (the same among the slow and seasonal ones), each with 10%
   * hysteresis; seasonal models compete once they have seen 1.25 seasons.
   */
  private selectModels(t: number): void {
    const s = this.state;
    s[S_BEST] = this.pick(t, s[S_BEST]!, true);
    const base = this.pick(t, s[S_BASE]!, false);
    s[S_BASE] = base;
  }

  private pick(t: number, current: number, point: boolean): number {
    let best = current;
    let bestErr = this.errorOf(current, point);
    for (let i = 0; i < this.models.length; i++) {
      if (i === FAST && !point) continue;
      const m = this.models[i]!;
      if (m.seasonal && (t - this.state[S_FIRST_T]! < 1.25 * m.spec.periodMs || m.coverage() < 0.5)) continue;
      const err = this.errorOf(i, point);
      if (err < 0.9 * bestErr) {
        best = i;
        bestErr = err;
      }
    }
    return best;
  }

  /** A model's recent error: AR-corrected for point forecasts, plain for the baseline. */
  private errorOf(i: number, point: boolean): number {
    return point ? this.ar[i * M_SLOTS + M_ERR]! : this.models[i]!.errAbs;
  }

  /** Names of the models in use for point forecasts and as the baseline: fast, slow, daily or weekly. */
  activeModels(): { point: string; baseline: string } {
    return { point: this.modelName(this.state[S_BEST]!), baseline: this.modelName(this.state[S_BASE]!) };
  }

  private modelName(i: number): string {
    const m = this.models[i]!;
    if (m.spec.periodMs === DAY_MS) return 'daily';
    if (m.spec.periodMs === WEEK_MS) return 'weekly';
    return i === FAST ? 'fast' : 'slow';
  }

  toJSON(): UnivariateSnapshot {
    return {
      state: Array.from(this.state),
      ar: Array.from(this.ar),
      hourly: Array.from(this.hourly),
      yesterday: encodeFloats(this.yesterday),
      models: this.models.map((m) => m.toJSON()),
    };
  }

  static fromJSON(snap: UnivariateSnapshot, settings: DetectorSettings = DEFAULT_SETTINGS): UnivariateDetector {
    const d = new UnivariateDetector(settings);
    d.state.set(snap.state.slice(0, SLOTS));
    d.ar.set(snap.ar.slice(0, d.ar.length));
    d.hourly.set(snap.hourly.slice(0, d.hourly.length));
    if (snap.yesterday) d.yesterday.set(decodeFloats(snap.yesterday).subarray(0, d.yesterday.length));
    d.models = snap.models.slice(0, MAX_MODELS).map((m) => HoltWinters.fromJSON(m));
    if (d.state[S_BEST]! >= d.models.length) d.state[S_BEST] = SLOW;
    if (d.state[S_BASE]! >= d.models.length) d.state[S_BASE] = SLOW;
    return d;
  }
}

export interface UnivariateSnapshot {
  state: number[];
  ar: number[];
  hourly: number[];
  /** Absent in snapshots taken before the same-time-yesterday memory: it refills within a day. */
  yesterday?: string;
  models: HoltWintersSnapshot[];
}
