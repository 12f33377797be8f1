/**
 * The routing model's input, computed here from RelayCore's live endpoint statistics: one row per
 * (message, candidate endpoint), in the order of FEATURE_NAMES. The same numbers go into each
 * DeliveryOutcome's `featureValues` (with `featureVersion`), so the outcome stream is the training
 * set. The list and its version are the contract with NeuroWeaver's `routing` kind
 * (`routingContract` of src/shared/routing-contract.ts, where each feature is described): changing it means
 * bumping FEATURE_VERSION there.
 */

import { type RoutingFeatureName, routingContract } from '../../shared/index.ts';
import type { EndpointRuntime } from '../endpoint.ts';
import type { RoutedMessage } from '../policies.ts';

export const FEATURE_VERSION = routingContract.featureVersion;
export const FEATURE_NAMES = routingContract.featureNames;
export type FeatureName = RoutingFeatureName;
export const FEATURE_COUNT = FEATURE_NAMES.length;

const CAP_S = 3600;
const since = (now: number, at: number) => Math.log1p(at ? Math.min(CAP_S, Math.max(0, now - at) / 1000) : CAP_S);

function typeBucket(type: string): number {
  let h = 0;
  for (let i = 0; i < type.length; i++) h = (h * 31 + type.charCodeAt(i)) | 0;
  return Math.abs(h) % 4;
}

/** Writes one row into `out` at `offset` (FEATURE_COUNT numbers). */
export function writeFeatures(
  out: Float32Array | number[],
  offset: number,
  e: EndpointRuntime,
  m: RoutedMessage,
  now: number,
): void {
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
  out[offset + 18] = s.errLast16.value;
  out[offset + 19] = s.errLast64.value;
  out[offset + 20] = s.attempts ? s.latP50.value : fast;
  out[offset + 21] = s.attempts ? s.latP95.value : fast;
  // This attempt would start with the endpoint's current requests in flight, itself the next one.
  out[offset + 22] = Math.log1p(s.inflight);
  out[offset + 23] = s.latByLoad.at(s.inflight + 1) ?? fast;
}

/** The features of one decision in contract order, for its DeliveryOutcome record. */
export function featureValues(e: EndpointRuntime, m: RoutedMessage, now: number): number[] {
  const out = new Array<number>(FEATURE_COUNT);
  writeFeatures(out, 0, e, m, now);
  return out;
}
