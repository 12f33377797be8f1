/** NeuroWeaver's environment variables (spread into ENV in src/config/index.ts). */
import { int, num } from '../config/vars.ts';

const HOUR = 3_600_000;

export const ML_ENV = {
  ML_TUNE_TRIALS: int('ML_TUNE_TRIALS', 1, 64, {
    description: 'Hyperparameter trials of a training job when the request does not set `budget.trials`.',
    default: 8,
  }),
  ML_TUNE_MAX_EPOCHS: int('ML_TUNE_MAX_EPOCHS', 1, 1000, {
    description:
      'Epochs a trial that survives every successive-halving rung trains for (early stopping may end it sooner).',
    default: 60,
  }),
  ML_TUNE_TIME_BUDGET_S: int('ML_TUNE_TIME_BUDGET_S', 1, 86_400, {
    description:
      'Longest a training job tunes before it keeps the best trial so far, when the request does not set `budget.timeS`.',
    default: 600,
  }),
  ML_MIN_TRAINING_ROWS: int('ML_MIN_TRAINING_ROWS', 10, 10_000_000, {
    description:
      'Fewest labelled rows a training job accepts (smaller datasets are refused, or skipped for automatic retraining).',
    default: 50,
  }),
  ML_RETRAIN_INTERVAL_MS: int('ML_RETRAIN_INTERVAL_MS', 0, 30 * 24 * HOUR, {
    description: 'Scheduled retraining of every model on the recent window; 0 turns the schedule off.',
    default: 6 * HOUR,
  }),
  ML_RETRAIN_WINDOW_MS: int('ML_RETRAIN_WINDOW_MS', 60_000, 365 * 24 * HOUR, {
    description:
      'How far back a retraining run (schedule, drift, regime change, orchestrator, or a train request without data) replays.',
    default: 24 * HOUR,
  }),
  ML_RETRAIN_COOLDOWN_MS: int('ML_RETRAIN_COOLDOWN_MS', 0, 7 * 24 * HOUR, {
    description: 'Least time between two automatic retraining runs of the same model (API requests are not limited).',
    default: 15 * 60_000,
  }),
  ML_DRIFT_THRESHOLD: num('ML_DRIFT_THRESHOLD', 1, 100, {
    description:
      "Drift trigger: retrain when the champion's error on recent labelled samples exceeds this multiple of its holdout error.",
    default: 1.5,
  }),
  ML_DRIFT_WINDOW: int('ML_DRIFT_WINDOW', 10, 1_000_000, {
    description: 'Recent labelled samples over which the drift error is measured.',
    default: 500,
  }),
  ML_KEEP_VERSIONS: int('ML_KEEP_VERSIONS', 1, 100_000, {
    description:
      'Versions of each model kept (registry record and artifacts): the newest ones, plus always the champion and the one a rollback returns to.',
    default: 50,
  }),
  ML_PROMOTION_MIN_IMPROVEMENT: num('ML_PROMOTION_MIN_IMPROVEMENT', 0, 0.99, {
    description:
      'Relative improvement of the holdout error a challenger needs over the champion to replace it (0: any improvement).',
    default: 0,
  }),
} as const;
