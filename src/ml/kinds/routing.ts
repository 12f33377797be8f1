/**
 * RelayCore's routing model: an attempt's latency and failure probability from the endpoint's
 * features at decision time. Trained from `delivery.outcomes` (every attempt carries its features
 * by name); the artifacts follow `routingContract.artifacts` (layer names, latency transform,
 * model.json metadata), so RelayCore serves the champion with its own loader.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import type { DeliveryOutcome } from '../../../schemas/types.ts';
import type { TF } from '../backend.ts';
import {
  FEATURE_NAMES,
  type RoutingFeatureName as FeatureName,
  routingContract as routingModel,
} from './routing-contract.ts';
import { type Hyperparameters, type ModelKind, parseFlatRow } from './types.ts';

const TARGETS = ['latency_ms', 'failed'] as const;
export type RoutingRow = Record<FeatureName | (typeof TARGETS)[number], number>;

/** Attempts that reached the endpoint; breaker rejections and sheds say nothing about it. */
const LABELLED = new Set<DeliveryOutcome['status']>(['DELIVERED', 'FAILED', 'TIMEOUT']);

/** Probabilities are clipped here for every log loss (model, baselines, champion alike). */
const P_MIN = 1e-3;

const LAT_FAST = FEATURE_NAMES.indexOf('lat_fast_log');
const ERR_FAST = FEATURE_NAMES.indexOf('err_fast');

export const routingKind: ModelKind<RoutingRow, 'delivery.outcomes'> = {
  name: routingModel.name,
  description:
    "RelayCore's routing model: latency (ms) and failure probability of a delivery attempt from the endpoint's features at decision time",
  source: 'delivery.outcomes',
  featureNames: FEATURE_NAMES,
  targetNames: TARGETS,
  outputNames: ['latencyMs', 'failureProbability'],
  featureCount: FEATURE_NAMES.length,
  scaleTargets: false,
  epochMetrics: [],
  // RelayCore runs this network for every (message, endpoint) pair on its hot path: small ones only.
  searchSpace: { layers: [1, 2], units: [16, 32, 64] },
  primaryMetric: { name: 'combined_loss', lowerIsBetter: true },

  fromRecord(o: DeliveryOutcome): RoutingRow | null {
    if (!LABELLED.has(o.status)) return null;
    const row = { latency_ms: Math.max(0, o.latencyMs), failed: o.status === 'DELIVERED' ? 0 : 1 } as RoutingRow;
    for (const name of FEATURE_NAMES) {
      const v = o.features[name];
      // Outcomes of another feature version are no training rows for this one.
      if (typeof v !== 'number' || !Number.isFinite(v)) return null;
      row[name] = v;
    }
    return row;
  },
  parseRequestRow: (value, withTarget) => parseFlatRow(value, FEATURE_NAMES, TARGETS, withTarget) as RoutingRow,
  features: (r) => FEATURE_NAMES.map((n) => r[n]),
  targets: (r) => [routingModel.artifacts.latencyTarget(r.latency_ms), r.failed > 0 ? 1 : 0],
  buildNetwork,
  loss: (tf) => (yTrue, yPred) => {
    const [latTrue, failTrue] = tf.split(yTrue, 2, 1);
    const [latPred, failPred] = tf.split(yPred, 2, 1);
    return tf.add(tf.losses.meanSquaredError(latTrue!, latPred!), tf.losses.logLoss(failTrue!, failPred!));
  },
  evaluate: routingMetrics,
  classicBaseline: {
    description: "the endpoint's recent record: its 1 s latency EWMA and 2 s failure share, as the features carry them",
    predict: (x) => [x[LAT_FAST]!, x[ERR_FAST]!],
  },
  toOutputs: (raw) => ({
    latencyMs: routingModel.artifacts.latencyFromTarget(raw[0]!),
    failureProbability: Math.min(1, Math.max(0, raw[1]!)),
  }),
  modelMetadata: (state) => ({
    ...routingModel.artifacts.metadata(state.xScaler),
    version: state.version,
    metrics: state.metrics,
  }),
};

/** Hidden layers as `mlp` builds them, then RelayCore's two heads, concatenated into one [latency, failure] output. */
function buildNetwork(tf: TF, hp: Hyperparameters, inputs: number): LayersModel {
  const { hiddenLayer, latencyLayer, failureLayer } = routingModel.artifacts;
  const regularizer = hp.l2 > 0 ? tf.regularizers.l2({ l2: hp.l2 }) : undefined;
  const input = tf.input({ shape: [inputs] });
  let h: SymbolicTensor = input;
  for (let i = 0; i < Math.max(1, hp.layers); i++) {
    const units = Math.max(4, Math.round(hp.units / 2 ** i));
    h = tf.layers
      .dense({
        units,
        activation: hp.activation,
        kernelInitializer: 'heNormal',
        kernelRegularizer: regularizer,
        name: hiddenLayer(i),
      })
      .apply(h) as SymbolicTensor;
    if (hp.dropout > 0) h = tf.layers.dropout({ rate: hp.dropout }).apply(h) as SymbolicTensor;
  }
  const latency = tf.layers.dense({ units: 1, name: latencyLayer }).apply(h) as SymbolicTensor;
  const failure = tf.layers.dense({ units: 1, activation: 'sigmoid', name: failureLayer }).apply(h) as SymbolicTensor;
  const output = tf.layers.concatenate({ name: 'latency_failure' }).apply([latency, failure]) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: output });
}

/**
 * Latency errors in log1p(ms), failure log loss, Brier score and AUC; `combined_loss` is the training
 * objective (latency MSE + failure log loss) on the holdout: the promotion gate and drift compare it.
 */
export function routingMetrics(predicted: number[][], actual: number[][]): Record<string, number> {
  const n = actual.length;
  if (!n) return {};
  let se = 0;
  let ae = 0;
  let ll = 0;
  let brier = 0;
  for (let i = 0; i < n; i++) {
    const [latPred, pRaw] = predicted[i]!;
    const [latTrue, failed] = actual[i]!;
    const e = latPred! - latTrue!;
    se += e * e;
    ae += Math.abs(e);
    const p = Math.min(1 - P_MIN, Math.max(P_MIN, pRaw!));
    ll -= failed! > 0 ? Math.log(p) : Math.log(1 - p);
    brier += (p - failed!) ** 2;
  }
  const metrics: Record<string, number> = {
    latency_rmse_log: Math.sqrt(se / n),
    latency_mae_log: ae / n,
    failure_logloss: ll / n,
    failure_brier: brier / n,
    combined_loss: se / n + ll / n,
  };
  const auc = rocAuc(
    predicted.map((p) => p[1]!),
    actual.map((a) => a[1]!),
  );
  if (auc !== null) metrics.failure_auc = auc;
  return metrics;
}

/** Area under the ROC curve by ranks (ties share their mean rank); null when only one class is present. */
export function rocAuc(scores: number[], labels: number[]): number | null {
  const order = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  const positives = labels.filter((l) => l > 0).length;
  const negatives = labels.length - positives;
  if (!positives || !negatives) return null;
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const meanRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (labels[order[k]!]! > 0) rankSum += meanRank;
    i = j + 1;
  }
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
