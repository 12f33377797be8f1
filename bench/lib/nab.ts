/**
 * The Numenta Anomaly Benchmark's scoring rule (Lavin & Ahmad, "Evaluating Real-time Anomaly
 * Detection Algorithms – the Numenta Anomaly Benchmark", ICMLA 2015; the sweeper of numenta/NAB),
 * standard profile: A_TP = 1, A_FP = -0.11, A_FN = -1.
 *
 * - A detection is a sample whose score reaches the threshold.
 * - Inside a labelled window, only the earliest detection counts: A_TP * σ(y) / σ(-1), with
 *   y = -(right - i + 1) / width (-1 at the window's first sample, ~0 at its last) and the scaled
 *   sigmoid σ(y) = 2 / (1 + e^{5y}) - 1 (σ(y) = -1 for y > 3). A window without a detection costs A_FN.
 * - Every detection outside a window costs A_FP · |σ(y)|-weighted: after a window, y = distance
 *   past its right edge / (width - 1), so an alert just after a window costs almost nothing and one
 *   three widths later the full 0.11; before the first window the full 0.11.
 * - Samples in the probationary period (the first 15% of a file, at most 750) are not scored.
 * - Raw scores are summed over the corpus and normalised: 100 · (raw - null) / (perfect - null),
 *   null = never detecting (-A_FN per window), perfect = detecting every window at its first sample
 *   and nothing else (A_TP per window). 0 is the null detector, 100 the perfect one; negative is
 *   worse than saying nothing.
 *
 * NAB optimises one threshold per detector over the corpus; `bestNabThreshold` does the same.
 */
import { segmentsOf, type Window } from './detect-eval.ts';

export interface NabProfile {
  tp: number;
  fp: number;
  fn: number;
}

export const NAB_STANDARD: NabProfile = { tp: 1, fp: 0.11, fn: 1 };

export function scaledSigmoid(y: number): number {
  return y > 3 ? -1 : 2 / (1 + Math.exp(5 * y)) - 1;
}

const MAX_TP = scaledSigmoid(-1);

/** NAB's probationary period for a file of n samples. */
export const probationOf = (n: number) => Math.min(Math.floor(0.15 * n), 750);

/**
 * NAB-style windows for data labelled with short anomaly segments (not NAB's own windows): as NAB
 * builds them from its anomaly timestamps, each window is 10% of the series length divided by the
 * number of anomalies, centred on the segment's start (and at least covering the segment);
 * overlapping windows merge.
 */
export function nabStyleWindows(label: Uint8Array): Uint8Array {
  const segs = segmentsOf(label);
  const out = new Uint8Array(label.length);
  if (!segs.length) return out;
  const half = Math.max(1, Math.floor((0.1 * label.length) / segs.length / 2));
  for (const s of segs) {
    const from = Math.max(0, s.start - half);
    const to = Math.min(label.length, Math.max(s.end, s.start + half));
    out.fill(1, from, to);
  }
  return out;
}

/** One scored range of one series, ready for any threshold: each sample's score, window and NAB weight. */
export interface NabRange {
  scores: Float64Array;
  /** Window index of each sample (-1 outside). */
  window: Int32Array;
  /** Weighted score a detection on this sample gets (positive in windows, negative outside). */
  weight: Float64Array;
  windows: number;
}

/**
 * Prepares [from, to) of a scored series. Windows are the runs of `windows` (1 inside); the range
 * must not cut one (split with `heldOutStart(windows)`). A window before the range still discounts
 * the false positives just after it, as in a whole-file run. Samples before `scoredFrom` (the
 * probationary period) are left out.
 */
export function nabRange(
  scores: ArrayLike<number>,
  windows: Uint8Array,
  from: number,
  to: number,
  profile: NabProfile = NAB_STANDARD,
  scoredFrom = from,
): NabRange {
  const all = segmentsOf(windows);
  const wins = all.filter((w) => w.start >= from && w.start < to);
  const start = Math.max(from, scoredFrom);
  const n = to - start;
  const out: NabRange = {
    scores: new Float64Array(n),
    window: new Int32Array(n).fill(-1),
    weight: new Float64Array(n),
    windows: wins.length,
  };
  let k = 0;
  let prev: Window | undefined;
  const first = all.indexOf(wins[0]!);
  for (let i = from; i < to; i++) {
    while (k < all.length && all[k]!.end <= i) prev = all[k++];
    const w = k < all.length && all[k]!.start <= i ? all[k] : undefined;
    let weight: number;
    if (w) {
      const width = w.end - w.start;
      weight = (profile.tp * scaledSigmoid(-(w.end - 1 - i + 1) / width)) / MAX_TP;
    } else if (!prev) {
      weight = -profile.fp;
    } else {
      const width = prev.end - prev.start;
      const past = width > 1 ? (i - (prev.end - 1)) / (width - 1) : Number.POSITIVE_INFINITY;
      weight = profile.fp * scaledSigmoid(past);
    }
    if (i < start) continue;
    const j = i - start;
    out.scores[j] = scores[i]!;
    out.window[j] = w ? k - first : -1;
    out.weight[j] = weight;
  }
  return out;
}

export interface NabOutcome {
  raw: number;
  /** 100 · (raw - null) / (perfect - null). */
  normalised: number;
  windows: number;
  detectedWindows: number;
  /** Detections outside windows (samples). */
  falsePositives: number;
}

const normalise = (raw: number, windows: number, profile: NabProfile) =>
  windows ? (100 * (raw + profile.fn * windows)) / ((profile.tp + profile.fn) * windows) : 0;

/** The NAB score of a set of ranges at one threshold. */
export function nabScore(ranges: NabRange[], threshold: number, profile: NabProfile = NAB_STANDARD): NabOutcome {
  let raw = 0;
  let windows = 0;
  let detected = 0;
  let fps = 0;
  for (const r of ranges) {
    const best = new Float64Array(r.windows).fill(Number.NEGATIVE_INFINITY);
    for (let i = 0; i < r.scores.length; i++) {
      if (!(r.scores[i]! >= threshold)) continue;
      const w = r.window[i]!;
      if (w < 0) {
        raw += r.weight[i]!;
        fps++;
      } else if (r.weight[i]! > best[w]!) best[w] = r.weight[i]!;
    }
    for (const b of best) {
      if (b === Number.NEGATIVE_INFINITY) raw -= profile.fn;
      else {
        raw += b;
        detected++;
      }
    }
    windows += r.windows;
  }
  return { raw, normalised: normalise(raw, windows, profile), windows, detectedWindows: detected, falsePositives: fps };
}

/**
 * The one threshold with the best NAB score over a set of ranges (a sweep over every distinct
 * score, highest first, as NAB's optimiser does). Among equal scores the highest threshold wins.
 */
export function bestNabThreshold(
  ranges: NabRange[],
  profile: NabProfile = NAB_STANDARD,
): { threshold: number; normalised: number } {
  const points: { s: number; w: number; weight: number }[] = [];
  let windows = 0;
  for (const r of ranges) {
    for (let i = 0; i < r.scores.length; i++) {
      if (Number.isFinite(r.scores[i]!))
        points.push({ s: r.scores[i]!, w: r.window[i]! < 0 ? -1 : windows + r.window[i]!, weight: r.weight[i]! });
    }
    windows += r.windows;
  }
  points.sort((a, b) => b.s - a.s);
  const best = new Float64Array(windows).fill(Number.NEGATIVE_INFINITY);
  // raw = fpSum + sum of detected windows' best weights - fn * undetected.
  let fpSum = 0;
  let tpSum = 0;
  let undetected = windows;
  let top = { threshold: Number.POSITIVE_INFINITY, raw: -profile.fn * windows };
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    if (p.w < 0) fpSum += p.weight;
    else if (p.weight > best[p.w]!) {
      if (best[p.w] === Number.NEGATIVE_INFINITY) undetected--;
      else tpSum -= best[p.w]!;
      best[p.w] = p.weight;
      tpSum += p.weight;
    }
    if (i + 1 < points.length && points[i + 1]!.s === p.s) continue;
    const raw = fpSum + tpSum - profile.fn * undetected;
    if (raw > top.raw) top = { threshold: p.s, raw };
  }
  return { threshold: top.threshold, normalised: normalise(top.raw, windows, profile) };
}
