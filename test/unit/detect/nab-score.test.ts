import { describe, expect, it } from 'vitest';
import {
  bestNabThreshold,
  NAB_STANDARD,
  nabRange,
  nabScore,
  nabStyleWindows,
  scaledSigmoid,
} from '../../../bench/lib/nab.ts';

/** 200 samples, one window [100, 120). */
function windows(): Uint8Array {
  const w = new Uint8Array(200);
  w.fill(1, 100, 120);
  return w;
}

const alertsAt = (...at: number[]) => {
  const s = new Float64Array(200);
  for (const i of at) s[i] = 1;
  return s;
};

const score = (at: number[]) => nabScore([nabRange(alertsAt(...at), windows(), 0, 200)], 0.5);

describe('NAB scoring (standard profile)', () => {
  it('scores the null detector 0 and a detection on the first sample of every window 100', () => {
    expect(score([]).normalised).toBe(0);
    expect(score([100]).normalised).toBeCloseTo(100, 9);
  });

  it('rewards the earliest detection in a window and ignores later ones there', () => {
    const early = score([102]).raw;
    const late = score([118]).raw;
    expect(early).toBeGreaterThan(late);
    expect(late).toBeGreaterThan(0);
    expect(score([102, 118]).raw).toBeCloseTo(early, 12);
  });

  it('charges 0.11 for a detection before the first window and almost nothing just after a window', () => {
    expect(score([100, 10]).raw).toBeCloseTo(1 - NAB_STANDARD.fp, 9);
    const justAfter = score([100, 120]).raw - 1;
    expect(justAfter).toBeLessThan(0);
    expect(justAfter).toBeGreaterThan(-0.02);
    // Three window widths past the window the full charge applies.
    expect(score([100, 119 + 3 * 19 + 1]).raw - 1).toBeCloseTo(-NAB_STANDARD.fp, 9);
  });

  it('uses the scaled sigmoid of the NAB paper', () => {
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(3.1)).toBe(-1);
    expect(scaledSigmoid(-1)).toBeCloseTo(0.9866, 4);
  });

  it('finds the one threshold with the best score over several series', () => {
    const a = new Float64Array(200);
    a[100] = 0.9; // window start
    a[30] = 0.7; // false positive
    const b = new Float64Array(200);
    b[105] = 0.6;
    const ranges = [nabRange(a, windows(), 0, 200), nabRange(b, windows(), 0, 200)];
    const best = bestNabThreshold(ranges);
    // At 0.6 both windows are found for one false positive: better than finding one window only.
    expect(best.threshold).toBe(0.6);
    expect(best.normalised).toBeCloseTo(nabScore(ranges, 0.6).normalised, 12);
    expect(nabScore(ranges, 0.6).normalised).toBeGreaterThan(nabScore(ranges, 0.8).normalised);
  });

  it('leaves the probationary period out and builds NAB-style windows around short segments', () => {
    expect(nabScore([nabRange(alertsAt(10), windows(), 0, 200, NAB_STANDARD, 30)], 0.5).falsePositives).toBe(0);
    const label = new Uint8Array(1000);
    label.fill(1, 500, 503);
    const w = nabStyleWindows(label);
    // One anomaly: a window of 10% of the length, centred on the segment's start.
    expect(w.indexOf(1)).toBe(450);
    expect(w.lastIndexOf(1)).toBe(549);
  });
});
