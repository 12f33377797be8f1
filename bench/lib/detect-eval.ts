/**
 * Evaluation of anomaly scores against labels.
 *
 * Real labelled series (`timestamp,value,label`, label 1 on anomalous points) are scored the way
 * the AIOps Challenge 2018 scored them, at one threshold for a whole set of series:
 * - an alert is a sample whose score reaches the threshold;
 * - a labelled segment is detected when an alert falls on one of its first `delay + 1` points
 *   (delay 7: within 7 points of its start); then all its points count as true positives,
 *   otherwise all of them are misses (false negatives); alerts later in a segment count for nothing;
 * - every alert outside the segments is a false positive;
 * - precision, recall and F1 are counted over points, pooled over the set.
 * Point-wise precision / recall / F1 (every point on its own, no adjustment) are given next to it.
 *
 * Synthetic streams keep their incident-level evaluation (`evaluate`): incidents are opened by the
 * stream processor's hysteresis and matched to labelled windows.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { DEFAULT_HYSTERESIS, IncidentTracker } from '../../src/detect/incidents.ts';

export interface Window {
  start: number;
  end: number;
}

// ---------------------------------------------------------------------------------------------
// Real labelled series, AIOps rule

export interface LabelledSeries {
  name: string;
  /** Epoch ms. */
  t: Float64Array;
  x: Float64Array;
  label: Uint8Array;
}

/** Reads a `timestamp,value,label` CSV (timestamps in epoch seconds, ms or ISO 8601). */
export function loadLabelledCsv(path: string, parseTime: (text: string) => number): LabelledSeries {
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  const head = lines[0]!.split(',').map((c) => c.trim().toLowerCase());
  const [ti, vi, li] = ['timestamp', 'value', 'label'].map((c) => head.indexOf(c));
  if (ti! < 0 || vi! < 0 || li! < 0) throw new Error(`${path}: the header must name timestamp, value and label`);
  const n = lines.length - 1;
  const t = new Float64Array(n);
  const x = new Float64Array(n);
  const label = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const cells = lines[i + 1]!.split(',');
    t[i] = parseTime(cells[ti!]!);
    x[i] = Number(cells[vi!]);
    label[i] = Number(cells[li!]) === 1 ? 1 : 0;
  }
  return { name: basename(path, '.csv'), t, x, label };
}

/** Maximal runs of label 1 in [from, to). */
export function segmentsOf(label: Uint8Array, from = 0, to = label.length): Window[] {
  const out: Window[] = [];
  for (let i = from; i < to; i++) {
    if (label[i] !== 1) continue;
    const start = i;
    while (i < to && label[i] === 1) i++;
    out.push({ start, end: i });
  }
  return out;
}

/**
 * The index where the held-out half of a series begins: its middle, moved forward past any
 * labelled segment there, so no segment is split between the halves.
 */
export function heldOutStart(label: Uint8Array): number {
  let mid = Math.floor(label.length / 2);
  while (mid < label.length && label[mid] === 1) mid++;
  return mid;
}

/**
 * What the AIOps rule needs of one scored range, for any threshold: each segment's length and
 * the highest score on its first delay+1 points, and the scores of the unlabelled points (sorted).
 */
export interface RangeSummary {
  segLength: number[];
  segMax: number[];
  /** Ascending. */
  normal: Float64Array;
  anomalousPoints: number;
  /** Scores of labelled points (ascending), for point-wise recall. */
  anomalous: Float64Array;
}

export function summarise(
  scores: ArrayLike<number>,
  label: Uint8Array,
  from = 0,
  to = label.length,
  delay = 7,
): RangeSummary {
  const segs = segmentsOf(label, from, to);
  const segMax = segs.map((s) => {
    let m = Number.NEGATIVE_INFINITY;
    for (let i = s.start; i < Math.min(s.end, s.start + delay + 1); i++) m = Math.max(m, scores[i]!);
    return m;
  });
  const normal: number[] = [];
  const anomalous: number[] = [];
  for (let i = from; i < to; i++) (label[i] === 1 ? anomalous : normal).push(scores[i]!);
  return {
    segLength: segs.map((s) => s.end - s.start),
    segMax,
    normal: Float64Array.from(normal).sort(),
    anomalousPoints: anomalous.length,
    anomalous: Float64Array.from(anomalous).sort(),
  };
}

/** Number of values >= threshold in an ascending array. */
function countAtLeast(sorted: Float64Array, threshold: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < threshold) lo = mid + 1;
    else hi = mid;
  }
  return sorted.length - lo;
}

export interface Counts {
  tp: number;
  fp: number;
  fn: number;
}

export interface Prf {
  precision: number;
  recall: number;
  f1: number;
}

export function prf(c: Counts): Prf {
  const precision = c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : 0;
  const recall = c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : 0;
  return { precision, recall, f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0 };
}

/** AIOps-rule counts (points, after segment adjustment) at a threshold. */
export function eventCounts(summaries: RangeSummary[], threshold: number): Counts {
  const c = { tp: 0, fp: 0, fn: 0 };
  for (const s of summaries) {
    for (let k = 0; k < s.segMax.length; k++) {
      if (s.segMax[k]! >= threshold) c.tp += s.segLength[k]!;
      else c.fn += s.segLength[k]!;
    }
    c.fp += countAtLeast(s.normal, threshold);
  }
  return c;
}

/** Point-wise counts (no adjustment) at a threshold. */
export function pointCounts(summaries: RangeSummary[], threshold: number): Counts {
  const c = { tp: 0, fp: 0, fn: 0 };
  for (const s of summaries) {
    const hit = countAtLeast(s.anomalous, threshold);
    c.tp += hit;
    c.fn += s.anomalousPoints - hit;
    c.fp += countAtLeast(s.normal, threshold);
  }
  return c;
}

/**
 * The one threshold with the best pooled AIOps-rule F1 over a set of ranges. Only the segments'
 * scores need trying: between two of them, a higher threshold finds the same segments with fewer
 * false positives. Among equal F1s the highest threshold wins (fewest alerts).
 */
export function bestEventThreshold(summaries: RangeSummary[]): { threshold: number; f1: number } {
  const candidates = [...new Set(summaries.flatMap((s) => s.segMax.filter(Number.isFinite)))].sort((a, b) => b - a);
  let best = { threshold: Number.POSITIVE_INFINITY, f1: 0 };
  for (const th of candidates) {
    const f1 = prf(eventCounts(summaries, th)).f1;
    if (f1 > best.f1) best = { threshold: th, f1 };
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Synthetic streams: incidents against labelled windows

export interface EventStats {
  labels: number;
  detected: number;
  incidents: number;
  truePositives: number;
  /** Time to detect of each detected label: samples and ms. */
  delaysSamples: number[];
  delaysMs: number[];
  samples: number;
}

export const emptyStats = (): EventStats => ({
  labels: 0,
  detected: 0,
  incidents: 0,
  truePositives: 0,
  delaysSamples: [],
  delaysMs: [],
  samples: 0,
});

const tolerance = (w: Window) => Math.max(6, Math.round((w.end - w.start) / 4));

/** Incident openings (sample indices) of a score series, through the stream processor's hysteresis at an opening threshold. */
export function openings(scores: Float64Array, open = DEFAULT_HYSTERESIS.open): number[] {
  const tracker = new IncidentTracker('eval', {
    ...DEFAULT_HYSTERESIS,
    open,
    close: Math.min(DEFAULT_HYSTERESIS.close, 0.6 * open),
  });
  const out: number[] = [];
  for (let i = 0; i < scores.length; i++) if (tracker.observe(i, scores[i]!, 0, '') === 'OPEN') out.push(i);
  return out;
}

/**
 * - A label is detected if an incident opens inside [start, end + tolerance), tolerance =
 *   max(6 samples, a quarter of the label's length): a drift or variance change may show only
 *   after it has built up.
 * - An incident is a true positive if it opens inside some label's window, else a false positive.
 * - Time to detect: first opening minus label start, in samples and minutes.
 */
export function evaluate(
  scores: Float64Array,
  t: Float64Array,
  labels: Window[],
  into: EventStats,
  open = DEFAULT_HYSTERESIS.open,
): EventStats {
  const opens = openings(scores, open);
  into.samples += scores.length;
  into.labels += labels.length;
  into.incidents += opens.length;
  for (const o of opens) if (labels.some((l) => o >= l.start && o < l.end + tolerance(l))) into.truePositives++;
  for (const l of labels) {
    const first = opens.find((o) => o >= l.start && o < l.end + tolerance(l));
    if (first === undefined) continue;
    into.detected++;
    into.delaysSamples.push(first - l.start);
    into.delaysMs.push(t[first]! - t[l.start]!);
  }
  return into;
}

/** F1 of incidents (precision: incidents that hit a label; recall: labels hit). */
export function incidentF1(s: EventStats): number {
  const p = s.incidents ? s.truePositives / s.incidents : 0;
  const r = s.labels ? s.detected / s.labels : 0;
  return p + r > 0 ? (2 * p * r) / (p + r) : 0;
}

export function median(values: number[]): number {
  if (!values.length) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

/** Classic baseline: |x - mean| / std over the previous `window` samples; score |z| / 6 (0.5 at 3 sigma). */
export function rollingZScores(x: Float64Array, window = 100): Float64Array {
  const out = new Float64Array(x.length);
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < x.length; i++) {
    const n = Math.min(i, window);
    if (n >= 10) {
      const mean = sum / n;
      const sd = Math.sqrt(Math.max(0, sumSq / n - mean * mean));
      out[i] = sd > 0 ? Math.min(1, Math.abs(x[i]! - mean) / sd / 6) : x[i] === mean ? 0 : 1;
    }
    sum += x[i]!;
    sumSq += x[i]! * x[i]!;
    if (i >= window) {
      sum -= x[i - window]!;
      sumSq -= x[i - window]! * x[i - window]!;
    }
  }
  return out;
}
