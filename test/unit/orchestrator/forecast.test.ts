import { describe, expect, it } from 'vitest';
import { Forecaster, saturation } from '../../../src/orchestrator/forecast.ts';
import { Random } from '../../../src/timeseries/random.ts';

const T0 = Date.UTC(2026, 0, 5);
const STEP = 5 * 60_000;
const DAY = 86_400_000;
const value = (t: number, rng: Random) => 500 + 200 * Math.sin((2 * Math.PI * (t % DAY)) / DAY) + 10 * rng.normal();

describe('the capacity forecaster', () => {
  it('learns a daily season and forecasts the next hours inside its intervals', () => {
    const rng = new Random(1);
    const f = new Forecaster();
    const n = 5 * 288;
    for (let i = 0; i < n; i++) f.observe(T0 + i * STEP, value(T0 + i * STEP, rng));
    expect(f.seasonality).not.toBe('none');
    const points = f.forecast(6 * 3_600_000, 24);
    expect(points).toHaveLength(24);
    let inside80 = 0;
    let inside95 = 0;
    for (const p of points) {
      const actual = value(p.at, rng);
      if (actual >= p.low80 && actual <= p.high80) inside80++;
      if (actual >= p.low95 && actual <= p.high95) inside95++;
      expect(p.low95).toBeLessThanOrEqual(p.low80);
      expect(p.high95).toBeGreaterThanOrEqual(p.high80);
    }
    expect(inside95).toBeGreaterThanOrEqual(20);
    expect(inside80).toBeGreaterThanOrEqual(14);
    // Intervals widen with the horizon.
    expect(points[23]!.high95 - points[23]!.low95).toBeGreaterThan(points[0]!.high95 - points[0]!.low95);
  });

  it('beats the seasonal-naive forecast one hour ahead on a noisy seasonal series', () => {
    const rng = new Random(2);
    const f = new Forecaster();
    const xs: number[] = [];
    const ts: number[] = [];
    for (let i = 0; i < 8 * 288; i++) {
      ts.push(T0 + i * STEP);
      xs.push(value(ts[i]!, rng));
    }
    let ours = 0;
    let naive = 0;
    for (let i = 0; i < xs.length; i++) {
      if (i >= 3 * 288 && i + 12 < xs.length && i % 12 === 0) {
        ours += Math.abs(f.predictAt(ts[i + 12]!) - xs[i + 12]!);
        naive += Math.abs(xs[i + 12 - 288]! - xs[i + 12]!);
      }
      f.observe(ts[i]!, xs[i]!);
    }
    expect(ours / naive).toBeLessThan(1);
  });

  it('finds when a growing load reaches a limit', () => {
    const f = new Forecaster();
    for (let i = 0; i < 200; i++) f.observe(T0 + i * STEP, 100 + i);
    const points = f.forecast(4 * 3_600_000, 48);
    const sat = saturation(points, 310);
    expect(sat.expectedAt).not.toBeNull();
    expect(sat.earliestAt).not.toBeNull();
    expect(sat.earliestAt!).toBeLessThanOrEqual(sat.expectedAt!);
    expect(saturation(points, 1e9)).toEqual({ expectedAt: null, earliestAt: null });
  });

  it('round-trips through a snapshot', () => {
    const rng = new Random(3);
    const f = new Forecaster();
    for (let i = 0; i < 400; i++) f.observe(T0 + i * STEP, value(T0 + i * STEP, rng));
    const g = Forecaster.fromJSON(JSON.parse(JSON.stringify(f.toJSON())));
    expect(g.forecast(3_600_000)).toEqual(f.forecast(3_600_000));
  });
});
