/**
 * Synthetic metric samples with a realistic, nonlinear performance_score, for tests, benchmarks
 * and demos. One hidden load level per sample drives everything, as in a real service:
 * - cpu_usage follows the load (5-95 %), memory_usage follows cpu loosely;
 * - request_count is log-normal around a load-dependent rate;
 * - network_latency is a queueing curve, base / (1 - utilisation), with log-normal noise, so it
 *   explodes as cpu nears saturation;
 * - error_rate is near zero until cpu passes 85 % or memory 90 %, then climbs.
 * performance_score (0-1) = 1 - a latency penalty (a sigmoid around 250 ms) - an error penalty
 * (saturating in error_rate) - a quadratic cpu penalty above 75 % - a memory-pressure penalty
 * above 85 %, plus Gaussian noise (sd `noise`, default 0.02), clamped to [0, 1]. The thresholds
 * make it nonlinear, so a linear model cannot fit it; the noise floor is the best any model can do.
 * `shift` subtracts a constant from every score (a regime change, for drift tests).
 */
import type { MetricSampleInput } from '../../schemas/types.ts';
import { gaussian, seededRandom } from './stats.ts';

export interface SyntheticOptions {
  seed?: number;
  noise?: number;
  shift?: number;
  /** Sample timestamps: start, then one every `stepMs`. */
  start?: number;
  stepMs?: number;
  services?: string[];
}

export function syntheticSamples(count: number, opts: SyntheticOptions = {}): MetricSampleInput[] {
  const random = seededRandom(opts.seed ?? 1);
  const services = opts.services ?? ['checkout', 'search', 'payments'];
  const start = opts.start ?? Date.now() - count * (opts.stepMs ?? 1000);
  return Array.from({ length: count }, (_, i) => {
    const m = sampleMetrics(random);
    const score = performanceScore(m) - (opts.shift ?? 0) + gaussian(random) * (opts.noise ?? 0.02);
    return {
      service: services[i % services.length]!,
      timestamp: start + i * (opts.stepMs ?? 1000),
      ...m,
      performance_score: clamp(score, 0, 1),
    };
  });
}

/** Training rows (the request-body form) of the same generator. */
export function syntheticRows(count: number, opts: SyntheticOptions = {}) {
  return syntheticSamples(count, opts).map(
    ({ cpu_usage, memory_usage, network_latency, error_rate, request_count, performance_score }) => ({
      cpu_usage,
      memory_usage,
      network_latency,
      error_rate,
      request_count,
      performance_score: performance_score as number,
    }),
  );
}

/**
 * The documented training rows (examples/performance-train.json, the OpenAPI example): rows of this
 * generator with little noise, rounded. On 1000 of them a first model beats the linear baseline;
 * the 50 of the OpenAPI example are the fewest the API takes and usually do not.
 */
export function exampleTrainingRows(count: number) {
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return syntheticRows(count, { seed: 7, noise: 0.005 }).map((row) =>
    Object.fromEntries(Object.entries(row).map(([k, v]) => [k, round(v)])),
  );
}

function sampleMetrics(random: () => number) {
  const load = Math.min(1, Math.max(0, (random() + random() + random()) / 3 + gaussian(random) * 0.15));
  const cpu = clamp(5 + 90 * load + gaussian(random) * 4, 1, 99.5);
  const memory = clamp(30 + 0.5 * cpu + gaussian(random) * 8, 5, 99.5);
  const requests = Math.exp(Math.log(300 + 3000 * load) + gaussian(random) * 0.3);
  const utilisation = Math.min(0.97, cpu / 100);
  const latency = (20 / (1 - utilisation)) * Math.exp(gaussian(random) * 0.25);
  const errors = clamp(
    0.2 + Math.max(0, cpu - 85) * 0.6 + Math.max(0, memory - 90) * 0.8 + -Math.log(Math.max(random(), 1e-9)) * 0.3,
    0,
    100,
  );
  return {
    cpu_usage: round(cpu),
    memory_usage: round(memory),
    network_latency: round(latency),
    error_rate: round(errors),
    request_count: Math.round(requests),
  };
}

/** The noiseless score of a set of metrics. */
export function performanceScore(m: {
  cpu_usage: number;
  memory_usage: number;
  network_latency: number;
  error_rate: number;
}): number {
  const latencyPenalty = 0.35 / (1 + Math.exp(-(m.network_latency - 250) / 50));
  const errorPenalty = 0.3 * (1 - Math.exp(-m.error_rate / 2));
  const cpuPenalty = (0.15 * Math.max(0, m.cpu_usage - 75) ** 2) / 625;
  const memoryPenalty = (0.1 * Math.max(0, m.memory_usage - 85)) / 15;
  return 1 - latencyPenalty - errorPenalty - cpuPenalty - memoryPenalty;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const round = (v: number) => Math.round(v * 100) / 100;
