/**
 * Hyperparameter search with successive halving: every trial trains a few epochs, the better half
 * goes on to twice as many, and so on until one (or a few) reach `maxEpochs`; bad trials stop
 * early. Within a trial, early stopping on the validation loss keeps the best weights. A time
 * budget ends the search with the best trial so far. Runs wherever tfjs is loaded (the worker).
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { TF } from '../shared/tensorflow.ts';
import type { AnyModelKind, Hyperparameters, SearchSpace } from './kinds/types.ts';
import type { Matrix } from './stats.ts';
import { seededRandom } from './stats.ts';

export const DEFAULT_SPACE: SearchSpace = {
  layers: [1, 2, 3],
  units: [16, 32, 64, 128],
  learningRate: [3e-4, 1e-2],
  batchSize: [32, 64, 128, 256],
  l2: [1e-6, 1e-3],
  l2Zero: true,
  dropout: [0, 0, 0.1],
  activation: ['relu', 'elu'],
};

/** Trial 1 is always this (when the space allows it): a sound default anchors the search. */
const ANCHOR: Hyperparameters = {
  layers: 2,
  units: 64,
  learningRate: 3e-3,
  batchSize: 64,
  l2: 0,
  dropout: 0,
  activation: 'relu',
};

export interface TuneBudget {
  trials: number;
  maxEpochs: number;
  timeS: number;
}

export interface TuneProgress {
  trial: number;
  trials: number;
  epoch: number;
  rung: number;
  rungs: number;
  epochsDone: number;
  epochsPlanned: number;
  best: { trial: number; valLoss: number; hyperparameters: Hyperparameters } | null;
}

export interface TuneEvent {
  kind: 'TRIAL_STARTED' | 'EPOCH' | 'TRIAL_STOPPED' | 'TRIAL_FINISHED';
  trial: number;
  epoch: number | null;
  metrics: Record<string, number>;
  hyperparameters: Hyperparameters;
  message: string | null;
  progress: TuneProgress;
}

export interface TrialSummary {
  trial: number;
  hyperparameters: Hyperparameters;
  epochs: number;
  bestValLoss: number;
  outcome: 'finished' | 'early_stopped' | 'halved' | 'out_of_time';
}

export interface TuneResult {
  model: LayersModel;
  best: TrialSummary;
  trials: TrialSummary[];
  budgetExhausted: boolean;
}

interface Split {
  x: Matrix;
  y: Matrix;
}

interface Trial {
  id: number;
  hp: Hyperparameters;
  model: LayersModel;
  epochs: number;
  bestValLoss: number;
  bestWeights: Tensor[] | null;
  sinceBest: number;
  outcome: TrialSummary['outcome'] | null;
}

export interface TuneOptions {
  seed: number;
  /** Train exactly these hyperparameters (one trial, no search). */
  fixed?: Hyperparameters;
  /** Halving rate: each rung keeps 1/eta of the trials and trains them eta times longer. */
  eta?: number;
  onEvent?: (e: TuneEvent) => void;
}

/** Epochs per rung and trials per rung of a successive-halving schedule. */
export function halvingSchedule(trials: number, maxEpochs: number, eta = 2): { epochs: number[]; survivors: number[] } {
  let rungs = trials > 1 ? Math.floor(Math.log(trials) / Math.log(eta)) : 0;
  while (rungs > 0 && maxEpochs / eta ** rungs < 2) rungs--;
  const epochs = Array.from({ length: rungs + 1 }, (_, k) => Math.max(1, Math.round(maxEpochs / eta ** (rungs - k))));
  const survivors = Array.from({ length: rungs + 1 }, (_, k) => Math.max(1, Math.ceil(trials / eta ** k)));
  return { epochs, survivors };
}

export function plannedEpochs(schedule: { epochs: number[]; survivors: number[] }): number {
  return schedule.epochs.reduce((sum, e, k) => sum + schedule.survivors[k]! * (e - (schedule.epochs[k - 1] ?? 0)), 0);
}

/**
 * Batch sizes grow with the training set, about one power of two per doubling past 16k rows (up to 16x):
 * an optimiser step costs the same fixed overhead whatever the batch (on wasm, an epoch of 64k rows takes
 * 3.2 s at batch 32 and 0.42 s at 256), so large datasets otherwise spend the time budget on overhead.
 */
export function batchScale(trainRows: number): number {
  return Math.min(16, 2 ** Math.max(0, Math.round(Math.log2(trainRows / 16_384))));
}

export function sampleHyperparameters(
  space: SearchSpace,
  random: () => number,
  count: number,
  scale = 1,
): Hyperparameters[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
  const logUniform = ([lo, hi]: [number, number]) => Math.exp(Math.log(lo) + random() * (Math.log(hi) - Math.log(lo)));
  const anchorFits =
    space.layers.includes(ANCHOR.layers) &&
    space.units.includes(ANCHOR.units) &&
    space.batchSize.includes(ANCHOR.batchSize) &&
    space.activation.includes(ANCHOR.activation);
  return Array.from({ length: count }, (_, i) =>
    i === 0 && anchorFits
      ? {
          ...ANCHOR,
          batchSize: ANCHOR.batchSize * scale,
          learningRate: Math.min(space.learningRate[1], Math.max(space.learningRate[0], ANCHOR.learningRate)),
        }
      : {
          layers: pick(space.layers),
          units: pick(space.units),
          learningRate: round(logUniform(space.learningRate)),
          batchSize: pick(space.batchSize) * scale,
          l2: space.l2Zero && random() < 0.3 ? 0 : round(logUniform(space.l2)),
          dropout: pick(space.dropout),
          activation: pick(space.activation),
        },
  );
}

const round = (v: number) => Number(v.toPrecision(3));

export async function tune(
  tf: TF,
  kind: AnyModelKind,
  train: Split,
  val: Split,
  budget: TuneBudget,
  opts: TuneOptions,
): Promise<TuneResult> {
  const space = { ...DEFAULT_SPACE, ...kind.searchSpace };
  const configs = opts.fixed
    ? [opts.fixed]
    : sampleHyperparameters(
        space,
        seededRandom(opts.seed),
        budget.trials,
        kind.searchSpace?.batchSize ? 1 : batchScale(train.x.rows),
      );
  const schedule = halvingSchedule(configs.length, budget.maxEpochs, opts.eta ?? 2);
  const deadline = Date.now() + budget.timeS * 1000;
  const patience = Math.max(5, Math.ceil(budget.maxEpochs / 10));
  const tensors = {
    xTrain: tf.tensor2d(train.x.data, [train.x.rows, train.x.cols]),
    yTrain: tf.tensor2d(train.y.data, [train.y.rows, train.y.cols]),
    xVal: tf.tensor2d(val.x.data, [val.x.rows, val.x.cols]),
    yVal: tf.tensor2d(val.y.data, [val.y.rows, val.y.cols]),
  };
  const progress: TuneProgress = {
    trial: 0,
    trials: configs.length,
    epoch: 0,
    rung: 0,
    rungs: schedule.epochs.length,
    epochsDone: 0,
    epochsPlanned: plannedEpochs(schedule),
    best: null,
  };
  const emit = (
    kind: TuneEvent['kind'],
    t: Trial,
    epoch: number | null,
    metrics: Record<string, number>,
    message: string | null = null,
  ) => opts.onEvent?.({ kind, trial: t.id, epoch, metrics, hyperparameters: t.hp, message, progress: { ...progress } });
  let outOfTime = false;

  const trials: Trial[] = configs.map((hp, i) => ({
    id: i + 1,
    hp,
    model: compile(tf, kind, hp, train.x.cols, train.y.cols),
    epochs: 0,
    bestValLoss: Infinity,
    bestWeights: null,
    sinceBest: 0,
    outcome: null,
  }));
  let alive = trials;
  let kept: Trial | undefined;
  try {
    for (let rung = 0; rung < schedule.epochs.length && !outOfTime; rung++) {
      progress.rung = rung + 1;
      for (const t of alive) {
        if (t.outcome || outOfTime) continue;
        progress.trial = t.id;
        if (t.epochs === 0) emit('TRIAL_STARTED', t, null, {}, `rung ${rung + 1}/${schedule.epochs.length}`);
        await fitTrial(t, schedule.epochs[rung]!);
      }
      if (rung < schedule.epochs.length - 1 && !outOfTime)
        alive = halve(alive, schedule.survivors[rung + 1]!, rung + 1);
    }
    for (const t of alive) {
      t.outcome ??= outOfTime ? 'out_of_time' : 'finished';
      emit(
        t.outcome === 'out_of_time' ? 'TRIAL_STOPPED' : 'TRIAL_FINISHED',
        t,
        t.epochs,
        { best_val_loss: t.bestValLoss },
        t.outcome === 'out_of_time' ? 'time budget used up' : null,
      );
    }
    const best = [...trials].filter((t) => t.bestWeights).sort((a, b) => a.bestValLoss - b.bestValLoss)[0];
    if (!best) throw new Error('no trial completed an epoch within the time budget');
    best.model.setWeights(best.bestWeights!);
    kept = best;
    return { model: best.model, best: summary(best), trials: trials.map(summary), budgetExhausted: outOfTime };
  } finally {
    for (const t of trials) {
      t.bestWeights?.forEach((w) => {
        w.dispose();
      });
      if (t !== kept) t.model.dispose();
    }
    Object.values(tensors).forEach((x) => {
      x.dispose();
    });
  }

  async function fitTrial(t: Trial, untilEpoch: number): Promise<void> {
    if (t.epochs >= untilEpoch) return;
    await t.model.fit(tensors.xTrain, tensors.yTrain, {
      epochs: untilEpoch,
      initialEpoch: t.epochs,
      batchSize: t.hp.batchSize,
      validationData: [tensors.xVal, tensors.yVal],
      shuffle: true,
      verbose: 0,
      callbacks: {
        onEpochEnd: async (epoch, logs) => {
          t.epochs = epoch + 1;
          progress.epoch = t.epochs;
          progress.epochsDone++;
          const valLoss = logs?.val_loss ?? Infinity;
          recordBest(t, valLoss);
          emit('EPOCH', t, t.epochs, { ...(logs ?? {}), best_val_loss: t.bestValLoss });
          if (t.sinceBest >= patience) {
            t.outcome = 'early_stopped';
            t.model.stopTraining = true;
            emit(
              'TRIAL_STOPPED',
              t,
              t.epochs,
              { best_val_loss: t.bestValLoss },
              `early stopping: no val_loss improvement in ${patience} epochs`,
            );
          } else if (Date.now() > deadline) {
            outOfTime = true;
            t.model.stopTraining = true;
          }
        },
      },
    });
  }

  function recordBest(t: Trial, valLoss: number): void {
    const improves =
      Number.isFinite(valLoss) &&
      (!Number.isFinite(t.bestValLoss) || valLoss < t.bestValLoss - 1e-4 * Math.abs(t.bestValLoss));
    if (!improves) {
      t.sinceBest++;
      return;
    }
    t.bestValLoss = valLoss;
    t.sinceBest = 0;
    t.bestWeights?.forEach((w) => {
      w.dispose();
    });
    t.bestWeights = t.model.getWeights().map((w) => w.clone());
    if (!progress.best || valLoss < progress.best.valLoss)
      progress.best = { trial: t.id, valLoss, hyperparameters: t.hp };
  }

  function halve(current: Trial[], keep: number, nextRung: number): Trial[] {
    const ranked = [...current].sort((a, b) => a.bestValLoss - b.bestValLoss);
    for (const [rank, t] of ranked.entries()) {
      if (rank < keep || t.outcome) continue;
      t.outcome = 'halved';
      emit(
        'TRIAL_STOPPED',
        t,
        t.epochs,
        { best_val_loss: t.bestValLoss },
        `successive halving: rank ${rank + 1} of ${ranked.length} after ${t.epochs} epochs, ${keep} go on to rung ${nextRung + 1}`,
      );
    }
    return ranked.slice(0, keep);
  }
}

function compile(tf: TF, kind: AnyModelKind, hp: Hyperparameters, inputs: number, outputs: number): LayersModel {
  const model = kind.buildNetwork(tf, hp, inputs, outputs);
  const loss = typeof kind.loss === 'string' ? kind.loss : kind.loss(tf);
  model.compile({ optimizer: tf.train.adam(hp.learningRate), loss, metrics: kind.epochMetrics });
  return model;
}

const summary = (t: Trial): TrialSummary => ({
  trial: t.id,
  hyperparameters: t.hp,
  epochs: t.epochs,
  bestValLoss: t.bestValLoss,
  outcome: t.outcome ?? 'finished',
});
