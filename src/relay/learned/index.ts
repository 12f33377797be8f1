/**
 * The routing model on RelayCore's side: live features, loading a champion's artifacts, batched
 * inference. NeuroWeaver's `routing` kind trains it; the contract between the two (feature names,
 * artifact layout) is `routingContract` of src/shared/routing-contract.ts.
 *
 *   routingModel.featureNames                     // what every DeliveryOutcome's `features` holds
 *   routingModel.artifacts                        // layer names, latency transform, model.json metadata
 *   const scorer = await routingModel.load(dir);  // → RoutingScorer
 *   scorer.predict(rows, count)                   // batched: latency ms, failure probability
 */

import { routingContract } from '../../shared/index.ts';
import { FEATURE_NAMES, FEATURE_VERSION } from './features.ts';
import { load } from './model.ts';

export const routingModel = {
  name: routingContract.name,
  featureNames: FEATURE_NAMES,
  featureVersion: FEATURE_VERSION,
  artifacts: routingContract.artifacts,
  load,
};

export type { RoutingModelMetadata, Scaler } from '../../shared/index.ts';
export { FEATURE_NAMES, FEATURE_VERSION, type FeatureName } from './features.ts';
export type { Prediction, RoutingScorer } from './policy.ts';
