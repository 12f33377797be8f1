/**
 * What NeuroWeaver needs to know about a kind of model. The pipeline (datasets, splitting,
 * scaling, tuning, versioning, promotion, prediction, drift) is generic; a kind only says how
 * rows become numbers, which network to build and how to judge it. See docs/neuroweaver.md.
 */

import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { Hyperparameters } from '../../../schemas/index.ts';
import type { TopicKey, TopicValue } from '../../../topics/index.ts';
import { AutomatrixError } from '../../errors/index.ts';
import type { TF } from '../../shared/tensorflow.ts';
import type { ModelState } from '../artifacts.ts';

/** The network's hyperparameters: the type of the retraining protocol's record (schemas/retrain-request.avsc). */
export type { Hyperparameters } from '../../../schemas/index.ts';

/** Values a tuner samples from: lists are picked from, ranges are sampled log-uniformly. */
export interface SearchSpace {
  layers: number[];
  units: number[];
  learningRate: [number, number];
  batchSize: number[];
  /** Log-uniform range; with `l2Zero` the tuner also tries no regularisation. */
  l2: [number, number];
  l2Zero: boolean;
  dropout: number[];
  activation: Hyperparameters['activation'][];
}

/** A request row that does not fit: `field` is relative to the row, e.g. `error_rate`. */
export class RowError extends AutomatrixError {
  declare readonly field: string;

  constructor(field: string, message: string) {
    super('row_invalid', message, { field });
  }
}

/** A loss for `model.compile`: a tfjs loss name, or a function of (yTrue, yPred) in scaled target space. */
export type Loss = string | ((tf: TF) => (yTrue: Tensor, yPred: Tensor) => Tensor);

export interface ModelKind<Row = unknown, Source extends TopicKey = TopicKey> {
  /** Model name: the registry key prefix, the artifact folder, the `model` of API requests. */
  readonly name: string;
  readonly description: string;
  /** Topic replayed to build its datasets (retraining replays its recent window). */
  readonly source: Source;
  /** Names of the numeric fields of a request row (predictions), in order. */
  readonly featureNames: readonly string[];
  /** Names of the label fields a training row adds. */
  readonly targetNames: readonly string[];
  /** Names of what a prediction returns (`toOutputs` keys). */
  readonly outputNames: readonly string[];

  /** A labelled training row from a decoded record of `source`, or null when it carries no label. */
  fromRecord(value: TopicValue<Source>, timestamp: number): Row | null;
  /**
   * A row from a request body; throws RowError naming the field that is missing, extra or not a
   * number. `withTarget` is true for training data. Kinds with flat numeric rows use `parseFlatRow`.
   */
  parseRequestRow(value: unknown, withTarget: boolean): Row;

  /**
   * Extra state fitted on the training split only (vocabularies, ...), saved with the model and
   * passed back to `features`. JSON-serialisable. The generic pipeline already standardises the
   * features (and the targets when `scaleTargets`), so most kinds need none.
   */
  fitState?(trainingRows: Row[]): unknown;
  /** The model's input vector for a row (`featureCount` numbers). */
  features(row: Row, state: unknown): number[];
  readonly featureCount: number;
  /** The training target vector of a labelled row. */
  targets(row: Row): number[];
  /** Standardise targets on the training split (and invert it on predictions). */
  readonly scaleTargets: boolean;

  /** The network; `mlp(tf, hp, inputs, outputs)` from src/ml/network.ts suits most kinds. */
  buildNetwork(tf: TF, hp: Hyperparameters, inputs: number, outputs: number): LayersModel;
  readonly loss: Loss;
  /** Extra metrics tfjs logs per epoch (`mae`, ...), in scaled space. */
  readonly epochMetrics: string[];
  /** Narrows or widens the default search space. */
  readonly searchSpace?: Partial<SearchSpace>;

  /** Metrics of predictions against actual targets, both in target units (after inverse scaling). */
  evaluate(predicted: number[][], actual: number[][]): Record<string, number>;
  /**
   * A classic, non-learned predictor on the raw features (recent averages, a rule...): evaluated on the
   * same holdout (the evaluation's `classic`), so every version shows what the network adds over it; a
   * challenger that does not beat it on the primary metric is not promoted.
   */
  readonly classicBaseline?: { description: string; predict(features: number[]): number[] };
  /** The metric of `evaluate` that decides promotion and drift. */
  readonly primaryMetric: { name: string; lowerIsBetter: boolean };
  /** Names a model output vector (target units) for the API, e.g. clamps a score to [0, 1]. */
  toOutputs(raw: number[]): Record<string, number>;
  /**
   * Extra `userDefinedMetadata` for model.json, so code outside NeuroWeaver can load the artifacts with
   * its own loader (e.g. RelayCore's routing scorer reads its feature list and scaler from there).
   */
  modelMetadata?(state: ModelState): Record<string, unknown>;
}

/** Any kind, as the pipeline sees it. */
// biome-ignore lint/suspicious/noExplicitAny: a registry of kinds whose sample types differ
export type AnyModelKind = ModelKind<any, TopicKey>;

/** Validates a flat row of numeric fields: exactly `features` (+ `targets` when training), each a finite number. */
export function parseFlatRow(
  value: unknown,
  features: readonly string[],
  targets: readonly string[],
  withTarget: boolean,
): Record<string, number> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RowError('', 'must be an object');
  const allowed = withTarget ? [...features, ...targets] : features;
  const row = value as Record<string, unknown>;
  for (const name of allowed) {
    if (!(name in row)) throw new RowError(name, 'is required');
    const v = row[name];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RowError(name, 'must be a number');
  }
  const extra = Object.keys(row).find((k) => !allowed.includes(k));
  if (extra !== undefined) {
    const hint = !withTarget && targets.includes(extra) ? ' (it is what the model predicts)' : '';
    throw new RowError(extra, `is not allowed${hint}; the fields are ${allowed.join(', ')}`);
  }
  return row as Record<string, number>;
}
