/**
 * Capacity forecasting of one series (request rate, CPU, memory): online Holt-Winters models
 * with a damped trend (none, daily and weekly season by time of day/week) compete on their
 * recent one-step error; the winner forecasts. Prediction intervals are the ETS(A,Ad,A) h-step
 * variance from the model's one-step RMSE. Works on irregular timestamps: steps are counted in
 * the series' typical sampling interval.
 */
import { binsFor, DAY_MS, HoltWinters, type HoltWintersSnapshot, WEEK_MS } from '../timeseries/holt-winters.ts';

export interface ForecastPoint {
  at: number;
  mean: number;
  low80: number;
  high80: number;
  low95: number;
  high95: number;
}

const SEASON_START = 48;
const Z80 = 1.2816;
const Z95 = 1.96;

export class Forecaster {
  // Seasonal models win only where their season lowers the one-step error; their level is smoother (0.05)
  // so it does not chase the daily swing, which would bias forecasts hours ahead.
  models: HoltWinters[] = [new HoltWinters({ alpha: 0.1, beta: 0.05, phi: 0.98, gamma: 0, periodMs: 0, bins: 0 }, 6)];
  private n = 0;
  private firstT = 0;
  lastT = 0;
  /** Typical sampling interval (geometric EW mean of gaps), ms. */
  interval = 0;
  private active = 0;

  get count(): number {
    return this.n;
  }

  observe(t: number, x: number): void {
    if (!Number.isFinite(t) || !Number.isFinite(x)) return;
    this.n++;
    if (this.n === 1) this.firstT = t;
    else if (t > this.lastT) {
      const dt = t - this.lastT;
      const capped = this.interval > 0 ? Math.min(dt, 10 * this.interval) : dt;
      this.interval =
        this.interval > 0
          ? Math.exp(
              Math.log(this.interval) + Math.max(1 / this.n, 0.02) * (Math.log(capped) - Math.log(this.interval)),
            )
          : dt;
    }
    if (t > this.lastT) this.lastT = t;
    if (this.n === SEASON_START) this.addSeasonal();
    for (const m of this.models) m.update(t, x);
    this.select(t);
  }

  private addSeasonal(): void {
    for (const [period, maxBins] of [
      [DAY_MS, 288],
      [WEEK_MS, 336],
    ] as const) {
      const bins = binsFor(period, this.interval, maxBins);
      if (bins >= 6 && period / this.interval >= 6)
        this.models.push(new HoltWinters({ alpha: 0.05, beta: 0, phi: 1, gamma: 0.2, periodMs: period, bins }, 6));
    }
  }

  private select(_t: number): void {
    let best = this.active;
    let bestErr = this.models[best]!.errAbs;
    for (let i = 0; i < this.models.length; i++) {
      const m = this.models[i]!;
      if (!this.usable(m)) continue;
      if (m.errAbs < 0.95 * bestErr) {
        best = i;
        bestErr = m.errAbs;
      }
    }
    this.active = best;
  }

  /** Which model forecasts: none, daily or weekly season. */
  get seasonality(): 'none' | 'daily' | 'weekly' {
    const p = this.models[this.active]!.spec.periodMs;
    return p === DAY_MS ? 'daily' : p === WEEK_MS ? 'weekly' : 'none';
  }

  /** Point forecast for time `at` (after the last observation). */
  predictAt(at: number): number {
    const steps = Math.max(1, Math.round((at - this.lastT) / (this.interval || 1)));
    return this.combined(at, steps);
  }

  /**
   * When a season wins, the forecast combines every usable seasonal model whose recent error is
   * within 1.5x of the best, weighted by inverse squared error: daily and weekly seasons hedge
   * each other where one-step errors cannot tell which carries further ahead. (The trend model is
   * left out: extrapolating a trend hours ahead costs more than it brings.)
   */
  private combined(at: number, steps: number): number {
    const active = this.models[this.active]!;
    if (!active.seasonal) return active.forecastAhead(at, steps);
    let sum = 0;
    let weights = 0;
    for (let i = 0; i < this.models.length; i++) {
      const m = this.models[i]!;
      if (i !== this.active && (!m.seasonal || !this.usable(m) || m.errAbs > 1.5 * active.errAbs)) continue;
      const w = 1 / Math.max(1e-12, m.errAbs * m.errAbs);
      sum += w * m.forecastAhead(at, steps);
      weights += w;
    }
    return sum / weights;
  }

  private usable(m: HoltWinters): boolean {
    return !m.seasonal || (this.lastT - this.firstT >= 1.25 * m.spec.periodMs && m.coverage() >= 0.5);
  }

  /** Forecasts at `points` evenly spaced times up to `horizonMs` ahead, with 80% and 95% intervals. */
  forecast(horizonMs: number, points = 12): ForecastPoint[] {
    if (this.n < 2 || !(this.interval > 0)) return [];
    const m = this.models[this.active]!;
    const perSeason = m.seasonal ? Math.round(m.spec.periodMs / this.interval) : 0;
    const out: ForecastPoint[] = [];
    for (let i = 1; i <= points; i++) {
      const at = this.lastT + (horizonMs * i) / points;
      const steps = Math.max(1, Math.round((at - this.lastT) / this.interval));
      const mean = this.combined(at, steps);
      const sd = m.rmse * Math.sqrt(m.varianceFactor(Math.min(steps, 5000), perSeason));
      out.push({
        at,
        mean,
        low80: mean - Z80 * sd,
        high80: mean + Z80 * sd,
        low95: mean - Z95 * sd,
        high95: mean + Z95 * sd,
      });
    }
    return out;
  }

  toJSON(): ForecasterSnapshot {
    return {
      models: this.models.map((m) => m.toJSON()),
      n: this.n,
      firstT: this.firstT,
      lastT: this.lastT,
      interval: this.interval,
      active: this.active,
    };
  }

  static fromJSON(s: ForecasterSnapshot): Forecaster {
    const f = new Forecaster();
    f.models = s.models.map((m) => HoltWinters.fromJSON(m));
    Object.assign(f, {
      n: s.n,
      firstT: s.firstT,
      lastT: s.lastT,
      interval: s.interval,
      active: Math.min(s.active, f.models.length - 1),
    });
    return f;
  }
}

export interface ForecasterSnapshot {
  models: HoltWintersSnapshot[];
  n: number;
  firstT: number;
  lastT: number;
  interval: number;
  active: number;
}

export interface Saturation {
  /** When the mean forecast first reaches the limit (null: not within the horizon). */
  expectedAt: number | null;
  /** When the upper 95% bound first reaches it: the earliest plausible time. */
  earliestAt: number | null;
}

/** First forecast times at which the mean and the upper bound reach `limit`. */
export function saturation(points: ForecastPoint[], limit: number): Saturation {
  const expected = points.find((p) => p.mean >= limit);
  const earliest = points.find((p) => p.high95 >= limit);
  return { expectedAt: expected?.at ?? null, earliestAt: earliest?.at ?? null };
}
