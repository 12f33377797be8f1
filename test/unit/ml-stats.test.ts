import { describe, expect, it } from 'vitest';
import type { Evaluation } from '../../schemas/index.ts';
import { splitRows } from '../../src/ml/dataset.ts';
import { performanceKind } from '../../src/ml/kinds/performance.ts';
import { parseFlatRow, type RowError } from '../../src/ml/kinds/types.ts';
import { decidePromotion } from '../../src/ml/promotion.ts';
import { DriftMonitor } from '../../src/ml/retrain.ts';
import { fitLinear, fitScaler, regressionMetrics, scale, seededRandom, toMatrix, unscale } from '../../src/ml/stats.ts';
import { syntheticRows } from '../../src/ml/synthetic.ts';
import {
  batchScale,
  DEFAULT_SPACE,
  halvingSchedule,
  plannedEpochs,
  sampleHyperparameters,
} from '../../src/ml/tuner.ts';

describe('scaling and the linear baseline', () => {
  it('standardises columns on the data it is fitted on, and inverts exactly', () => {
    const m = toMatrix(
      [
        [1, 10],
        [3, 10],
        [5, 10],
      ],
      2,
    );
    const s = fitScaler(m);
    expect(s.mean).toEqual([3, 10]);
    expect(s.std[1]).toBe(1); // a constant column keeps std 1 instead of dividing by zero
    const scaled = scale(m, s);
    expect(Array.from(scaled.data.filter((_, i) => i % 2 === 0)).reduce((a, b) => a + b, 0)).toBeCloseTo(0);
    expect(Array.from(unscale(scaled, s).data)).toEqual(Array.from(m.data).map((v) => expect.closeTo(v, 5)));
  });

  it('recovers the coefficients of a noiseless linear function', () => {
    const random = seededRandom(3);
    const xs = Array.from({ length: 200 }, () => [random() * 10, random() * 5 - 2]);
    const x = toMatrix(xs, 2);
    const y = toMatrix(
      xs.map(([a, b]) => [2 * a! - 3 * b! + 7]),
      1,
    );
    const fit = fitLinear(x, y, 0);
    expect(fit.weights.map((w) => w[0]!)).toEqual([expect.closeTo(7, 5), expect.closeTo(2, 5), expect.closeTo(-3, 5)]);
  });

  it('computes RMSE, MAE and R²', () => {
    const m = regressionMetrics([[1], [2], [3]], [[1], [2], [5]]);
    expect(m.rmse).toBeCloseTo(Math.sqrt(4 / 3));
    expect(m.mae).toBeCloseTo(2 / 3);
    expect(m.r2).toBeCloseTo(1 - 4 / ((1 - 8 / 3) ** 2 + (2 - 8 / 3) ** 2 + (5 - 8 / 3) ** 2));
  });
});

describe('splitting', () => {
  it('is reproducible, disjoint and complete', () => {
    const rows = Array.from({ length: 1000 }, (_, i) => i);
    const a = splitRows(rows, { seed: 7, holdout: 0.2, val: 0.25 });
    const b = splitRows(rows, { seed: 7, holdout: 0.2, val: 0.25 });
    expect(a).toEqual(b);
    expect(a.holdout).toHaveLength(200);
    expect(a.val).toHaveLength(200);
    expect(a.train).toHaveLength(600);
    expect(new Set([...a.train, ...a.val, ...a.holdout]).size).toBe(1000);
  });

  it('holds out the newest rows by time when asked, shuffling the rest', () => {
    const rows = Array.from({ length: 100 }, (_, i) => i);
    const times = rows.map((i) => 1000 - i * 7); // row 0 is the newest
    const s = splitRows(rows, { seed: 3, holdout: 0.1, val: 0.2, newest: true, times });
    expect([...s.holdout].sort((x, y) => (x as number) - (y as number))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(s.val).toHaveLength(18);
    // Without times, the last rows are the newest.
    expect(splitRows(rows, { seed: 3, holdout: 0.05, val: 0.2, newest: true }).holdout.sort()).toEqual([
      95, 96, 97, 98, 99,
    ]);
  });
});

describe('successive halving', () => {
  it('halves the trials and doubles their epochs at each rung, ending at maxEpochs', () => {
    const s = halvingSchedule(8, 40);
    expect(s.survivors).toEqual([8, 4, 2, 1]);
    expect(s.epochs).toEqual([5, 10, 20, 40]);
    // 8x5 + 4x5 + 2x10 + 1x20 = 100 epochs instead of 8x40 = 320 without halving.
    expect(plannedEpochs(s)).toBe(100);
  });

  it('scales batch sizes with the training set, so big datasets do not spend their budget on per-step overhead', () => {
    expect([1000, 16_000, 40_000, 64_000, 10_000_000].map(batchScale)).toEqual([1, 1, 2, 4, 16]);
    const scaled = sampleHyperparameters(DEFAULT_SPACE, seededRandom(1), 8, 4);
    expect(scaled.map((h) => h.batchSize)).toEqual(
      sampleHyperparameters(DEFAULT_SPACE, seededRandom(1), 8).map((h) => h.batchSize * 4),
    );
  });

  it('keeps at least two epochs in the first rung, and one rung for one trial', () => {
    expect(halvingSchedule(16, 6).epochs[0]).toBeGreaterThanOrEqual(2);
    expect(halvingSchedule(1, 30)).toEqual({ epochs: [30], survivors: [1] });
  });

  it('samples reproducible hyperparameters inside the space, the first being the anchor', () => {
    const a = sampleHyperparameters(DEFAULT_SPACE, seededRandom(1), 8);
    expect(a).toEqual(sampleHyperparameters(DEFAULT_SPACE, seededRandom(1), 8));
    expect(a[0]).toMatchObject({ layers: 2, units: 64 });
    for (const hp of a) {
      expect(DEFAULT_SPACE.layers).toContain(hp.layers);
      expect(hp.learningRate).toBeGreaterThanOrEqual(DEFAULT_SPACE.learningRate[0]);
      expect(hp.learningRate).toBeLessThanOrEqual(DEFAULT_SPACE.learningRate[1]);
    }
  });
});

describe('request rows', () => {
  const row = { cpu_usage: 75, memory_usage: 60, network_latency: 150, error_rate: 2, request_count: 1500 };
  const error = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return err as RowError;
    }
    throw new Error('no error');
  };
  it('names a missing, extra or non-numeric field', () => {
    expect(parseFlatRow(row, performanceKind.featureNames, performanceKind.targetNames, false)).toEqual(row);
    const { error_rate: _, ...missing } = row;
    expect(error(() => performanceKind.parseRequestRow(missing, false))).toMatchObject({
      field: 'error_rate',
      message: 'is required',
    });
    expect(error(() => performanceKind.parseRequestRow({ ...row, colour: 1 }, false)).field).toBe('colour');
    expect(error(() => performanceKind.parseRequestRow({ ...row, cpu_usage: '75' }, false))).toMatchObject({
      field: 'cpu_usage',
      message: 'must be a number',
    });
    expect(error(() => performanceKind.parseRequestRow(row, true)).field).toBe('performance_score');
    expect(error(() => performanceKind.parseRequestRow({ ...row, performance_score: 0.5 }, false)).message).toMatch(
      /what the model predicts/,
    );
  });
});

describe('the promotion gate', () => {
  const evaluation = (
    rmse: number,
    more: { linear?: number; champion?: { version: string; rmse?: number; error?: string } } = {},
  ): Evaluation => ({
    holdoutRows: 100,
    network: { rmse },
    linear: more.linear === undefined ? null : { rmse: more.linear },
    classic: null,
    champion: more.champion
      ? {
          version: more.champion.version,
          metrics: more.champion.rmse === undefined ? {} : { rmse: more.champion.rmse },
          error: more.champion.error ?? null,
        }
      : null,
  });
  const against = (rmse: number, champion: number, min = 0) =>
    decidePromotion(performanceKind, evaluation(rmse, { champion: { version: 'v1', rmse: champion } }), min);
  it('promotes a first version, a better challenger, and not a worse or equal one', () => {
    expect(decidePromotion(performanceKind, evaluation(0.1), 0).promote).toBe(true);
    expect(against(0.05, 0.1).promote).toBe(true);
    const worse = against(0.2, 0.1);
    expect(worse.promote).toBe(false);
    expect(worse.reason).toMatch(/does not beat the champion: rmse 0\.2000 vs champion v1 0\.1000 on the same holdout/);
    expect(against(0.1, 0.1).promote).toBe(false);
  });
  it('asks for the configured relative improvement', () => {
    expect(against(0.095, 0.1, 0.1).promote).toBe(false);
    expect(against(0.085, 0.1, 0.1).promote).toBe(true);
  });
  it('does not make a first version worse than the linear baseline the champion (issue 16)', () => {
    expect(decidePromotion(performanceKind, evaluation(0.05, { linear: 0.03 }), 0)).toEqual({
      promote: false,
      reason: 'does not beat the linear baseline: rmse 0.05000 vs 0.03000 on the same holdout',
    });
    expect(decidePromotion(performanceKind, evaluation(0.02, { linear: 0.03 }), 0)).toEqual({
      promote: true,
      reason: 'first version: rmse 0.02000 on the holdout (linear baseline 0.03000)',
    });
    // Nor one that would replace a champion that cannot be evaluated.
    const unevaluated = { version: 'v1', error: 'ENOENT' };
    expect(decidePromotion(performanceKind, evaluation(0.05, { linear: 0.03, champion: unevaluated }), 0).promote).toBe(
      false,
    );
  });
  it('lets the challenger in when the champion cannot be evaluated, and says why', () => {
    expect(
      decidePromotion(performanceKind, evaluation(0.3, { champion: { version: 'v1', error: 'ENOENT' } }), 0),
    ).toEqual({
      promote: true,
      reason: 'champion v1 could not be evaluated (ENOENT); the challenger (rmse 0.3000) replaces it',
    });
  });
  it('refuses a challenger with no finite primary metric', () => {
    expect(decidePromotion(performanceKind, evaluation(Number.NaN), 0)).toEqual({
      promote: false,
      reason: 'the challenger has no finite rmse on the holdout',
    });
  });
});

describe('drift', () => {
  it('fires once the recent error exceeds the threshold times the holdout error, and not before the window is full', () => {
    const monitor = new DriftMonitor(performanceKind, 100, 1.5);
    const holdout = { rmse: 0.05 };
    const rows = syntheticRows(100, { seed: 2 });
    const actual = rows.map((r) => [r.performance_score]);
    const close = actual.map(([y]) => [y! + 0.04]);
    expect(monitor.observe('v1', holdout, close.slice(0, 50), actual.slice(0, 50))).toBeNull();
    expect(monitor.observe('v1', holdout, close.slice(50), actual.slice(50))).toBeNull();
    expect(monitor.status().ratio).toBeCloseTo(0.8, 1);
    const far = actual.map(([y]) => [Math.max(0, y! - 0.2)]);
    const ratio = monitor.observe('v1', holdout, far, actual);
    expect(ratio).toBeGreaterThan(1.5);
    // A new champion starts a new window.
    expect(monitor.observe('v2', holdout, far.slice(0, 10), actual.slice(0, 10))).toBeNull();
    expect(monitor.status().samples).toBe(10);
  });
});
