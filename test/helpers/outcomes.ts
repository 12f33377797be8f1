/** Synthetic delivery outcomes with a learnable pattern: an attempt fails with the square of its endpoint's recent error share, and takes about its recent latency. */
import type { DeliveryOutcome } from '../../schemas/types.ts';
import { seededRandom } from '../../src/ml/stats.ts';
import { routingContract } from '../../src/shared/index.ts';

export function syntheticOutcomes(
  n: number,
  opts: { seed?: number; start?: number; stepMs?: number; route?: string } = {},
): DeliveryOutcome[] {
  const random = seededRandom(opts.seed ?? 7);
  const start = opts.start ?? Date.now() - n * (opts.stepMs ?? 10);
  return Array.from({ length: n }, (_, i) => {
    const errFast = random();
    const recentMs = 5 + random() * 100;
    const features: Record<string, number> = Object.fromEntries(routingContract.featureNames.map((name) => [name, 0]));
    Object.assign(features, {
      lat_fast_log: Math.log1p(recentMs),
      lat_slow_log: Math.log1p(recentMs),
      err_fast: errFast,
      err_slow: errFast,
      weight: 1,
      is_http: 1,
      timeout_log: Math.log1p(2000),
      payload_log: Math.log1p(100),
      attempt: 1,
      measured: 1,
      type_0: 1,
      err_last16: errFast,
      err_last64: errFast,
      lat_p50_log: Math.log1p(recentMs),
      lat_p95_log: Math.log1p(recentMs * 1.5),
      lat_at_load_log: Math.log1p(recentMs),
    });
    const failed = random() < errFast * errFast;
    return {
      messageId: `synthetic-${i}`,
      route: opts.route ?? 'synthetic',
      endpoint: `e${i % 3}`,
      policy: 'round-robin',
      attempt: 1,
      status: i % 50 === 0 ? 'REJECTED' : failed ? 'FAILED' : 'DELIVERED',
      httpStatus: failed ? 503 : 200,
      latencyMs: recentMs * (0.9 + random() * 0.2),
      error: failed ? 'HTTP 503' : null,
      messageType: 'default',
      payloadBytes: 100,
      featureVersion: routingContract.featureVersion,
      featureValues: routingContract.featureNames.map((name) => features[name]!),
      decidedAt: start + i * (opts.stepMs ?? 10),
    } satisfies DeliveryOutcome;
  });
}
