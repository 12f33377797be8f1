/** NeuroWeaver: training on replayed streams, tuning, live training metrics, versioned models. See docs/neuroweaver.md. */

export { createNeuroWeaver, NeuroWeaver } from './component.ts';
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
export { mlp } from './network.ts';
export { syntheticRows, syntheticSamples } from './synthetic.ts';
export type { TuneBudget } from './tuner.ts';
