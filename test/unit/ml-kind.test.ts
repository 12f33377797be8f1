import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DeliveryOutcome } from '../../schemas/types.ts';
import { artifactDir, loadArtifacts } from '../../src/ml/artifacts.ts';
import { featureMatrix, splitData, splitRows } from '../../src/ml/dataset.ts';
import { MODEL_KINDS } from '../../src/ml/kinds/index.ts';
import { type Hyperparameters, type ModelKind, parseFlatRow } from '../../src/ml/kinds/types.ts';
import { seededRandom } from '../../src/ml/stats.ts';
import { predictRows, runTraining } from '../../src/ml/training.ts';
import { type TF, tensorflow } from '../../src/shared/tensorflow.ts';

type ToyRow = { a: number; b: number; sum: number; positive: number };

/**
 * A kind unlike the performance model, as RelayCore's routing model will be: two outputs (a regression
 * head and a classification logit) under one custom loss, unscaled targets, state fitted on the
 * training split, and model.json metadata for an outside loader.
 */
const toyKind: ModelKind<ToyRow, 'delivery.outcomes'> = {
  name: 'toy',
  description: 'sum and sign of two numbers',
  source: 'delivery.outcomes',
  featureNames: ['a', 'b'],
  targetNames: ['sum', 'positive'],
  outputNames: ['sum', 'positiveProbability'],
  featureCount: 2,
  scaleTargets: false,
  epochMetrics: [],
  primaryMetric: { name: 'sum_rmse', lowerIsBetter: true },
  fromRecord: (o: DeliveryOutcome) => ({ a: o.latencyMs, b: o.attempt, sum: o.latencyMs + o.attempt, positive: 1 }),
  parseRequestRow: (value, withTarget) => parseFlatRow(value, ['a', 'b'], ['sum', 'positive'], withTarget) as ToyRow,
  fitState: (rows) => ({ offset: rows.reduce((s, r) => s + r.a, 0) / rows.length }),
  features: (r, state) => [r.a - (state as { offset: number }).offset, r.b],
  targets: (r) => [r.sum, r.positive],
  buildNetwork(tf: TF, hp: Hyperparameters, inputs: number) {
    const input = tf.input({ shape: [inputs] });
    const hidden = tf.layers.dense({ units: hp.units, activation: hp.activation, name: 'hidden_0' }).apply(input);
    const sum = tf.layers.dense({ units: 1, name: 'latency' }).apply(hidden);
    const logit = tf.layers.dense({ units: 1, name: 'failure' }).apply(hidden);
    const output = tf.layers.concatenate().apply([sum, logit] as never) as never;
    return tf.model({ inputs: input, outputs: output });
  },
  loss: (tf) => (yTrue, yPred) =>
    tf.tidy(() => {
      const [sumTrue, posTrue] = tf.split(yTrue, 2, 1);
      const [sumPred, logit] = tf.split(yPred, 2, 1);
      return tf.add(tf.losses.meanSquaredError(sumTrue!, sumPred!), tf.losses.sigmoidCrossEntropy(posTrue!, logit!));
    }),
  evaluate(predicted, actual) {
    const se = predicted.reduce((s, p, i) => s + (p[0]! - actual[i]![0]!) ** 2, 0);
    const correct = predicted.filter((p, i) => (p[1]! > 0 ? 1 : 0) === actual[i]![1]).length;
    return { sum_rmse: Math.sqrt(se / predicted.length), positive_accuracy: correct / predicted.length };
  },
  toOutputs: (raw) => ({ sum: raw[0]!, positiveProbability: 1 / (1 + Math.exp(-raw[1]!)) }),
  modelMetadata: (state) => ({ featureNames: state.featureNames, scaler: state.xScaler, metrics: state.metrics }),
};

const root = mkdtempSync(join(tmpdir(), 'nw-kind-'));
afterAll(() => {
  delete MODEL_KINDS.toy;
  rmSync(root, { recursive: true, force: true });
});

describe('a new model kind', () => {
  it('plugs in with one registry line and trains, evaluates and saves through the generic pipeline', async () => {
    MODEL_KINDS.toy = toyKind;
    const random = seededRandom(4);
    const rows: ToyRow[] = Array.from({ length: 800 }, () => {
      const a = random() * 4 - 2;
      const b = random() * 4 - 2;
      return { a, b, sum: a + b, positive: a + b > 0 ? 1 : 0 };
    });
    const splits = splitRows(rows, { seed: 1, holdout: 0.2, val: 0.2 });
    const state = toyKind.fitState!(splits.train as ToyRow[]);
    const { tf, backend } = await tensorflow();
    const holdoutX = featureMatrix(toyKind, splits.holdout, state);
    const result = await runTraining(
      tf,
      backend,
      {
        kind: 'toy',
        seed: 1,
        budget: { trials: 1, maxEpochs: 40, timeS: 60 },
        fixed: { layers: 1, units: 16, learningRate: 0.02, batchSize: 32, l2: 0, dropout: 0, activation: 'tanh' },
        train: splitData(toyKind, splits.train, state),
        val: splitData(toyKind, splits.val, state),
        holdout: splitData(toyKind, splits.holdout, state),
        saveRoot: root,
        artifactPath: 'toy/v1',
        version: 'v1',
        kindState: state,
      },
      () => undefined,
    );
    expect(Object.keys(result.evaluation.network).sort()).toEqual(['positive_accuracy', 'sum_rmse']);
    expect(Object.keys(result.evaluation.linear ?? {}).sort()).toEqual(['positive_accuracy', 'sum_rmse']);
    expect(result.evaluation.network.positive_accuracy).toBeGreaterThan(0.85);

    const dir = artifactDir(root, 'toy/v1');
    const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as {
      userDefinedMetadata: { featureNames: string[]; scaler: { mean: number[] } };
    };
    expect(modelJson.userDefinedMetadata.featureNames).toEqual(['a', 'b']);
    expect(modelJson.userDefinedMetadata.scaler.mean).toHaveLength(2);
    const loaded = await loadArtifacts(tf, dir);
    expect(loaded.state.kindState).toEqual(state);
    const out = predictRows(tf, loaded.model, holdoutX, loaded.state.xScaler, loaded.state.yScaler);
    expect(out[0]).toHaveLength(2);
    expect(toyKind.toOutputs(out[0]!).positiveProbability).toBeGreaterThanOrEqual(0);
    loaded.model.dispose();
  });
});
