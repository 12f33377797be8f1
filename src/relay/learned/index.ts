/**
 * The routing model, for the NeuroWeaver pipeline and for RelayCore:
 *
 *   const examples = routingModel.examplesFromOutcomes(outcomes);   // DeliveryOutcome[] → rows
 *   const trained = await routingModel.train(examples, { epochs: 30 }, (e) => ...);
 *   await routingModel.save(trained, `${MODEL_SAVE_PATH}/routing/${version}`);
 *   const scorer = await routingModel.load(dir);                    // → RoutingScorer
 *   scorer.predict(rows, count)                                     // batched: latency ms, failure probability
 */
import { FEATURE_NAMES, FEATURE_VERSION } from './features.js';
import { DEFAULT_HYPERPARAMETERS, examplesFromOutcomes, latestVersion, load, MODEL_NAME, newVersion, save, train } from './model.js';

export const routingModel = {
  name: MODEL_NAME,
  featureNames: FEATURE_NAMES,
  featureVersion: FEATURE_VERSION,
  defaultHyperparameters: DEFAULT_HYPERPARAMETERS,
  examplesFromOutcomes,
  train,
  save,
  load,
  latestVersion,
  newVersion,
};

export type { EpochLog, RoutingExamples, RoutingHyperparameters, RoutingMetrics, TrainedRoutingModel } from './model.js';
export type { Prediction, RoutingScorer } from './policy.js';
export { FEATURE_NAMES, FEATURE_VERSION } from './features.js';
