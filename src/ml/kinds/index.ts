/**
 * Every model kind NeuroWeaver trains, by name. Plugging a new kind in is one line here (the
 * worker thread and the API find it by name); see docs/neuroweaver.md for the interface.
 */
import { performanceKind } from './performance.ts';
import { routingKind } from './routing.ts';
import type { AnyModelKind } from './types.ts';

export const MODEL_KINDS: Record<string, AnyModelKind> = {
  [performanceKind.name]: performanceKind,
  [routingKind.name]: routingKind,
};

export function modelKind(name: string): AnyModelKind | undefined {
  return Object.hasOwn(MODEL_KINDS, name) ? MODEL_KINDS[name] : undefined;
}

export {
  type AnyModelKind,
  type Hyperparameters,
  type Loss,
  type ModelKind,
  parseFlatRow,
  RowError,
  type SearchSpace,
} from './types.ts';
