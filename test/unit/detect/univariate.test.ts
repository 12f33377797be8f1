import { describe, expect, it } from 'vitest';
import { IncidentTracker } from '../../../src/detect/incidents.ts';
import {
  KIND_LEVEL_SHIFT,
  KIND_SPIKE,
  KIND_VARIANCE,
  KINDS,
  UnivariateDetector,
} from '../../../src/detect/univariate.ts';
import { Random } from '../../../src/timeseries/random.ts';
import { generateStream } from '../../../src/timeseries/synthetic.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5);

/** A daily cycle with Gaussian noise, one sample every 5 minutes. */
function seasonal(n: number, seed = 1): { t: Float64Array; x: Float64Array } {
  const rng = new Random(seed);
  const t = new Float64Array(n);
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    t[i] = T0 + i * 5 * MIN;
    x[i] = 100 + 30 * Math.sin((2 * Math.PI * (t[i]! % 86_400_000)) / 86_400_000) + 2 * rng.normal();
  }
  return { t, x };
}

function run(
  d: UnivariateDetector,
  t: Float64Array,
  x: Float64Array,
  from = 0,
  to = x.length,
): { scores: number[]; kinds: number[] } {
  const scores: number[] = [];
  const kinds: number[] = [];
  for (let i = from; i < to; i++) {
    scores.push(d.update(t[i]!, x[i]!));
    kinds.push(d.kind);
  }
  return { scores, kinds };
}

describe('the univariate detector', () => {
  it('scores in [0, 1], zero during warm-up, and stays quiet on a clean seasonal series', () => {
    const { t, x } = seasonal(3 * 288);
    const { scores } = run(new UnivariateDetector(), t, x);
    expect(scores.every((s) => s >= 0 && s <= 1)).toBe(true);
    expect(scores.slice(0, 30).every((s) => s === 0)).toBe(true);
    expect(scores.filter((s) => s >= 0.5).length).toBeLessThanOrEqual(2);
  });

  it('flags a spike on the sample itself, as a spike', () => {
    const { t, x } = seasonal(4 * 288);
    const at = 3 * 288 + 100;
    x[at] = x[at]! + 40; // 20 sigma
    const { scores, kinds } = run(new UnivariateDetector(), t, x);
    expect(scores[at]).toBeGreaterThan(0.9);
    expect(kinds[at]).toBe(KIND_SPIKE);
    expect(scores[at - 1]).toBeLessThan(0.5);
  });

  it('uses only the past: the scores of a prefix do not change when more data follows', () => {
    const { t, x } = seasonal(2 * 288, 7);
    const whole = run(new UnivariateDetector(), t, x).scores;
    const prefix = run(new UnivariateDetector(), t, x, 0, 400).scores;
    expect(prefix).toEqual(whole.slice(0, 400));
  });

  it('detects a level shift, then accepts the new level as normal', () => {
    const { t, x } = seasonal(5 * 288, 3);
    const at = 3 * 288;
    for (let i = at; i < x.length; i++) x[i] = x[i]! + 25;
    const { scores, kinds } = run(new UnivariateDetector(), t, x);
    expect(Math.max(...scores.slice(at, at + 12))).toBeGreaterThan(0.5);
    expect(kinds.slice(at, at + 20)).toContain(KIND_LEVEL_SHIFT);
    // A day later the shifted level is the normal one.
    expect(Math.max(...scores.slice(at + 288, at + 2 * 288))).toBeLessThan(0.5);
  });

  it('detects a variance change and names it', () => {
    const { t, x } = seasonal(5 * 288, 4);
    const rng = new Random(99);
    const at = 3 * 288;
    for (let i = at; i < at + 60; i++) x[i] = x[i]! + 10 * rng.normal();
    const { scores, kinds } = run(new UnivariateDetector(), t, x);
    const window = scores.slice(at, at + 60);
    expect(Math.max(...window)).toBeGreaterThan(0.5);
    expect(kinds.slice(at, at + 60)).toContain(KIND_VARIANCE);
  });

  it('learns the daily season (the seasonal model takes over after a day and a quarter)', () => {
    const { t, x } = seasonal(3 * 288, 5);
    const d = new UnivariateDetector();
    run(d, t, x);
    expect(d.activeModels().baseline).toBe('daily');
  });

  it('resumes from a snapshot exactly where it was', () => {
    const s = generateStream({ seed: 11, kind: 'spike', days: 9 });
    const straight = new UnivariateDetector();
    const expected = run(straight, s.t, s.x).scores;
    const first = new UnivariateDetector();
    run(first, s.t, s.x, 0, 1500);
    const restored = UnivariateDetector.fromJSON(JSON.parse(JSON.stringify(first.toJSON())));
    const rest = run(restored, s.t, s.x, 1500).scores;
    expect(rest).toEqual(expected.slice(1500));
  });

  it('flags a persistent level shift at its onset and is quiet again within a few samples: one incident', () => {
    const { t, x } = seasonal(5 * 288, 3);
    const at = 3 * 288;
    for (let i = at; i < x.length; i++) x[i] = x[i]! + 25;
    const { scores } = run(new UnivariateDetector(), t, x);
    expect(scores[at]).toBeGreaterThan(0.9);
    expect(Math.max(...scores.slice(at + 8))).toBeLessThan(0.5);
    const incidents = new IncidentTracker('svc');
    const opens = scores.filter((s, i) => incidents.observe(i, s, 0, '') === 'OPEN').length;
    expect(opens).toBe(1);
  });

  it('gives the same scores to a series whatever its unit and offset (one threshold fits every series)', () => {
    const { t, x } = seasonal(3 * 288, 9);
    x[700] = x[700]! + 15;
    const a = run(new UnivariateDetector(), t, x).scores;
    const b = run(
      new UnivariateDetector(),
      t,
      x.map((v) => 1000 * v - 5),
    ).scores;
    expect(a[700]).toBeGreaterThan(0.5);
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i]!, 9);
  });

  it('keeps alarms on heavy-tailed noise rare (the score is Gaussian-calibrated: a known limit, see docs/detect.md)', () => {
    const rng = new Random(5);
    const d = new UnivariateDetector();
    let alarms = 0;
    for (let i = 0; i < 20_000; i++) if (d.update(T0 + i * MIN, 50 + 3 * rng.studentT(3)) >= 0.5) alarms++;
    expect(alarms / 20_000).toBeLessThan(0.01);
  });

  it('does not flag one-quantum blips of a series that mostly sits still', () => {
    const rng = new Random(3);
    const d = new UnivariateDetector();
    let alarms = 0;
    for (let i = 0; i < 5000; i++) {
      const blip = rng.next() < 0.02 ? (rng.next() < 0.5 ? 0.1 : -0.1) : 0;
      if (d.update(T0 + i * 5 * MIN, 10 + blip) >= 0.5) alarms++;
    }
    expect(alarms).toBe(0);
  });

  it('flags the jump of a flat series, then accepts its new level within a few samples', () => {
    const d = new UnivariateDetector();
    const scores: number[] = [];
    for (let i = 0; i < 2000; i++) scores.push(d.update(T0 + i * 5 * MIN, i < 1500 ? 0 : 5));
    expect(scores[1500]).toBeGreaterThan(0.9);
    const high = scores.slice(1500).filter((s) => s >= 0.5).length;
    expect(high).toBeGreaterThan(0);
    expect(high).toBeLessThanOrEqual(10);
  });

  /** A daily pattern of sharp hourly steps (the shape of NAB's artificial daily series), one sample every 5 minutes. */
  function dailySteps(days: number, noise: number, seed = 4): { t: Float64Array; x: Float64Array } {
    const rng = new Random(seed);
    const n = days * 288;
    const t = new Float64Array(n);
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      t[i] = T0 + i * 5 * MIN;
      const h = Math.floor((i % 288) / 12);
      const level = h < 9 ? 20 : h < 18 ? 80 - 12 * 0.2 ** (h - 9) : 20 + 12 * 0.2 ** (h - 18);
      x[i] = level + noise * rng.normal();
    }
    return { t, x };
  }

  it('learns a daily pattern of sharp steps: quiet on its steps from the third day, noisy or not', () => {
    for (const noise of [0, 1, 3]) {
      const { t, x } = dailySteps(14, noise);
      const { scores } = run(new UnivariateDetector(), t, x);
      expect(scores.slice(2 * 288).filter((s) => s >= 0.5).length).toBe(0);
    }
  });

  it('on such a pattern still flags a spike, and the day a step does not come', () => {
    const { t, x } = dailySteps(10, 1);
    const spike = 6 * 288 + 50;
    x[spike] = x[spike]! + 15;
    const day = 8 * 288;
    for (let i = day + 9 * 12; i < day + 18 * 12; i++) x[i] = 20 + (x[i]! - Math.round(x[i]!)); // the 9:00 step missing
    const { scores } = run(new UnivariateDetector(), t, x);
    expect(scores[spike]).toBeGreaterThan(0.9);
    expect(Math.max(...scores.slice(day + 9 * 12, day + 9 * 12 + 3))).toBeGreaterThan(0.9);
  });

  it('ignores non-finite values', () => {
    const d = new UnivariateDetector();
    expect(d.update(T0, Number.NaN)).toBe(0);
    expect(d.n).toBe(0);
    expect(KINDS[d.kind]).toBe('none');
  });
});
