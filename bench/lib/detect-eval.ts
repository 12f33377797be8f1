/**
 * Event-level evaluation of a score stream against labeled windows: the incidents a detector
 * opens (through the same hysteresis as the stream processor) are matched to labels.
 *
 * - A label is detected if an incident opens inside [start, end + tolerance), tolerance =
 *   max(6 samples, a quarter of the label's length): a drift or variance change may show only
 *   after it has built up.
 * - An incident is a true positive if it opens inside some label's window, else a false positive.
 * - Time to detect: first opening minus label start, in samples and minutes.
 */
import { DEFAULT_HYSTERESIS, IncidentTracker } from '../../src/detect/incidents.ts';

export interface Window {
  start: number;
  end: number;
}

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

/** Incident openings (sample indices) of a score series. */
export function openings(scores: Float64Array): number[] {
  const tracker = new IncidentTracker('eval', DEFAULT_HYSTERESIS);
  const out: number[] = [];
  for (let i = 0; i < scores.length; i++) if (tracker.observe(i, scores[i]!, 0, '') === 'OPEN') out.push(i);
  return out;
}

export function evaluate(scores: Float64Array, t: Float64Array, labels: Window[], into: EventStats): EventStats {
  const opens = openings(scores);
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
