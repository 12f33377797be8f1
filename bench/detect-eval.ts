/**
 * `npm run bench:detect-eval`: precision, recall and time to detect per anomaly kind, for the
 * AutoMatrix detector and a classic rolling z-score, on the labeled synthetic streams
 * (src/timeseries/synthetic.ts, fixed seeds), plus a multivariate set (a broken relationship
 * between metrics) scored by the service detector.
 *
 * `--data DIR` adds labeled CSV files of your own (columns timestamp,value,label with label 1
 * inside anomaly windows), e.g. a local copy of NAB converted to that form: no public labeled
 * corpus can be fetched from the package registries this project builds from.
 * `--streams N` streams per kind (default 12); `--half H` the evidence at score 0.5 (DETECT_SCORE_HALF);
 * `--interval-min M --days D` another cadence (default 5 min, 21 days; the multivariate set stays at 5 min).
 * The RESULT is written for the default run only when no option changes the set.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTimestamp } from '../src/detect/csv.ts';
import { ServiceDetector } from '../src/detect/service.ts';
import { DEFAULT_SETTINGS, UnivariateDetector } from '../src/detect/univariate.ts';
import { Random } from '../src/timeseries/random.ts';
import { INJECTED_KINDS, streamsOf } from '../src/timeseries/synthetic.ts';
import { type EventStats, emptyStats, evaluate, median, rollingZScores, type Window } from './lib/detect-eval.ts';
import { table, writeResult } from './lib/result.ts';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const STREAMS = Number(arg('--streams') ?? 12);
const DATA = arg('--data');
const SETTINGS = { ...DEFAULT_SETTINGS, scoreHalf: Number(arg('--half') ?? DEFAULT_SETTINGS.scoreHalf) };
const INTERVAL_MIN = Number(arg('--interval-min') ?? 5);
const DAYS = Number(arg('--days') ?? 21);
const KIND_SEED: Record<string, number> = {
  spike: 1000,
  level_shift: 2000,
  drift: 3000,
  variance_change: 4000,
  seasonality_break: 5000,
  none: 6000,
};

interface Series {
  t: Float64Array;
  x: Float64Array;
  labels: Window[];
}

function scoreOurs(s: Series): Float64Array {
  const d = new UnivariateDetector(SETTINGS);
  const out = new Float64Array(s.x.length);
  for (let i = 0; i < s.x.length; i++) out[i] = d.update(s.t[i]!, s.x[i]!);
  return out;
}

/** Three metrics driven by one load: requests, CPU (follows load) and latency. The anomaly: CPU rises by 2-3 sigma while load does not. */
function multivariateStreams(count: number, seed: number): { t: Float64Array; m: Float64Array[]; labels: Window[] }[] {
  const out = [];
  for (let k = 0; k < count; k++) {
    const rng = new Random(seed + k);
    const n = 21 * 288;
    const t = new Float64Array(n);
    const m = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
    const labels: Window[] = [];
    let at = 7 * 288 + rng.int(0, 400);
    const marks = new Set<number>();
    while (at < n - 300) {
      const len = rng.int(12, 48);
      labels.push({ start: at, end: at + len });
      for (let i = at; i < at + len; i++) marks.add(i);
      at += len + 432 + rng.int(0, 432);
    }
    const base = rng.uniform(200, 2000);
    let load = 0;
    const shift = rng.uniform(2, 3);
    for (let i = 0; i < n; i++) {
      t[i] = Date.UTC(2026, 0, 5) + i * 300_000;
      const day = Math.sin(((t[i]! % 86_400_000) / 86_400_000) * 2 * Math.PI);
      load = 0.6 * load + rng.normal() * 0.05 * base;
      const requests = base * (1 + 0.4 * day) + load;
      const cpuNoise = rng.normal() * 0.6;
      m[0]![i] = requests;
      m[1]![i] = 10 + (50 * requests) / base + cpuNoise + (marks.has(i) ? shift * 0.6 * 4 : 0);
      m[2]![i] = 40 + (20 * requests) / base + rng.normal() * 2;
    }
    out.push({ t, m, labels });
  }
  return out;
}

function loadExternal(dir: string): Series[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.csv'))
    .map((f) => {
      const lines = readFileSync(join(dir, f), 'utf8').trim().split('\n');
      const head = lines[0]!.split(',').map((c) => c.trim().toLowerCase());
      const [ti, vi, li] = ['timestamp', 'value', 'label'].map((c) => head.indexOf(c));
      const rows = lines.slice(1).map((l) => l.split(','));
      const t = Float64Array.from(rows.map((r) => parseTimestamp(r[ti!]!)));
      const x = Float64Array.from(rows.map((r) => Number(r[vi!])));
      const labels: Window[] = [];
      rows.forEach((r, i) => {
        const on = Number(r[li!]) === 1;
        const last = labels[labels.length - 1];
        if (on && last && last.end === i) last.end = i + 1;
        else if (on) labels.push({ start: i, end: i + 1 });
      });
      return { t, x, labels };
    });
}

interface Row extends Record<string, string | number> {
  kind: string;
}

function row(kind: string, detector: string, s: EventStats, minutesPerSample: number): Row {
  const precision = s.incidents ? s.truePositives / s.incidents : Number.NaN;
  const recall = s.labels ? s.detected / s.labels : Number.NaN;
  return {
    kind,
    detector,
    labels: s.labels,
    incidents: s.incidents,
    precision: Number.isNaN(precision) ? '-' : Number(precision.toFixed(3)),
    recall: Number.isNaN(recall) ? '-' : Number(recall.toFixed(3)),
    f1:
      Number.isNaN(precision) || Number.isNaN(recall) || precision + recall === 0
        ? '-'
        : Number(((2 * precision * recall) / (precision + recall)).toFixed(3)),
    ttd_median_samples: s.delaysSamples.length ? median(s.delaysSamples) : '-',
    ttd_median_min: s.delaysMs.length ? Number((median(s.delaysMs) / 60_000).toFixed(1)) : '-',
    false_alarms_per_10k: Number((((s.incidents - s.truePositives) / s.samples) * 10_000).toFixed(2)),
    _mps: minutesPerSample,
  };
}

const rows: Row[] = [];
for (const kind of [...INJECTED_KINDS, 'none'] as const) {
  const ours = emptyStats();
  const base = emptyStats();
  for (const s of streamsOf(kind, STREAMS, KIND_SEED[kind]!, { intervalMs: INTERVAL_MIN * 60_000, days: DAYS })) {
    evaluate(scoreOurs(s), s.t, s.labels, ours);
    evaluate(rollingZScores(s.x), s.t, s.labels, base);
  }
  rows.push(row(kind, 'automatrix', ours, INTERVAL_MIN), row(kind, 'rolling-z (W=100, 3 sigma)', base, INTERVAL_MIN));
}

{
  const ours = emptyStats();
  const uni = emptyStats();
  const base = emptyStats();
  for (const s of multivariateStreams(STREAMS, 7000)) {
    const sd = new ServiceDetector(4, SETTINGS);
    const slots = ['request_count', 'cpu_usage', 'network_latency'].map((m) => sd.slot(m));
    const scores = new Float64Array(s.t.length);
    const uniScores = new Float64Array(s.t.length);
    for (let i = 0; i < s.t.length; i++) {
      slots.forEach((slot, k) => {
        sd.set(slot, s.m[k]![i]!);
      });
      scores[i] = sd.update(s.t[i]!);
      uniScores[i] = sd.univariateScore;
    }
    evaluate(scores, s.t, s.labels, ours);
    evaluate(uniScores, s.t, s.labels, uni);
    const z = s.m.map((m) => rollingZScores(m));
    evaluate(
      Float64Array.from(z[0]!, (_, i) => Math.max(z[0]![i]!, z[1]![i]!, z[2]![i]!)),
      s.t,
      s.labels,
      base,
    );
  }
  rows.push(
    row('correlation_break', 'automatrix (service)', ours, 5),
    row('correlation_break', 'automatrix (univariate only)', uni, 5),
    row('correlation_break', 'rolling-z (max over metrics)', base, 5),
  );
}

if (DATA) {
  const ours = emptyStats();
  const base = emptyStats();
  for (const s of loadExternal(DATA)) {
    evaluate(scoreOurs(s), s.t, s.labels, ours);
    evaluate(rollingZScores(s.x), s.t, s.labels, base);
  }
  rows.push(
    row(`external (${DATA})`, 'automatrix', ours, 0),
    row(`external (${DATA})`, 'rolling-z (W=100, 3 sigma)', base, 0),
  );
}

const printable = rows.map(({ _mps: _m, ...r }) => r);
console.log(
  `Labeled synthetic streams: ${STREAMS} per kind, ${DAYS} days at ${INTERVAL_MIN} min (${Math.round((DAYS * 1440) / INTERVAL_MIN)} samples), warm-up week clean; seeds fixed.\n`,
);
console.log(table(printable));
const headline: Record<string, Record<string, unknown>> = {};
for (const r of printable) {
  headline[r.kind] ??= {};
  headline[r.kind]![String(r.detector)] = {
    precision: r.precision,
    recall: r.recall,
    ttd_median_min: r.ttd_median_min,
  };
}
writeResult(
  args.length ? 'detect-eval-custom' : 'detect-eval',
  { kinds: headline },
  { rows: printable, streamsPerKind: STREAMS, settings: SETTINGS, intervalMin: INTERVAL_MIN, days: DAYS, args },
);
