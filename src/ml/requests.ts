/**
 * The retraining protocol, NeuroWeaver's contract with components that ask for a model (RelayCore's
 * optimize): a RetrainRequest on retrain.requests, answered on retrain.replies under the request id
 * (QUEUED when an instance accepts it, then FINISHED or FAILED; REFUSED at once when it cannot).
 * The request is typed by its Avro schema; what the schema cannot say (ranges) is checked here.
 */

import { Value } from 'typebox/value';
import type { RetrainRequest } from '../../schemas/index.ts';
import { AutomatrixError } from '../errors/index.ts';
import { HyperparametersSchema } from '../shared/hyperparameters.ts';
import type { Hyperparameters } from './kinds/types.ts';
import type { TuneBudget } from './tuner.ts';

export class RequestError extends AutomatrixError {
  constructor(message: string) {
    super('retrain_invalid', message);
  }
}

export interface RetrainParams {
  from: number;
  to: number;
  budget: Partial<TuneBudget>;
  hyperparameters?: Hyperparameters;
  holdout?: 'newest' | 'random';
}

const BUDGET_LIMITS: Record<keyof TuneBudget, [number, number]> = {
  trials: [1, 64],
  maxEpochs: [1, 1000],
  timeS: [1, 86_400],
};

/** The window, budget and hyperparameters of a request; a bad one throws RequestError naming the field. */
export function retrainParams(request: RetrainRequest): RetrainParams {
  const { from, to } = request;
  if (to < from) throw new RequestError(`to (${to}) is before from (${from})`);
  const budget: Partial<TuneBudget> = {};
  for (const [name, [min, max]] of Object.entries(BUDGET_LIMITS) as [keyof TuneBudget, [number, number]][]) {
    const value = request.budget[name];
    if (value === null) continue;
    if (value < min || value > max)
      throw new RequestError(`budget.${name} must be from ${min} to ${max}, got ${value}`);
    budget[name] = value;
  }
  const hp = request.hyperparameters;
  const error = hp ? Value.Errors(HyperparametersSchema, hp)[0] : undefined;
  if (error) throw new RequestError(`hyperparameters${error.instancePath.replace(/\//g, '.')} ${error.message}`);
  return {
    from,
    to,
    budget,
    ...(hp ? { hyperparameters: hp } : {}),
    ...(request.holdout ? { holdout: request.holdout } : {}),
  };
}
