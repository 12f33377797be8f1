/**
 * The retraining request, NeuroWeaver's contract with components that ask for a model (RelayCore's
 * optimize): an `orchestrator.actions` record of kind `retrain`, status EXECUTED, with
 * `params.requestedBy`. One NeuroWeaver instance (the trigger group is shared) answers on
 * training.events, keyed by the request id: JOB_QUEUED when it accepts, then JOB_FINISHED (with
 * the version it registered) or JOB_FAILED (also at once, when it refuses).
 */
import { Value } from 'typebox/value';
import type { OrchestratorAction } from '../../schemas/types.ts';
import { HyperparametersSchema } from './api-schemas.ts';
import type { Hyperparameters } from './kinds/types.ts';
import type { TuneBudget } from './tuner.ts';

export interface RetrainRequest {
  /** Unique: the action id, the job id, and the key of the answer on training.events. */
  id: string;
  model: string;
  /** Who asks: shown in the job's reason and the logs. */
  requestedBy: string;
  reason: string;
  /** Window of the model's source topic to replay, epoch ms. */
  from: number;
  to: number;
  /** Epoch ms after which the requester no longer waits: a NeuroWeaver reading the request later ignores it. */
  deadline: number;
  budget?: Partial<TuneBudget>;
  /** Train exactly these (one trial, no search). */
  hyperparameters?: Hyperparameters;
  /** Which rows the holdout takes (default: the newest); `random` when the window is not one time series (e.g. separate runs). */
  holdout?: 'newest' | 'random';
}

export class RequestError extends Error {}

export function retrainAction(r: RetrainRequest, now = Date.now()): OrchestratorAction {
  const params: Record<string, string> = {
    model: r.model,
    requestedBy: r.requestedBy,
    from: String(r.from),
    to: String(r.to),
    deadline: String(r.deadline),
  };
  for (const [name, value] of Object.entries(r.budget ?? {})) if (value !== undefined) params[name] = String(value);
  if (r.hyperparameters) params.hyperparameters = JSON.stringify(r.hyperparameters);
  if (r.holdout) params.holdout = r.holdout;
  return {
    id: r.id,
    kind: 'retrain',
    target: r.model,
    reason: r.reason,
    trigger: null,
    dryRun: false,
    status: 'EXECUTED',
    params,
    error: null,
    at: now,
  };
}

export interface RetrainParams {
  from: number;
  to: number;
  budget: Partial<TuneBudget>;
  hyperparameters?: Hyperparameters;
  holdout?: 'newest' | 'random';
}

/** The window, budget and hyperparameters of a request; a bad one throws RequestError naming the parameter. */
export function parseRetrainParams(
  params: Record<string, string>,
  window: { from: number; to: number },
): RetrainParams {
  const int = (name: string, min: number, max: number): number | undefined => {
    const raw = params[name];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new RequestError(`params.${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    return n;
  };
  const from = int('from', 0, Number.MAX_SAFE_INTEGER) ?? window.from;
  const to = int('to', 0, Number.MAX_SAFE_INTEGER) ?? window.to;
  if (to < from) throw new RequestError(`params.to (${to}) is before params.from (${from})`);
  const budget: Partial<TuneBudget> = {};
  const trials = int('trials', 1, 64);
  const maxEpochs = int('maxEpochs', 1, 1000);
  const timeS = int('timeS', 1, 86_400);
  if (trials !== undefined) budget.trials = trials;
  if (maxEpochs !== undefined) budget.maxEpochs = maxEpochs;
  if (timeS !== undefined) budget.timeS = timeS;
  const holdout = params.holdout;
  if (holdout !== undefined && holdout !== 'newest' && holdout !== 'random')
    throw new RequestError(`params.holdout must be newest or random, got "${holdout}"`);
  return {
    from,
    to,
    budget,
    holdout,
    hyperparameters: params.hyperparameters === undefined ? undefined : parseHyperparameters(params.hyperparameters),
  };
}

function parseHyperparameters(raw: string): Hyperparameters {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new RequestError('params.hyperparameters is not JSON');
  }
  const error = Value.Errors(HyperparametersSchema, value)[0];
  if (error) throw new RequestError(`params.hyperparameters${error.instancePath.replace(/\//g, '.')} ${error.message}`);
  return value as Hyperparameters;
}
