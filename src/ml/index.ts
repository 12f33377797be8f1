/** NeuroWeaver: training on replayed streams, tuning, live training metrics, versioned models. See docs/neuroweaver.md. */
export { createNeuroWeaver, NeuroWeaver } from './service.js';
export { MODEL_KINDS, modelKind, parseFlatRow, RowError, type AnyModelKind, type Hyperparameters, type ModelKind, type SearchSpace } from './kinds/index.js';
export { mlp } from './network.js';
export { syntheticRows, syntheticSamples } from './synthetic.js';
export { tensorflow, type BackendName, type TensorflowRuntime, type TF } from './backend.js';
export { routingContract, type RoutingActivation, type RoutingFeatureName, type RoutingModelMetadata, type Scaler } from './kinds/routing-contract.js';
export { followChampion, requestRetraining, RetrainFailed, RetrainTimedOut, RetrainUnanswered, type ChampionFollower, type ChampionListener, type RetrainAnswer, type RetrainOptions } from './client.js';
export type { TuneBudget } from './tuner.js';
export { HyperparametersSchema } from './api-schemas.js';
