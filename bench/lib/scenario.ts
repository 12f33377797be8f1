/**
 * Routing scenarios: a JSON file describes endpoints whose behaviour changes over time, and the
 * load; `bench/scenarios/README.md` documents the format. New scenarios need no code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Random } from '../../src/timeseries/random.ts';

export interface Phase {
  /** Seconds from the start (within the cycle, with repeatEveryS) when this phase begins. */
  atS: number;
  /** Seconds over which the values move linearly from the previous phase's to these (0: at once). */
  rampS?: number;
  /** Median service time, ms (log-normal). */
  latencyMs: number;
  /** Log-normal sigma of the service time. */
  jitter?: number;
  /** Probability that a request fails. */
  errorRate?: number;
  /** Time to answer a failing request, ms; absent: as long as a success (a slow failure). */
  errorLatencyMs?: number;
  /** Probability that a request hits a pause (a GC-like stall): its service time is multiplied by pauseFactor. */
  pauseRate?: number;
  pauseFactor?: number;
}

export interface ScenarioEndpoint {
  id: string;
  /** Requests served at once; more wait in a queue (so overload shows as latency). */
  capacity?: number;
  /** HTTP status of a failure. */
  errorStatus?: number;
  /** Phases repeat with this period (flapping). */
  repeatEveryS?: number;
  /** A capacity cliff: a request that starts while this many or more are in service takes cliffLatencyMs. */
  cliffAt?: number;
  cliffLatencyMs?: number;
  phases: Phase[];
}

export interface Scenario {
  name: string;
  description: string;
  durationS: number;
  /** Messages per second from `atS` on. */
  load: { atS: number; ratePerS: number }[];
  payloadBytes?: number;
  /** Distinct ordering keys (0: no key, no ordering constraint). */
  keys?: number;
  route: { maxAttempts?: number; timeoutMs?: number; settings?: Record<string, string | number> };
  endpoints: ScenarioEndpoint[];
  /** Policies run on it (default: all); a scenario that checks RelayCore itself rather than the policies names one. */
  policies?: string[];
  /** Its round-robin runs are training data for the learned policy (default true). */
  train?: boolean;
}

function fail(file: string, field: string, message: string): never {
  throw new Error(`scenario ${file}: ${field} ${message}`);
}

export function validateScenario(raw: unknown, file: string): Scenario {
  const s = raw as Scenario;
  if (typeof s !== 'object' || !s) fail(file, '(root)', 'must be an object');
  if (typeof s.name !== 'string' || !/^[a-z0-9-]+$/.test(s.name))
    fail(file, 'name', 'must be lowercase letters, digits and -');
  if (!(s.durationS > 0)) fail(file, 'durationS', 'must be a positive number');
  if (!Array.isArray(s.load) || !s.load.length || s.load.some((l) => !(l.atS >= 0) || !(l.ratePerS > 0)))
    fail(file, 'load', 'must be [{atS >= 0, ratePerS > 0}, ...]');
  if (!Array.isArray(s.endpoints) || s.endpoints.length < 2)
    fail(file, 'endpoints', 'must list at least two endpoints');
  s.endpoints.forEach((e, i) => {
    if (typeof e.id !== 'string' || !e.id) fail(file, `endpoints.${i}.id`, 'must be a string');
    if (!Array.isArray(e.phases) || !e.phases.length) fail(file, `endpoints.${i}.phases`, 'must be a non-empty array');
    e.phases.forEach((p, j) => {
      if (!(p.atS >= 0)) fail(file, `endpoints.${i}.phases.${j}.atS`, 'must be >= 0');
      if (!(p.latencyMs > 0)) fail(file, `endpoints.${i}.phases.${j}.latencyMs`, 'must be > 0');
      if (p.errorRate !== undefined && !(p.errorRate >= 0 && p.errorRate <= 1))
        fail(file, `endpoints.${i}.phases.${j}.errorRate`, 'must be from 0 to 1');
      if (p.pauseRate !== undefined && !(p.pauseRate >= 0 && p.pauseRate <= 1))
        fail(file, `endpoints.${i}.phases.${j}.pauseRate`, 'must be from 0 to 1');
      if (p.pauseFactor !== undefined && !(p.pauseFactor >= 1))
        fail(file, `endpoints.${i}.phases.${j}.pauseFactor`, 'must be >= 1');
    });
    if (e.cliffAt !== undefined && !(Number.isInteger(e.cliffAt) && e.cliffAt >= 1 && e.cliffLatencyMs! > 0))
      fail(file, `endpoints.${i}.cliffAt`, 'must be an integer >= 1, with cliffLatencyMs > 0');
  });
  return s;
}

export function loadScenarios(dir: URL, only?: string[]): Scenario[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => validateScenario(JSON.parse(readFileSync(new URL(f, dir), 'utf8')), f))
    .filter((s) => !only?.length || only.some((o) => s.name.includes(o)));
}

/** The endpoint's behaviour `tS` seconds into the run. */
export function behaviourAt(
  e: ScenarioEndpoint,
  tS: number,
): Required<Omit<Phase, 'atS' | 'rampS' | 'errorLatencyMs'>> & { errorLatencyMs: number | null } {
  const t = e.repeatEveryS ? tS % e.repeatEveryS : tS;
  let prev = e.phases[0]!;
  let cur = e.phases[0]!;
  for (const p of e.phases)
    if (p.atS <= t) {
      prev = cur;
      cur = p;
    }
  const k = cur.rampS && cur !== prev ? Math.min(1, (t - cur.atS) / cur.rampS) : 1;
  const mix = (a: number, b: number) => a + (b - a) * k;
  return {
    latencyMs: Math.exp(mix(Math.log(prev.latencyMs), Math.log(cur.latencyMs))),
    jitter: mix(prev.jitter ?? 0.25, cur.jitter ?? 0.25),
    errorRate: mix(prev.errorRate ?? 0, cur.errorRate ?? 0),
    errorLatencyMs: cur.errorLatencyMs ?? null,
    pauseRate: cur.pauseRate ?? 0,
    pauseFactor: cur.pauseFactor ?? 1,
  };
}

export function rateAt(s: Scenario, tS: number): number {
  let rate = s.load[0]!.ratePerS;
  for (const l of s.load) if (l.atS <= tS) rate = l.ratePerS;
  return rate;
}

/** Deterministic uniform draws, so a seed replays the same endpoint behaviour. */
export function prng(seed: number): () => number {
  const random = new Random(seed);
  return () => random.next();
}

/** Standard normal from two uniforms (Box-Muller). */
export function normal(rnd: () => number): number {
  return Math.sqrt(-2 * Math.log(Math.max(rnd(), 1e-12))) * Math.cos(2 * Math.PI * rnd());
}
