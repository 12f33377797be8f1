/**
 * The routing model: a small two-headed network over FEATURE_NAMES that predicts an attempt's
 * latency (log1p ms) and its failure probability. Trained from DeliveryOutcome records with
 * TensorFlow.js; standardised with a scaler fitted on the training split only and saved with
 * the model (model.json `userDefinedMetadata`); served as a RoutingScorer doing one batched
 * inference per consumed batch.
 *
 * This is the API the NeuroWeaver pipeline calls: examplesFromOutcomes → train → save → load.
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeliveryOutcome } from '../../../schemas/types.js';
import { tensorflow, type TF } from '../../ml/backend.js';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_VERSION } from './features.js';
import type { Prediction, RoutingScorer } from './policy.js';

type LayersModel = Awaited<ReturnType<TF['loadLayersModel']>>;

type Tensor = ReturnType<TF['tensor2d']>;

export const MODEL_NAME = 'routing';

/** Training rows, in decision-time order (the last ones make the validation split). */
export interface RoutingExamples {
  count: number;
  /** count x FEATURE_COUNT, row-major. */
  features: Float32Array;
  /** log1p of the attempt latency in ms. */
  latencyLog: Float32Array;
  /** 1 if the attempt failed or timed out. */
  failed: Float32Array;
  /** Outcome records left out (breaker rejections, shed, or features of another model version). */
  skipped: number;
}

export interface RoutingHyperparameters {
  hidden: number[];
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Share of the newest examples held out for validation. */
  validationShare: number;
}

export const DEFAULT_HYPERPARAMETERS: RoutingHyperparameters = { hidden: [32, 16], epochs: 25, batchSize: 256, learningRate: 0.003, validationShare: 0.2 };

export interface Scaler {
  mean: number[];
  std: number[];
}

export interface RoutingMetrics {
  trainRows: number;
  validationRows: number;
  /** Mean absolute error of log1p(latency) on the validation split, and of always predicting the training mean. */
  valLatencyMaeLog: number;
  baselineLatencyMaeLog: number;
  /** Log loss of the failure head on the validation split, and of the training failure rate as a constant. */
  valFailureLogLoss: number;
  baselineFailureLogLoss: number;
  failureRate: number;
}

export interface TrainedRoutingModel {
  model: LayersModel;
  scaler: Scaler;
  hyperparameters: RoutingHyperparameters;
  metrics: RoutingMetrics;
  backend: string;
}

export interface EpochLog {
  epoch: number;
  loss: number;
  valLoss: number;
}

const USED = new Set(['DELIVERED', 'FAILED', 'TIMEOUT']);

/** Turns outcome records into training rows; records without this model version's features are skipped. */
export function examplesFromOutcomes(outcomes: readonly DeliveryOutcome[]): RoutingExamples {
  const usable = outcomes.filter((o) => USED.has(o.status) && FEATURE_NAMES.every((n) => typeof o.features[n] === 'number')).sort((a, b) => a.decidedAt - b.decidedAt);
  const features = new Float32Array(usable.length * FEATURE_COUNT);
  const latencyLog = new Float32Array(usable.length);
  const failed = new Float32Array(usable.length);
  usable.forEach((o, i) => {
    for (let j = 0; j < FEATURE_COUNT; j++) features[i * FEATURE_COUNT + j] = o.features[FEATURE_NAMES[j]!]!;
    latencyLog[i] = Math.log1p(Math.max(0, o.latencyMs));
    failed[i] = o.status === 'DELIVERED' ? 0 : 1;
  });
  return { count: usable.length, features, latencyLog, failed, skipped: outcomes.length - usable.length };
}

export function fitScaler(features: Float32Array, rows: number): Scaler {
  const mean = new Array<number>(FEATURE_COUNT).fill(0);
  const std = new Array<number>(FEATURE_COUNT).fill(0);
  for (let i = 0; i < rows; i++) for (let j = 0; j < FEATURE_COUNT; j++) mean[j]! += features[i * FEATURE_COUNT + j]! / rows;
  for (let i = 0; i < rows; i++) for (let j = 0; j < FEATURE_COUNT; j++) std[j]! += (features[i * FEATURE_COUNT + j]! - mean[j]!) ** 2 / rows;
  // A (nearly) constant feature keeps std 1, so it scales to about 0 instead of exploding.
  return { mean, std: std.map((v) => (v > 1e-6 ? Math.sqrt(v) : 1)) };
}

/** Standardised values are clipped: a live value far outside the training range must not blow up the output. */
const CLIP = 10;

export function applyScaler(scaler: Scaler, rows: Float32Array, count: number): Float32Array {
  const out = new Float32Array(count * FEATURE_COUNT);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < FEATURE_COUNT; j++) {
      const z = (rows[i * FEATURE_COUNT + j]! - scaler.mean[j]!) / scaler.std[j]!;
      out[i * FEATURE_COUNT + j] = z > CLIP ? CLIP : z < -CLIP ? -CLIP : z;
    }
  }
  return out;
}

function build(tf: TF, hp: RoutingHyperparameters): LayersModel {
  const input = tf.input({ shape: [FEATURE_COUNT] });
  let h = input as unknown as ReturnType<TF['input']>;
  hp.hidden.forEach((units, i) => {
    h = tf.layers.dense({ units, activation: 'relu', kernelInitializer: 'heNormal', name: `hidden_${i}` }).apply(h) as typeof h;
  });
  const latency = tf.layers.dense({ units: 1, name: 'latency' }).apply(h) as typeof h;
  const failure = tf.layers.dense({ units: 1, activation: 'sigmoid', name: 'failure' }).apply(h) as typeof h;
  const model = tf.model({ inputs: input, outputs: [latency, failure] });
  model.compile({ optimizer: tf.train.adam(hp.learningRate), loss: { latency: 'meanSquaredError', failure: 'binaryCrossentropy' } });
  return model;
}

const logLoss = (p: number, y: number) => -(y * Math.log(Math.max(p, 1e-7)) + (1 - y) * Math.log(Math.max(1 - p, 1e-7)));

/** Trains a new model; `onEpoch` sees every epoch's training and validation loss. */
export async function train(examples: RoutingExamples, hyperparameters: Partial<RoutingHyperparameters> = {}, onEpoch?: (log: EpochLog) => void): Promise<TrainedRoutingModel> {
  const hp = { ...DEFAULT_HYPERPARAMETERS, ...hyperparameters };
  const validationRows = Math.max(1, Math.floor(examples.count * hp.validationShare));
  const trainRows = examples.count - validationRows;
  if (trainRows < 50) throw new Error(`${examples.count} usable delivery outcomes are too few to train on (need at least ${50 + validationRows})`);
  const { tf, backend } = await tensorflow();
  const scaler = fitScaler(examples.features, trainRows);
  const scaled = applyScaler(scaler, examples.features, examples.count);
  const split = trainRows * FEATURE_COUNT;
  const tensors: Tensor[] = [];
  const t = <T extends Tensor>(x: T) => (tensors.push(x), x);
  const x = t(tf.tensor2d(scaled.subarray(0, split), [trainRows, FEATURE_COUNT]));
  const xv = t(tf.tensor2d(scaled.subarray(split), [validationRows, FEATURE_COUNT]));
  const yl = t(tf.tensor2d(examples.latencyLog.subarray(0, trainRows), [trainRows, 1]));
  const yf = t(tf.tensor2d(examples.failed.subarray(0, trainRows), [trainRows, 1]));
  const ylv = t(tf.tensor2d(examples.latencyLog.subarray(trainRows), [validationRows, 1]));
  const yfv = t(tf.tensor2d(examples.failed.subarray(trainRows), [validationRows, 1]));
  const model = build(tf, hp);
  try {
    const history = await model.fit(x, [yl, yf], {
      epochs: hp.epochs,
      batchSize: hp.batchSize,
      shuffle: true,
      validationData: [xv, [ylv, yfv]],
      verbose: 0,
      callbacks: { onEpochEnd: async (epoch, logs) => onEpoch?.({ epoch: epoch + 1, loss: logs?.loss ?? NaN, valLoss: logs?.val_loss ?? NaN }) },
    });
    const losses = (history.history.loss ?? []) as number[];
    if (losses.length && !Number.isFinite(losses[losses.length - 1]!)) throw new Error('training diverged (loss is not finite): try a lower learningRate');
    const [pl, pf] = model.predict(xv) as Tensor[];
    const predLat = pl!.dataSync();
    const predFail = pf!.dataSync();
    pl!.dispose();
    pf!.dispose();
    let meanLat = 0;
    let failRate = 0;
    for (let i = 0; i < trainRows; i++) {
      meanLat += examples.latencyLog[i]! / trainRows;
      failRate += examples.failed[i]! / trainRows;
    }
    const m = { mae: 0, base: 0, ll: 0, baseLl: 0 };
    for (let i = 0; i < validationRows; i++) {
      const yLat = examples.latencyLog[trainRows + i]!;
      const yFail = examples.failed[trainRows + i]!;
      m.mae += Math.abs(predLat[i]! - yLat) / validationRows;
      m.base += Math.abs(meanLat - yLat) / validationRows;
      m.ll += logLoss(predFail[i]!, yFail) / validationRows;
      m.baseLl += logLoss(failRate, yFail) / validationRows;
    }
    const metrics: RoutingMetrics = {
      trainRows,
      validationRows,
      valLatencyMaeLog: m.mae,
      baselineLatencyMaeLog: m.base,
      valFailureLogLoss: m.ll,
      baselineFailureLogLoss: m.baseLl,
      failureRate: failRate,
    };
    return { model, scaler, hyperparameters: hp, metrics, backend };
  } finally {
    tensors.forEach((x) => x.dispose());
  }
}

/** A version name that sorts by time. */
export const newVersion = () => new Date().toISOString().replace(/[-:.]/g, '').replace('T', '-').slice(0, 18);

/** Writes model.json (topology, weights manifest, feature names and scaler) and weights.bin into `dir`. */
export async function save(trained: TrainedRoutingModel, dir: string): Promise<void> {
  const { tf } = await tensorflow();
  await mkdir(dir, { recursive: true });
  await trained.model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = Buffer.from(tf.io.concatenateArrayBuffers(artifacts.weightData as ArrayBuffer | ArrayBuffer[]));
      const modelJson = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers ${tf.version.tfjs}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        userDefinedMetadata: {
          model: MODEL_NAME,
          featureVersion: FEATURE_VERSION,
          featureNames: [...FEATURE_NAMES],
          scaler: trained.scaler,
          metrics: trained.metrics,
          hyperparameters: trained.hyperparameters,
          backend: trained.backend,
        },
      };
      await writeFile(join(dir, 'weights.bin'), weights);
      await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.length } };
    }),
  );
}

interface ModelJson {
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: unknown[] }[];
  userDefinedMetadata: { featureVersion: number; featureNames: string[]; scaler: Scaler; metrics: RoutingMetrics };
}

/** Predicted latencies are capped at 10 minutes. */
const MAX_LATENCY_LOG = Math.log1p(600_000);

/** One dense layer's weights, row-major [inputs x units], and its activation. */
interface DenseLayer {
  kernel: Float32Array;
  bias: Float32Array;
  inputs: number;
  units: number;
  activation: 'relu' | 'linear' | 'sigmoid';
}

/**
 * Inference in plain typed arrays over the trained weights: for the few dozen rows of a consumed
 * batch this is far cheaper than a TensorFlow.js call (no tensor, no backend dispatch).
 */
class TypedArrayScorer implements RoutingScorer {
  private buffers: Float32Array[] = [];

  constructor(
    readonly version: string,
    private readonly hidden: DenseLayer[],
    private readonly latencyHead: DenseLayer,
    private readonly failureHead: DenseLayer,
    private readonly scaler: Scaler,
    readonly metrics: RoutingMetrics,
  ) {}

  private buffer(i: number, size: number): Float32Array {
    if ((this.buffers[i]?.length ?? 0) < size) this.buffers[i] = new Float32Array(size * 2);
    return this.buffers[i]!;
  }

  predict(rows: Float32Array, count: number): Prediction {
    let input = applyScaler(this.scaler, rows, count);
    let width: number = FEATURE_COUNT;
    this.hidden.forEach((layer, li) => {
      const out = this.buffer(li, count * layer.units);
      dense(layer, input, width, count, out);
      input = out;
      width = layer.units;
    });
    const latencyMs = new Float32Array(count);
    const failure = new Float32Array(count);
    dense(this.latencyHead, input, width, count, latencyMs);
    dense(this.failureHead, input, width, count, failure);
    for (let i = 0; i < count; i++) latencyMs[i] = Math.expm1(Math.min(MAX_LATENCY_LOG, Math.max(0, latencyMs[i]!)));
    return { latencyMs, failure };
  }

  dispose(): void {
    this.buffers = [];
  }
}

function dense(layer: DenseLayer, input: Float32Array, width: number, count: number, out: Float32Array): void {
  const { kernel, bias, units, activation } = layer;
  for (let r = 0; r < count; r++) {
    const inOff = r * width;
    const outOff = r * units;
    for (let u = 0; u < units; u++) {
      let sum = bias[u]!;
      for (let k = 0; k < width; k++) sum += input[inOff + k]! * kernel[k * units + u]!;
      out[outOff + u] = activation === 'relu' ? (sum > 0 ? sum : 0) : activation === 'sigmoid' ? 1 / (1 + Math.exp(-sum)) : sum;
    }
  }
}

function denseLayers(model: LayersModel): Map<string, DenseLayer> {
  const layers = new Map<string, DenseLayer>();
  for (const layer of model.layers) {
    const weights = layer.getWeights();
    if (weights.length !== 2) continue;
    const [kernel, bias] = weights as [Tensor, Tensor];
    const config = layer.getConfig() as { activation?: string };
    layers.set(layer.name, {
      kernel: Float32Array.from(kernel.dataSync()),
      bias: Float32Array.from(bias.dataSync()),
      inputs: kernel.shape[0]!,
      units: kernel.shape[1]!,
      activation: (config.activation ?? 'linear') as DenseLayer['activation'],
    });
  }
  return layers;
}

/** Loads a saved model as a scorer. Throws if it was made for other features. */
export async function load(dir: string, version = dir.split(/[\\/]/).filter(Boolean).at(-1) ?? 'unknown'): Promise<RoutingScorer & { metrics: RoutingMetrics }> {
  const { tf } = await tensorflow();
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as ModelJson;
  const meta = json.userDefinedMetadata;
  if (meta?.featureVersion !== FEATURE_VERSION || JSON.stringify(meta.featureNames) !== JSON.stringify(FEATURE_NAMES)) {
    throw new Error(`routing model in ${dir} was trained on other features (version ${meta?.featureVersion}, this build reads ${FEATURE_VERSION})`);
  }
  const manifest = json.weightsManifest[0]!;
  const weightData = new Uint8Array(await readFile(join(dir, manifest.paths[0]!))).buffer;
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: manifest.weights as never, weightData }));
  try {
    const layers = denseLayers(model);
    const hidden = [...layers.entries()].filter(([name]) => name.startsWith('hidden_')).sort(([a], [b]) => Number(a.slice(7)) - Number(b.slice(7))).map(([, l]) => l);
    const latency = layers.get('latency');
    const failure = layers.get('failure');
    if (!latency || !failure || !hidden.length) throw new Error(`routing model in ${dir} lacks its hidden, latency or failure layers`);
    return new TypedArrayScorer(version, hidden, latency, failure, meta.scaler, meta.metrics);
  } finally {
    model.dispose();
  }
}

/** The newest loadable model version under `root` (MODEL_SAVE_PATH/routing), if any. */
export async function latestVersion(root: string): Promise<string | undefined> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  const versions = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  for (const v of versions.reverse()) {
    const ok = await readFile(join(root, v, 'model.json'), 'utf8').then(
      () => true,
      () => false,
    );
    if (ok) return v;
  }
  return undefined;
}
