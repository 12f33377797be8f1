/**
 * One training run, as the worker thread executes it: fit the scalers on the training split,
 * tune, evaluate the best network, the linear baseline and the current champion on the same
 * holdout, and save the artifacts. Pure of Kafka and HTTP, so it also runs in-process in tests.
 */

import type { ChampionEvaluation, Evaluation } from '../../schemas/index.ts';
import type { BackendName, TF } from '../shared/tensorflow.ts';
import { artifactDir, loadArtifacts, type ModelState, STATE_FORMAT, saveArtifacts } from './artifacts.ts';
import { modelKind } from './kinds/index.ts';
import type { AnyModelKind, Hyperparameters } from './kinds/types.ts';
import { fitLinear, fitScaler, type Matrix, matrixRows, type Scaler, scale, unscale } from './stats.ts';
import { type TrialSummary, type TuneBudget, type TuneEvent, tune } from './tuner.ts';

export interface SplitData {
  x: Matrix;
  y: Matrix;
}

export interface TrainingRequest {
  kind: string;
  seed: number;
  budget: TuneBudget;
  fixed?: Hyperparameters;
  train: SplitData;
  val: SplitData;
  holdout: SplitData;
  /** The champion to compare with: its artifacts and the holdout features computed with its own kind state. */
  champion?: { version: string; dir: string; holdoutX: Matrix };
  /** Where to save: MODEL_SAVE_PATH and the relative artifact path. */
  saveRoot: string;
  artifactPath: string;
  version: string;
  kindState: unknown;
}

export interface TrainingResult {
  hyperparameters: Hyperparameters;
  /** The training's own figures: val_loss, epochs, trials, train_rows, val_rows, duration_s. */
  metrics: Record<string, number>;
  /** The network, the baselines and the champion on the same holdout: what the promotion gate compares. */
  evaluation: Evaluation;
  trials: TrialSummary[];
  budgetExhausted: boolean;
  backend: BackendName;
  durationS: number;
}

export async function runTraining(
  tf: TF,
  backend: BackendName,
  req: TrainingRequest,
  onEvent: (e: TuneEvent) => void,
): Promise<TrainingResult> {
  const started = Date.now();
  const kind = modelKind(req.kind);
  if (!kind) throw new Error(`unknown model kind ${req.kind}`);
  const xScaler = fitScaler(req.train.x);
  const yScaler = kind.scaleTargets ? fitScaler(req.train.y) : null;
  const scaledY = (m: Matrix) => (yScaler ? scale(m, yScaler) : m);
  const train = { x: scale(req.train.x, xScaler), y: scaledY(req.train.y) };
  const val = { x: scale(req.val.x, xScaler), y: scaledY(req.val.y) };

  const tuned = await tune(tf, kind, train, val, req.budget, { seed: req.seed, fixed: req.fixed, onEvent });
  try {
    const actual = matrixRows(req.holdout.y);
    const predicted = predictRows(tf, tuned.model, req.holdout.x, xScaler, yScaler);
    const baseline = fitLinear(train.x, train.y);
    const baselinePredicted = matrixRows(
      yScaler
        ? unscale(baseline.predict(scale(req.holdout.x, xScaler)), yScaler)
        : baseline.predict(scale(req.holdout.x, xScaler)),
    );
    const evaluation: Evaluation = {
      holdoutRows: req.holdout.x.rows,
      network: kind.evaluate(predicted, actual),
      linear: kind.evaluate(baselinePredicted, actual),
      classic: kind.classicBaseline
        ? kind.evaluate(matrixRows(req.holdout.x).map(kind.classicBaseline.predict), actual)
        : null,
      champion: req.champion ? await evaluateChampion(tf, kind, req.champion, actual) : null,
    };
    const durationS = (Date.now() - started) / 1000;
    const metrics: Record<string, number> = {
      val_loss: tuned.best.bestValLoss,
      epochs: tuned.best.epochs,
      trials: tuned.trials.length,
      train_rows: req.train.x.rows,
      val_rows: req.val.x.rows,
      duration_s: durationS,
    };
    const state: ModelState = {
      format: STATE_FORMAT,
      model: kind.name,
      version: req.version,
      featureNames: [...kind.featureNames],
      targetNames: [...kind.targetNames],
      xScaler,
      yScaler,
      kindState: req.kindState,
      hyperparameters: tuned.best.hyperparameters,
      metrics,
      evaluation,
    };
    await saveArtifacts(
      tf,
      tuned.model,
      artifactDir(req.saveRoot, req.artifactPath),
      state,
      kind.modelMetadata?.(state),
    );
    return {
      hyperparameters: tuned.best.hyperparameters,
      metrics,
      evaluation,
      trials: tuned.trials,
      budgetExhausted: tuned.budgetExhausted,
      backend,
      durationS,
    };
  } finally {
    tuned.model.dispose();
  }
}

async function evaluateChampion(
  tf: TF,
  kind: AnyModelKind,
  champion: NonNullable<TrainingRequest['champion']>,
  actual: number[][],
): Promise<ChampionEvaluation> {
  try {
    const loaded = await loadArtifacts(tf, champion.dir);
    try {
      const predicted = predictRows(tf, loaded.model, champion.holdoutX, loaded.state.xScaler, loaded.state.yScaler);
      return { version: champion.version, metrics: kind.evaluate(predicted, actual), error: null };
    } finally {
      loaded.model.dispose();
    }
  } catch (err) {
    return { version: champion.version, metrics: {}, error: (err as Error).message };
  }
}

/** Raw features in, target-unit outputs out (scaling and its inverse around the network). */
export function predictRows(
  tf: TF,
  model: { predict(x: never): unknown },
  x: Matrix,
  xScaler: Scaler,
  yScaler: Scaler | null,
): number[][] {
  const scaled = scale(x, xScaler);
  const output = tf.tidy(() => {
    const input = tf.tensor2d(scaled.data, [scaled.rows, scaled.cols]);
    return (model.predict(input as never) as import('@tensorflow/tfjs').Tensor).dataSync() as Float32Array;
  });
  const cols = output.length / Math.max(1, x.rows);
  const raw: Matrix = { data: Float32Array.from(output), rows: x.rows, cols };
  return matrixRows(yScaler ? unscale(raw, yScaler) : raw);
}
