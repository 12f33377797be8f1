/**
 * RelayCore's routing model: an attempt's latency (as a distribution: log-latency and its spread, so
 * the expected latency prices the tail) and failure probability from the endpoint's features at
 * decision time. Trained from `delivery.outcomes` (every attempt carries its feature values in the
 * contract's order); the artifacts follow `routingContract.artifacts` (layer names, latency
 * transform, model.json metadata), so RelayCore serves the champion with its own loader.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import type { DeliveryOutcome } from '../../../schemas/types.ts';
import {
  FEATURE_NAMES,
  FEATURE_VERSION,
  type RoutingFeatureName as FeatureName,
  routingContract as routingModel,
} from '../../shared/routing-contract.ts';
import type { TF } from '../../shared/tensorflow.ts';
import { type Hyperparameters, type ModelKind, parseFlatRow } from './types.ts';

const TARGETS = ['latency_ms', 'failed'] as const;
export type RoutingRow = Record<FeatureName | (typeof TARGETS)[number], number>;

/** Attempts that reached the endpoint; breaker rejections and sheds say nothing about it. */
const LABELLED = new Set<DeliveryOutcome['status']>(['DELIVERED', 'FAILED', 'TIMEOUT']);

/** Probabilities are clipped here for every log loss (model, baselines, champion alike). */
const P_MIN = 1e-3;

const LAT_FAST = FEATURE_NAMES.indexOf('lat_fast_log');
const ERR_FAST = FEATURE_NAMES.indexOf('err_fast');
/** The spread head's log-deviation is held in this range in training (as RelayCore clamps it when serving). */
const SPREAD_MIN_LOG = -5;
const SPREAD_MAX_LOG = 1.5;

export const routingKind: ModelKind<RoutingRow, 'delivery.outcomes'> = {
  name: routingModel.name,
  description:
    "RelayCore's routing model: latency (ms) and failure probability of a delivery attempt from the endpoint's features at decision time",
  source: 'delivery.outcomes',
  featureNames: FEATURE_NAMES,
  // The network's third output is the spread head: its target column is a placeholder (0) the loss does
  // not read, there only because tfjs wants targets as wide as the output; the loss fits the spread to the
  // residuals of the latency head.
  targetNames: [...TARGETS, 'latency_spread'],
  outputNames: ['latencyMs', 'expectedLatencyMs', 'failureProbability'],
  featureCount: FEATURE_NAMES.length,
  scaleTargets: false,
  epochMetrics: [],
  // RelayCore runs this network for every (message, endpoint) pair on its hot path: small ones only.
  searchSpace: { layers: [1, 2], units: [16, 32, 64] },
  primaryMetric: { name: 'combined_loss', lowerIsBetter: true },

  fromRecord(o: DeliveryOutcome): RoutingRow | null {
    if (!LABELLED.has(o.status)) return null;
    // Outcomes of another feature version are no training rows for this one.
    if (o.featureVersion !== FEATURE_VERSION || o.featureValues.length !== FEATURE_NAMES.length) return null;
    const row = { latency_ms: Math.max(0, o.latencyMs), failed: o.status === 'DELIVERED' ? 0 : 1 } as RoutingRow;
    for (let i = 0; i < FEATURE_NAMES.length; i++) {
      const v = o.featureValues[i]!;
      if (!Number.isFinite(v)) return null;
      row[FEATURE_NAMES[i]!] = v;
    }
    return row;
  },
  parseRequestRow: (value, withTarget) => parseFlatRow(value, FEATURE_NAMES, TARGETS, withTarget) as RoutingRow,
  features: (r) => FEATURE_NAMES.map((n) => r[n]),
  targets: (r) => [routingModel.artifacts.latencyTarget(r.latency_ms), r.failed > 0 ? 1 : 0, 0],
  buildNetwork,
  // The log-latency as a normal with the spread head's deviation (its negative log-likelihood), plus the
  // latency's squared error, plus the failure log loss. The squared error is what the gate's combined_loss
  // scores: without it the mean is fitted with each row weighted by 1/spread^2, which under a shifting load
  // trades the fit of noisy rows for calm ones; the likelihood keeps the fit sharp where latency is steady.
  loss: (tf) => (yTrue, yPred) => {
    const [latTrue, failTrue] = tf.split(yTrue, 3, 1);
    const [latPred, failPred, logSigma] = tf.split(yPred, 3, 1);
    const residual = tf.sub(latTrue!, latPred!);
    const clamped = tf.clipByValue(logSigma!, SPREAD_MIN_LOG, SPREAD_MAX_LOG);
    const z = tf.div(residual, tf.exp(clamped));
    const nll = tf.mean(tf.add(tf.mul(0.5, tf.square(z)), clamped));
    return tf.addN([tf.mean(tf.square(residual)), nll, tf.losses.logLoss(failTrue!, failPred!)]);
  },
  evaluate: routingMetrics,
  classicBaseline: {
    description: "the endpoint's recent record: its 1 s latency EWMA and 2 s failure share, as the features carry them",
    predict: (x) => [x[LAT_FAST]!, x[ERR_FAST]!],
  },
  toOutputs: (raw) => {
    const sigma = routingModel.artifacts.spreadFromOutput(raw[2] ?? SPREAD_MIN_LOG);
    return {
      latencyMs: routingModel.artifacts.latencyFromTarget(raw[0]!),
      expectedLatencyMs: routingModel.artifacts.expectedLatency(raw[0]!, sigma),
      failureProbability: Math.min(1, Math.max(0, raw[1]!)),
    };
  },
  modelMetadata: (state) => ({
    ...routingModel.artifacts.metadata(state.xScaler),
    version: state.version,
    metrics: state.metrics,
  }),
};

/**
 * Hidden layers as `mlp` builds them, then RelayCore's three heads on the last hidden layer and the features
 * (wide and deep), concatenated into one [latency, failure, spread] output.
 */
function buildNetwork(tf: TF, hp: Hyperparameters, inputs: number): LayersModel {
  const { hiddenLayer, wideLayer, latencyLayer, failureLayer, spreadLayer } = routingModel.artifacts;
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
  // Wide and deep: each head sees the features beside the last hidden layer, so the network holds the
  // linear model as a special case and the hidden units only learn what a linear fit misses.
  const wide = tf.layers.concatenate({ name: wideLayer }).apply([h, input]) as SymbolicTensor;
  const head = (config: { units: number; name: string; activation?: 'sigmoid' }) =>
    tf.layers.dense({ ...config, kernelRegularizer: regularizer }).apply(wide) as SymbolicTensor;
  const latency = head({ units: 1, name: latencyLayer });
  const failure = head({ units: 1, activation: 'sigmoid', name: failureLayer });
  const spread = head({ units: 1, name: spreadLayer });
  const output = tf.layers
    .concatenate({ name: 'latency_failure_spread' })
    .apply([latency, failure, spread]) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: output });
}

/**
 * Latency errors in log1p(ms), failure log loss, Brier score and AUC; `combined_loss` (latency MSE +
 * failure log loss) on the holdout is what the promotion gate and drift compare: every predictor
 * (network, linear and classic baselines) has the latency and failure columns. A network's spread
 * column adds `latency_nll` (how well the predicted spread fits, tails included).
 */
export function routingMetrics(predicted: number[][], actual: number[][]): Record<string, number> {
  const n = actual.length;
  if (!n) return {};
  let se = 0;
  let ae = 0;
  let ll = 0;
  let brier = 0;
  let nll = 0;
  const withSpread = predicted[0]!.length >= 3;
  for (let i = 0; i < n; i++) {
    const [latPred, pRaw, logSigma] = predicted[i]!;
    const [latTrue, failed] = actual[i]!;
    const e = latPred! - latTrue!;
    se += e * e;
    if (withSpread) {
      const ls = Math.min(SPREAD_MAX_LOG, Math.max(SPREAD_MIN_LOG, logSigma!));
      nll += 0.5 * (e / Math.exp(ls)) ** 2 + ls;
    }
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
  if (withSpread) metrics.latency_nll = nll / n;
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
