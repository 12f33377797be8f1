/** NeuroWeaver: training on replayed streams, tuning, live training metrics, versioned models. See docs/neuroweaver.md. */
export { createNeuroWeaver, NeuroWeaver } from './service.js';
export { MODEL_KINDS, modelKind, parseFlatRow, RowError, type AnyModelKind, type Hyperparameters, type ModelKind, type SearchSpace } from './kinds/index.js';
export { mlp } from './network.js';
export { syntheticRows, syntheticSamples } from './synthetic.js';
export { tensorflow, type BackendName, type TensorflowRuntime } from './backend.js';
