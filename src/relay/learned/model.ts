/**
 * The routing model as RelayCore serves it: a small three-headed network over FEATURE_NAMES that
 * predicts an attempt's log-latency and its spread (so the expected latency in ms prices the tail)
 * and its failure probability, loaded from artifacts that NeuroWeaver's `routing` kind trains
 * (src/ml/kinds/routing.ts) and served as a RoutingScorer doing one batched inference per consumed
 * batch, in plain typed arrays.
 *
 * The artifacts follow `routingContract.artifacts` (src/shared/routing-contract.ts): layer names, the latency
 * transform and the model.json metadata that `load` checks.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type RoutingActivation as Activation,
  type RoutingModelMetadata,
  routingContract,
  type Scaler,
  type TF,
  tensorflow,
} from '../../shared/index.ts';
import type { Prediction, RoutingScorer } from './policy.ts';

type LayersModel = Awaited<ReturnType<TF['loadLayersModel']>>;
type Tensor = ReturnType<TF['tensor2d']>;

const {
  featureCount: FEATURE_COUNT,
  featureNames: FEATURE_NAMES,
  featureVersion: FEATURE_VERSION,
  artifacts: ROUTING_ARTIFACTS,
} = routingContract;
const ACTIVATIONS = ROUTING_ARTIFACTS.activations;

/** Standardised values are clipped: a live value far outside the training range must not blow up the output. */
const CLIP = 10;

export function applyScaler(
  scaler: Scaler,
  rows: Float32Array,
  count: number,
  out = new Float64Array(count * FEATURE_COUNT),
): Float64Array {
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < FEATURE_COUNT; j++) {
      const z = (rows[i * FEATURE_COUNT + j]! - scaler.mean[j]!) / scaler.std[j]!;
      out[i * FEATURE_COUNT + j] = z > CLIP ? CLIP : Math.max(z, -CLIP);
    }
  }
  return out;
}

/** One dense layer's weights, transposed to [units x inputs] (each unit's weights contiguous), and its activation. */
interface DenseLayer {
  kernel: Float64Array;
  bias: Float64Array;
  inputs: number;
  units: number;
  activation: Activation;
}

/**
 * Inference in plain typed arrays over the trained weights: for the few dozen rows of a consumed
 * batch this is far cheaper than a TensorFlow.js call (no tensor, no backend dispatch).
 */
class TypedArrayScorer implements RoutingScorer {
  private buffers: Float64Array<ArrayBuffer>[] = [];

  readonly version: string;
  private readonly hidden: DenseLayer[];
  private readonly heads: { latency: DenseLayer; failure: DenseLayer; spread: DenseLayer };
  private readonly scaler: Scaler;
  /** Wide and deep: the heads read the last hidden layer's output followed by the scaled features. */
  private readonly wide: boolean;

  constructor(
    version: string,
    hidden: DenseLayer[],
    heads: { latency: DenseLayer; failure: DenseLayer; spread: DenseLayer },
    scaler: Scaler,
  ) {
    this.version = version;
    this.hidden = hidden;
    this.heads = heads;
    this.scaler = scaler;
    this.wide = heads.latency.inputs === hidden.at(-1)!.units + FEATURE_COUNT;
  }

  private buffer(i: number, size: number): Float64Array<ArrayBuffer> {
    if ((this.buffers[i]?.length ?? 0) < size) this.buffers[i] = new Float64Array(size * 2);
    return this.buffers[i]!;
  }

  predict(rows: Float32Array, count: number): Prediction {
    const scaled = this.buffer(this.hidden.length + 1, count * FEATURE_COUNT);
    let input = applyScaler(this.scaler, rows, count, scaled);
    let width: number = FEATURE_COUNT;
    this.hidden.forEach((layer, li) => {
      const out = this.buffer(li, count * layer.units);
      dense(layer, input, width, count, out);
      input = out;
      width = layer.units;
    });
    const h = this.hidden.length;
    if (this.wide) {
      input = wideInput(input, width, scaled, count, this.buffer(h + 4, count * (width + FEATURE_COUNT)));
      width += FEATURE_COUNT;
    }
    const mu = this.buffer(h + 2, count);
    const fail = this.buffer(h + 3, count);
    const spread = this.buffer(h, count);
    dense(this.heads.latency, input, width, count, mu);
    dense(this.heads.failure, input, width, count, fail);
    dense(this.heads.spread, input, width, count, spread);
    const latencyMs = new Float32Array(count);
    const failure = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      latencyMs[i] = ROUTING_ARTIFACTS.expectedLatency(mu[i]!, ROUTING_ARTIFACTS.spreadFromOutput(spread[i]!));
      failure[i] = fail[i]!;
    }
    return { latencyMs, failure };
  }

  dispose(): void {
    this.buffers = [];
  }
}

/** Each row's hidden output followed by its scaled features: the heads' input of a wide-and-deep model. */
function wideInput(
  hidden: Float64Array,
  width: number,
  scaled: Float64Array,
  count: number,
  out: Float64Array<ArrayBuffer>,
): Float64Array<ArrayBuffer> {
  const rowWidth = width + FEATURE_COUNT;
  for (let r = 0; r < count; r++) {
    out.set(hidden.subarray(r * width, (r + 1) * width), r * rowWidth);
    out.set(scaled.subarray(r * FEATURE_COUNT, (r + 1) * FEATURE_COUNT), r * rowWidth + width);
  }
  return out;
}

function activate(activation: Activation, x: number): number {
  switch (activation) {
    case 'relu':
      return Math.max(x, 0);
    case 'elu':
      return x > 0 ? x : Math.expm1(x);
    case 'tanh':
      return Math.tanh(x);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-x));
    default:
      return x;
  }
}

function dense(layer: DenseLayer, input: Float64Array, width: number, count: number, out: Float64Array): void {
  const { kernel, bias, units, activation } = layer;
  const relu = activation === 'relu';
  for (let r = 0; r < count; r++) {
    const inOff = r * width;
    const outOff = r * units;
    for (let u = 0; u < units; u++) {
      let sum = bias[u]!;
      const w = u * width;
      for (let k = 0; k < width; k++) sum += input[inOff + k]! * kernel[w + k]!;
      out[outOff + u] = relu ? Math.max(sum, 0) : activate(activation, sum);
    }
  }
}

/** [inputs x units] row-major, as TensorFlow.js stores a kernel, to [units x inputs]. */
function transpose(kernel: Float32Array, inputs: number, units: number): Float64Array {
  const out = new Float64Array(kernel.length);
  for (let k = 0; k < inputs; k++) for (let u = 0; u < units; u++) out[u * inputs + k] = kernel[k * units + u]!;
  return out;
}

function denseLayers(model: LayersModel, dir: string): Map<string, DenseLayer> {
  const layers = new Map<string, DenseLayer>();
  for (const layer of model.layers) {
    const weights = layer.getWeights();
    if (weights.length !== 2) continue;
    const [kernel, bias] = weights as [Tensor, Tensor];
    const activation = (layer.getConfig() as { activation?: string }).activation ?? 'linear';
    if (!(ACTIVATIONS as readonly string[]).includes(activation))
      throw new Error(
        `routing model in ${dir}: layer ${layer.name} uses activation ${activation}, which the scorer does not compute (${ACTIVATIONS.join(', ')})`,
      );
    layers.set(layer.name, {
      kernel: transpose(Float32Array.from(kernel.dataSync()), kernel.shape[0]!, kernel.shape[1]!),
      bias: Float64Array.from(bias.dataSync()),
      inputs: kernel.shape[0]!,
      units: kernel.shape[1]!,
      activation: activation as Activation,
    });
  }
  return layers;
}

interface ModelJson {
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: unknown[] }[];
  userDefinedMetadata?: Partial<RoutingModelMetadata>;
}

/** Loads saved artifacts (model.json and its weights) as a scorer. Throws if they were made for other features. */
export async function load(
  dir: string,
  version = dir.split(/[\\/]/).filter(Boolean).at(-1) ?? 'unknown',
): Promise<RoutingScorer> {
  const { tf } = await tensorflow();
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as ModelJson;
  const meta = json.userDefinedMetadata;
  if (meta?.featureVersion !== FEATURE_VERSION || JSON.stringify(meta.featureNames) !== JSON.stringify(FEATURE_NAMES)) {
    throw new Error(
      `routing model in ${dir} was trained on other features (version ${meta?.featureVersion}, this build reads ${FEATURE_VERSION})`,
    );
  }
  if (!meta.scaler) throw new Error(`routing model in ${dir} has no scaler in its metadata`);
  const manifest = json.weightsManifest[0]!;
  const weightData = new Uint8Array(await readFile(join(dir, manifest.paths[0]!))).buffer;
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: manifest.weights as never, weightData }),
  );
  try {
    const layers = denseLayers(model, dir);
    const hidden = [...layers.entries()]
      .filter(([name]) => name.startsWith('hidden_'))
      .sort(([a], [b]) => Number(a.slice(7)) - Number(b.slice(7)))
      .map(([, l]) => l);
    const latency = layers.get(ROUTING_ARTIFACTS.latencyLayer);
    const failure = layers.get(ROUTING_ARTIFACTS.failureLayer);
    const spread = layers.get(ROUTING_ARTIFACTS.spreadLayer);
    if (!latency || !failure || !spread || !hidden.length)
      throw new Error(`routing model in ${dir} lacks its hidden, latency, failure or spread layers`);
    const deep = hidden.at(-1)!.units;
    const { inputs } = latency;
    if ((inputs !== deep && inputs !== deep + FEATURE_COUNT) || failure.inputs !== inputs || spread.inputs !== inputs)
      throw new Error(
        `routing model in ${dir}: its heads do not all read the last hidden layer, or all it and the features`,
      );
    return new TypedArrayScorer(version, hidden, { latency, failure, spread }, meta.scaler);
  } finally {
    model.dispose();
  }
}
