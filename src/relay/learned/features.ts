/**
 * The routing model's input: one row per (message, candidate endpoint), in this order. The same
 * numbers go into each DeliveryOutcome's `features` map by name, so the outcome stream is the
 * training set. Changing the list (names or order) makes saved models unloadable: bump
 * FEATURE_VERSION.
 */
import type { EndpointRuntime } from '../endpoint.js';
import type { RoutedMessage } from '../policies.js';

export const FEATURE_VERSION = 2;

/*
 * Only features whose meaning does not depend on the policy that routed the traffic: the model is
 * trained on outcomes of one policy (say round-robin) and serves another. Version 1 also had the
 * in-flight count, the attempt rate, the decaying peak-EWMA and the times since the last success
 * and observation; under the learned policy an endpoint it avoids shows values of these that the
 * training traffic never did (idle, unobserved), and the model extrapolated them to "healthy".
 * Load is handled by the policy's cost instead.
 */
export const FEATURE_NAMES = [
  'lat_fast_log', // log1p of the 1 s latency EWMA (ms); keeps its last value while unobserved
  'lat_slow_log', // log1p of the 15 s latency EWMA
  'lat_trend', // lat_fast_log - lat_slow_log: rising latency is positive
  'err_fast', // failure share, 2 s EWMA
  'err_slow', // failure share, 20 s EWMA
  'timeout_fast', // timeout share, 2 s EWMA
  'since_failure_log', // log1p seconds since the last failure (capped at 1 h; never = cap)
  'breaker_half_open', // 1 while the breaker waits for its probe
  'weight', // effective weight (configured x orchestrator factor)
  'is_http', // 1 for HTTP, 0 for Kafka endpoints
  'timeout_log', // log1p of the endpoint timeout (ms)
  'payload_log', // log1p of the payload size (bytes)
  'attempt', // 1 for a first attempt, 2 for the first retry, ...
  'measured', // min(1, attempts / 20): how much the statistics can be trusted
  'type_0', // message type, hashed into 4 buckets (one-hot)
  'type_1',
  'type_2',
  'type_3',
] as const;

export type FeatureName = (typeof FEATURE_NAMES)[number];
export const FEATURE_COUNT = FEATURE_NAMES.length;

const CAP_S = 3600;
const since = (now: number, at: number) => Math.log1p(at ? Math.min(CAP_S, Math.max(0, now - at) / 1000) : CAP_S);

function typeBucket(type: string): number {
  let h = 0;
  for (let i = 0; i < type.length; i++) h = (h * 31 + type.charCodeAt(i)) | 0;
  return Math.abs(h) % 4;
}

/** Writes one row into `out` at `offset` (FEATURE_COUNT floats). */
export function writeFeatures(out: Float32Array, offset: number, e: EndpointRuntime, m: RoutedMessage, now: number): void {
  const s = e.stats;
  const fast = Math.log1p(s.latFast.value);
  const slow = Math.log1p(s.latSlow.value);
  out[offset] = fast;
  out[offset + 1] = slow;
  out[offset + 2] = fast - slow;
  out[offset + 3] = s.errFast.value;
  out[offset + 4] = s.errSlow.value;
  out[offset + 5] = s.timeoutFast.value;
  out[offset + 6] = since(now, s.lastFailureAt);
  out[offset + 7] = e.breakerState() === 'half-open' ? 1 : 0;
  out[offset + 8] = e.weight;
  out[offset + 9] = e.endpoint.kind === 'HTTP' ? 1 : 0;
  out[offset + 10] = Math.log1p(e.endpoint.timeoutMs);
  out[offset + 11] = Math.log1p(m.payloadBytes);
  out[offset + 12] = m.attempt;
  out[offset + 13] = Math.min(1, s.attempts / 20);
  const b = typeBucket(m.type);
  for (let i = 0; i < 4; i++) out[offset + 14 + i] = i === b ? 1 : 0;
}

const scratch = new Float32Array(FEATURE_COUNT);

/** The features of one decision, by name, for its DeliveryOutcome record. */
export function featureRecord(e: EndpointRuntime, m: RoutedMessage, now: number): Record<string, number> {
  writeFeatures(scratch, 0, e, m, now);
  const out: Record<string, number> = {};
  for (let i = 0; i < FEATURE_COUNT; i++) out[FEATURE_NAMES[i]!] = scratch[i]!;
  return out;
}
