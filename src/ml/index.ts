/** NeuroWeaver: training on replayed streams, tuning, live training metrics, versioned models. See docs/neuroweaver.md. */

export { HyperparametersSchema } from './api-schemas.js';
export { type BackendName, type TensorflowRuntime, type TF, tensorflow } from './backend.js';
export {
  type ChampionFollower,
  type ChampionListener,
  followChampion,
  type RetrainAnswer,
  RetrainFailed,
  type RetrainOptions,
  RetrainTimedOut,
  RetrainUnanswered,
  requestRetraining,
} from './client.js';
export {
  type AnyModelKind,
  type Hyperparameters,
  MODEL_KINDS,
  type ModelKind,
  modelKind,
  parseFlatRow,
  RowError,
  type SearchSpace,
} from './kinds/index.js';
export {
  type RoutingActivation,
  type RoutingFeatureName,
  type RoutingModelMetadata,
  routingContract,
  type Scaler,
} from './kinds/routing-contract.js';
export { mlp } from './network.js';
export { createNeuroWeaver, NeuroWeaver } from './service.js';
export { syntheticRows, syntheticSamples } from './synthetic.js';
export type { TuneBudget } from './tuner.js';
