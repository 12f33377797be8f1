/**
 * Simulated services for the failure-prediction benchmark (fixed seeds). Each service has a
 * daily load cycle, a number of replicas and a per-replica capacity; latency follows a queueing
 * curve of utilisation (base / (1 - u)), errors appear near and past saturation. Incidents come
 * from four causes, three with precursors and one without:
 * - overload: load ramps up over 1-3 h past capacity;
 * - memory leak: memory climbs over 2-6 h, then errors when it is nearly full;
 * - slow dependency: latency creeps up over 1-3 h, then errors;
 * - sudden failure: an error burst out of nowhere (no model can see it coming).
 */
import type { MetricSample } from '../../schemas/types.ts';
import { Random } from '../../src/timeseries/random.ts';

const MIN = 60_000;
const DAY = 1440 * MIN;

interface Episode {
  kind: 'overload' | 'leak' | 'dependency' | 'sudden';
  start: number;
  ramp: number;
  hold: number;
}

export function simulateService(
  seed: number,
  days: number,
  intervalMs = 5 * MIN,
  start = Date.UTC(2026, 0, 5),
): MetricSample[] {
  const rng = new Random(seed);
  const service = `svc-${seed}`;
  const replicas = rng.int(2, 6);
  const capacity = rng.uniform(50, 200);
  const peakUtil = rng.uniform(0.45, 0.75);
  const baseLatency = rng.uniform(40, 120);
  const n = Math.round((days * DAY) / intervalMs);
  const episodes = drawEpisodes(rng, n, intervalMs);
  const out: MetricSample[] = [];
  let leak = 0;
  let noise = 0;
  for (let i = 0; i < n; i++) {
    const t = start + i * intervalMs;
    const day = 0.5 + 0.5 * Math.sin(((t % DAY) / DAY) * 2 * Math.PI - Math.PI / 2);
    noise = 0.7 * noise + 0.05 * rng.normal();
    let load = replicas * capacity * peakUtil * (0.4 + 0.6 * day) * (1 + noise);
    let latencyExtra = 0;
    let errorExtra = 0;
    let memory = 45 + 10 * day + rng.normal();
    for (const e of episodes) {
      const k = i - e.start;
      if (k < 0 || k >= e.ramp + e.hold) continue;
      const p = Math.min(1, (k + 1) / e.ramp);
      if (e.kind === 'overload') load *= 1 + p * (1 / peakUtil);
      if (e.kind === 'leak') leak = Math.max(leak, 50 * p);
      if (e.kind === 'dependency') latencyExtra += p * baseLatency * 6;
      if (e.kind === 'sudden' && k >= e.ramp) errorExtra += rng.uniform(8, 20);
      if (e.kind === 'dependency' && p >= 1) errorExtra += rng.uniform(3, 10);
    }
    if (!episodes.some((e) => e.kind === 'leak' && i >= e.start && i < e.start + e.ramp + e.hold)) leak *= 0.9;
    memory = Math.min(100, memory + leak);
    const util = load / (replicas * capacity);
    const latency = (baseLatency / Math.max(0.05, 1 - Math.min(util, 0.95))) * (1 + 0.05 * rng.normal()) + latencyExtra;
    const overloadErrors = util > 0.9 ? (util - 0.9) * 60 : 0;
    const leakErrors = memory > 95 ? (memory - 95) * 3 : 0;
    const errorRate = Math.max(0, 0.3 + 0.2 * rng.normal() + overloadErrors + leakErrors + errorExtra);
    out.push({
      service,
      timestamp: t,
      cpu_usage: Math.min(100, 15 + 70 * Math.min(1.2, util) + 2 * rng.normal()),
      memory_usage: memory,
      network_latency: latency,
      error_rate: Math.min(100, errorRate),
      request_count: (load * intervalMs) / 1000,
      performance_score: null,
      replicas,
      extra: {},
    });
  }
  return out;
}

function drawEpisodes(rng: Random, n: number, intervalMs: number): Episode[] {
  const perHour = 3_600_000 / intervalMs;
  const out: Episode[] = [];
  let at = Math.round(perHour * rng.uniform(12, 36));
  while (at < n) {
    const kind = rng.pick(['overload', 'leak', 'dependency', 'sudden'] as const);
    const ramp = Math.round(
      perHour * (kind === 'leak' ? rng.uniform(2, 6) : kind === 'sudden' ? 0.1 : rng.uniform(1, 3)),
    );
    const hold = Math.round(perHour * rng.uniform(0.3, 1.5));
    out.push({ kind, start: at, ramp: Math.max(1, ramp), hold });
    at += ramp + hold + Math.round(perHour * rng.uniform(12, 48));
  }
  return out;
}
