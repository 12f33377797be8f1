/** NeuroWeaver: training on replayed streams, tuning, live training metrics, versioned models. See docs/neuroweaver.md. */

export { HyperparametersSchema } from './api-schemas.ts';
export { type BackendName, type TensorflowRuntime, type TF, tensorflow } from './backend.ts';
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
} from './client.ts';
export {
  type AnyModelKind,
  type Hyperparameters,
  MODEL_KINDS,
  type ModelKind,
  modelKind,
  parseFlatRow,
  RowError,
  type SearchSpace,
} from './kinds/index.ts';
export {
  type RoutingActivation,
  type RoutingFeatureName,
  type RoutingModelMetadata,
  routingContract,
  type Scaler,
} from './kinds/routing-contract.ts';
export { mlp } from './network.ts';
export { createNeuroWeaver, NeuroWeaver } from './service.ts';
export { syntheticRows, syntheticSamples } from './synthetic.ts';
export type { TuneBudget } from './tuner.ts';
