import type { MetricSample } from '../../../schemas/types.ts';
import { mlp } from '../network.ts';
import { regressionMetrics } from '../stats.ts';
import { type ModelKind, parseFlatRow } from './types.ts';

export const PERFORMANCE_FEATURES = [
  'cpu_usage',
  'memory_usage',
  'network_latency',
  'error_rate',
  'request_count',
] as const;
export type PerformanceRow = Record<(typeof PERFORMANCE_FEATURES)[number] | 'performance_score', number>;

/** Predicts a service's performance_score (0-1) from its five headline metrics. */
export const performanceKind: ModelKind<PerformanceRow, 'metrics.samples'> = {
  name: 'performance',
  description:
    'performance_score (0-1) of a service from cpu_usage, memory_usage, network_latency, error_rate and request_count',
  source: 'metrics.samples',
  featureNames: PERFORMANCE_FEATURES,
  targetNames: ['performance_score'],
  outputNames: ['performance_score'],
  featureCount: PERFORMANCE_FEATURES.length,
  scaleTargets: true,
  loss: 'meanSquaredError',
  epochMetrics: ['mae'],
  primaryMetric: { name: 'rmse', lowerIsBetter: true },

  fromRecord(value: MetricSample): PerformanceRow | null {
    if (value.performance_score === null) return null;
    const { cpu_usage, memory_usage, network_latency, error_rate, request_count, performance_score } = value;
    return { cpu_usage, memory_usage, network_latency, error_rate, request_count, performance_score };
  },
  parseRequestRow(value, withTarget) {
    return parseFlatRow(value, PERFORMANCE_FEATURES, ['performance_score'], withTarget) as PerformanceRow;
  },
  // Latency and request counts are heavy-tailed: their logarithm is what scales linearly with load.
  features: (r) => [
    r.cpu_usage,
    r.memory_usage,
    Math.log1p(Math.max(0, r.network_latency)),
    r.error_rate,
    Math.log1p(Math.max(0, r.request_count)),
  ],
  targets: (r) => [r.performance_score],
  buildNetwork: mlp,
  evaluate: (predicted, actual) =>
    regressionMetrics(
      predicted.map((p) => [clamp01(p[0]!)]),
      actual,
    ),
  toOutputs: (raw) => ({ performance_score: clamp01(raw[0]!) }),
};

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));
