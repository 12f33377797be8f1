/**
 * Model artifacts under MODEL_SAVE_PATH/<model>/<version>/: model.json (the standard TensorFlow.js
 * layers format, so tfjs-node's file:// loader reads it too), weights.bin, and state.json (scalers,
 * the kind's own state, hyperparameters, metrics, evaluation). Saved through a custom handler, so no backend
 * needs file-system support; written to a temporary folder and renamed, so a reader never sees half.
 * The folder is published to Kafka with the version (src/shared/model-artifacts.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { io, LayersModel } from '@tensorflow/tfjs';
import type { Evaluation } from '../../schemas/index.ts';
import { writeAtomically } from '../shared/model-artifacts.ts';
import type { TF } from '../shared/tensorflow.ts';
import type { Hyperparameters } from './kinds/types.ts';
import type { Scaler } from './stats.ts';

export const STATE_FORMAT = 1;

export interface ModelState {
  format: number;
  model: string;
  version: string;
  featureNames: string[];
  targetNames: string[];
  xScaler: Scaler;
  yScaler: Scaler | null;
  kindState: unknown;
  hyperparameters: Hyperparameters;
  /** The training's own figures (older artifacts also hold the holdout figures here, under prefixed keys). */
  metrics: Record<string, number>;
  /** As in the version's record; absent from artifacts saved before it existed. Readers use the record's. */
  evaluation?: Evaluation;
}

/** Relative artifact path stored in the registry: `<model>/<version>` (resolved under each instance's MODEL_SAVE_PATH). */
export const artifactPath = (model: string, version: string) => `${model}/${version}`;
export { artifactDir } from '../shared/model-artifacts.ts';

export async function saveArtifacts(
  tf: TF,
  model: LayersModel,
  dir: string,
  state: ModelState,
  metadata?: Record<string, unknown>,
): Promise<void> {
  let artifacts: io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts?.weightData || !artifacts.weightSpecs) throw new Error('the model produced no weights to save');
  const weights = Buffer.from(artifacts.weightData as ArrayBuffer);
  const modelJson = {
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: 'automatrix-neuroweaver',
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
    ...(metadata ? { userDefinedMetadata: metadata } : {}),
  };
  await writeAtomically(dir, [
    { name: 'model.json', data: Buffer.from(JSON.stringify(modelJson)) },
    { name: 'weights.bin', data: weights },
    { name: 'state.json', data: Buffer.from(`${JSON.stringify(state, null, 2)}\n`) },
  ]);
}

export interface LoadedModel {
  model: LayersModel;
  state: ModelState;
}

export async function loadArtifacts(tf: TF, dir: string): Promise<LoadedModel> {
  const [modelText, weights, stateText] = await Promise.all([
    readFile(join(dir, 'model.json'), 'utf8'),
    readFile(join(dir, 'weights.bin')),
    readFile(join(dir, 'state.json'), 'utf8'),
  ]);
  const modelJson = JSON.parse(modelText) as {
    modelTopology: object;
    weightsManifest: { weights: io.WeightsManifestEntry[] }[];
  };
  const state = JSON.parse(stateText) as ModelState;
  if (state.format !== STATE_FORMAT)
    throw new Error(`${dir}/state.json has format ${state.format}; this version reads ${STATE_FORMAT}`);
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength);
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest.flatMap((m) => m.weights),
      weightData,
    }),
  );
  return { model, state };
}
