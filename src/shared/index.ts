/**
 * The shared library: helpers more than one component needs, none of them a component. Components
 * meet only at typed topics; what they share in code (the TensorFlow runtime used for inference, the
 * routing model's contract, following a champion, the retraining protocol, time parsing) lives here.
 */

export { type ChampionFollower, type ChampionListener, followChampion } from './champion.ts';
export { EvaluationSchema } from './evaluation.ts';
export { HyperparametersSchema } from './hyperparameters.ts';
export { ModelArtifactStore } from './model-artifacts.ts';
export { ModelRegistry, registryKey } from './model-registry.ts';
export {
  type RetrainAnswer,
  RetrainFailed,
  type RetrainOptions,
  RetrainTimedOut,
  RetrainUnanswered,
  requestRetraining,
} from './retrain-client.ts';
export {
  type RoutingActivation,
  type RoutingFeatureName,
  type RoutingModelMetadata,
  routingContract,
  type Scaler,
} from './routing-contract.ts';
export { type BackendChoice, type BackendName, type TensorflowRuntime, type TF, tensorflow } from './tensorflow.ts';
export { parseTime } from './time.ts';
