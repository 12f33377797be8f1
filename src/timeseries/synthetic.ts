/**
 * The labeled synthetic metric streams of the detector evaluation (docs/detect.md, "Evaluation").
 *
 * A stream is a service-like metric: a base level, an optional daily cycle (with a weekend
 * effect), an optional trend, AR(1) noise that is Gaussian or heavy-tailed (Student-t, 4 dof),
 * sometimes rounded to integers (counts), sampled every `intervalMs` with occasional jitter and
 * gaps. After a clean warm-up week, anomalies of ONE kind are injected at random places at least
 * 1.5 days and 400 samples apart; each has a labeled window [start, end) in sample indices. Everything is drawn
 * from a seeded PRNG, so a seed gives the same stream on every machine.
 */
import { Random } from './random.ts';

export const INJECTED_KINDS = ['spike', 'level_shift', 'drift', 'variance_change', 'seasonality_break'] as const;
export type InjectedKind = (typeof INJECTED_KINDS)[number];

export interface Label {
  kind: InjectedKind;
  /** Sample index where the anomaly begins. */
  start: number;
  /** First sample index after the labeled window. */
  end: number;
}

export interface LabeledStream {
  name: string;
  t: Float64Array;
  x: Float64Array;
  labels: Label[];
  /** Standard deviation of the noise (marginal), for reference. */
  noiseSigma: number;
  /** The noise's distribution: Gaussian or heavy-tailed (Student-t, 4 dof). */
  noise: 'gaussian' | 'student-t';
}

export interface StreamSpec {
  seed: number;
  /** Kind of anomaly injected, or 'none' for a clean stream. */
  kind: InjectedKind | 'none';
  days?: number;
  intervalMs?: number;
  start?: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Base {
  level: number;
  amplitude: number;
  weekend: number;
  trendPerDay: number;
  sigma: number;
  ar: number;
  heavy: boolean;
  integer: boolean;
  phase: number;
}

function drawBase(rng: Random): Base {
  const level = rng.uniform(50, 500);
  const noiseRel = rng.uniform(0.01, 0.05);
  return {
    level,
    amplitude: rng.next() < 0.75 ? level * rng.uniform(0.1, 0.5) : 0,
    weekend: rng.next() < 0.5 ? rng.uniform(0.4, 0.9) : 1,
    trendPerDay: rng.next() < 0.3 ? level * rng.uniform(-0.02, 0.02) : 0,
    sigma: level * noiseRel,
    ar: rng.uniform(0, 0.7),
    heavy: rng.next() < 0.3,
    integer: rng.next() < 0.2 && level * noiseRel > 3,
    phase: rng.uniform(0, 2 * Math.PI),
  };
}

/** The seasonal shape at time t (two harmonics of the day, damped on weekends). */
function season(base: Base, t: number): number {
  if (base.amplitude === 0) return 0;
  const dayPhase = ((t % DAY) / DAY) * 2 * Math.PI + base.phase;
  const dow = Math.floor(t / DAY + 4) % 7; // 1970-01-01 was a Thursday
  const factor = dow === 0 || dow === 6 ? base.weekend : 1;
  return base.amplitude * factor * (Math.sin(dayPhase) + 0.3 * Math.sin(2 * dayPhase + 1));
}

export function generateStream(spec: StreamSpec): LabeledStream {
  const rng = new Random(spec.seed);
  const intervalMs = spec.intervalMs ?? 5 * 60_000;
  const days = spec.days ?? 21;
  const start = spec.start ?? Date.UTC(2026, 0, 5);
  const n = Math.round((days * DAY) / intervalMs);
  const base = drawBase(rng);
  const t = new Float64Array(n);
  const clean = new Float64Array(n);
  const noise = new Float64Array(n);
  const marginal = base.sigma;
  const innovation = marginal * Math.sqrt(1 - base.ar * base.ar);
  let e = 0;
  let clock = start;
  for (let i = 0; i < n; i++) {
    // Jitter of up to 10% of the interval, and now and then a gap of a few intervals.
    clock += intervalMs * (rng.next() < 0.002 ? rng.int(3, 12) : 1) + (rng.next() - 0.5) * 0.2 * intervalMs;
    t[i] = Math.round(clock);
    e = base.ar * e + innovation * (base.heavy ? rng.studentT(4) : rng.normal());
    noise[i] = e;
    clean[i] = base.level + base.trendPerDay * ((t[i]! - start) / DAY) + season(base, t[i]!);
  }
  const labels = spec.kind === 'none' ? [] : inject(spec.kind, rng, base, t, clean, noise, intervalMs);
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = clean[i]! + noise[i]!;
    x[i] = base.integer ? Math.round(v) : v;
  }
  return {
    name: `${spec.kind}-${spec.seed}`,
    t,
    x,
    labels,
    noiseSigma: marginal,
    noise: base.heavy ? 'student-t' : 'gaussian',
  };
}

function inject(
  kind: InjectedKind,
  rng: Random,
  base: Base,
  t: Float64Array,
  clean: Float64Array,
  noise: Float64Array,
  intervalMs: number,
): Label[] {
  const perHour = HOUR / intervalMs;
  const labels: Label[] = [];
  const warm = Math.round((7 * DAY) / intervalMs);
  // At least 1.5 days and 400 samples apart: models adapt per sample, so sparse cadences need room too.
  const spacing = Math.max(400, Math.round((1.5 * DAY) / intervalMs));
  let at = warm + rng.int(0, spacing);
  while (at < t.length - spacing / 2) {
    const label = injectOne(kind, rng, base, t, clean, noise, at, perHour);
    if (label) labels.push(label);
    at = (label?.end ?? at) + spacing + rng.int(0, spacing);
  }
  return labels;
}

function injectOne(
  kind: InjectedKind,
  rng: Random,
  base: Base,
  t: Float64Array,
  clean: Float64Array,
  noise: Float64Array,
  at: number,
  perHour: number,
): Label | undefined {
  const sigma = base.sigma;
  const sign = rng.next() < 0.5 ? -1 : 1;
  const n = t.length;
  switch (kind) {
    case 'spike': {
      const len = rng.int(1, 3);
      const size = sign * rng.uniform(6, 12) * sigma;
      for (let i = at; i < Math.min(n, at + len); i++) clean[i] = clean[i]! + size;
      return { kind, start: at, end: Math.min(n, at + len) };
    }
    case 'level_shift': {
      const size = sign * rng.uniform(4, 8) * sigma;
      for (let i = at; i < n; i++) clean[i] = clean[i]! + size;
      return { kind, start: at, end: Math.min(n, at + Math.round(perHour)) };
    }
    case 'drift': {
      const len = Math.round(rng.uniform(6, 24) * perHour);
      const size = sign * rng.uniform(8, 15) * sigma;
      for (let i = at; i < n; i++) clean[i] = clean[i]! + size * Math.min(1, (i - at + 1) / len);
      return { kind, start: at, end: Math.min(n, at + len) };
    }
    case 'variance_change': {
      const len = Math.round(rng.uniform(2, 8) * perHour);
      const factor = rng.next() < 0.3 ? 0.05 : rng.uniform(3, 5);
      for (let i = at; i < Math.min(n, at + len); i++) noise[i] = noise[i]! * factor;
      return { kind, start: at, end: Math.min(n, at + len) };
    }
    case 'seasonality_break': {
      if (base.amplitude < 5 * sigma) return undefined;
      const len = Math.round(rng.uniform(6, 24) * perHour);
      const flat = rng.next() < 0.5;
      const shift = rng.uniform(6, 12) * HOUR;
      for (let i = at; i < Math.min(n, at + len); i++) {
        const s = season(base, t[i]!);
        clean[i] = clean[i]! - s + (flat ? 0 : season(base, t[i]! + shift));
      }
      return { kind, start: at, end: Math.min(n, at + len) };
    }
  }
}

/** A stream with a seasonal cycle strong enough for the seasonality-break kind (redraws the seed until it is). */
export function streamsOf(
  kind: InjectedKind | 'none',
  count: number,
  firstSeed: number,
  opts: Omit<StreamSpec, 'seed' | 'kind'> = {},
): LabeledStream[] {
  const out: LabeledStream[] = [];
  for (let seed = firstSeed; out.length < count; seed++) {
    const s = generateStream({ seed, kind, ...opts });
    if (kind === 'none' || s.labels.length) out.push(s);
  }
  return out;
}
