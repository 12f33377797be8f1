/**
 * The champion/challenger gate: a challenger replaces the champion only if it beats it on the same
 * holdout, and, for kinds with a classic baseline, only if it also beats that baseline there. A first
 * version (or one replacing a champion that cannot be evaluated) must also beat the linear baseline.
 */
import type { Evaluation } from '../../schemas/index.ts';
import type { AnyModelKind } from './kinds/types.ts';

export interface Decision {
  promote: boolean;
  reason: string;
}

/** Decides on the challenger's evaluation: its network against the champion and the baselines, on its holdout. */
export function decidePromotion(kind: AnyModelKind, evaluation: Evaluation, minImprovement: number): Decision {
  const name = kind.primaryMetric.name;
  const ours = evaluation.network[name];
  if (ours === undefined || !Number.isFinite(ours))
    return { promote: false, reason: `the challenger has no finite ${name} on the holdout` };
  const lower = kind.primaryMetric.lowerIsBetter;
  const better = (a: number, b: number) => (lower ? a < b : a > b);
  const finite = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);
  const classic = evaluation.classic?.[name];
  const linear = evaluation.linear?.[name];
  const orClassic = (promoted: Decision): Decision =>
    finite(classic) && !better(ours, classic)
      ? {
          promote: false,
          reason: `does not beat the classic baseline: ${name} ${fmt(ours)} vs ${fmt(classic)} on the same holdout`,
        }
      : promoted;
  // With no champion to beat, the baselines are the bar: a network worse than either is no model to serve.
  // The kind's classic baseline is named first: it is the one its users compare with (routing: p2c-peak-ewma's inputs).
  const orBaselines = (promoted: Decision): Decision =>
    orClassic(
      finite(linear) && !better(ours, linear)
        ? {
            promote: false,
            reason: `does not beat the linear baseline: ${name} ${fmt(ours)} vs ${fmt(linear)} on the same holdout`,
          }
        : promoted,
    );
  const bars = [
    finite(classic) ? `classic baseline ${fmt(classic)}` : '',
    finite(linear) ? `linear baseline ${fmt(linear)}` : '',
  ].filter(Boolean);
  const { champion } = evaluation;
  if (!champion)
    return orBaselines({
      promote: true,
      reason: `first version: ${name} ${fmt(ours)} on the holdout${bars.length ? ` (${bars.join(', ')})` : ''}`,
    });
  if (champion.error !== null)
    return orBaselines({
      promote: true,
      reason: `champion ${champion.version} could not be evaluated (${champion.error}); the challenger (${name} ${fmt(ours)}) replaces it`,
    });
  const theirs = champion.metrics[name];
  if (!finite(theirs))
    return orBaselines({ promote: true, reason: `champion ${champion.version} has no finite ${name} on this holdout` });
  const needed = lower ? theirs * (1 - minImprovement) : theirs * (1 + minImprovement);
  const comparison = `${name} ${fmt(ours)} vs champion ${champion.version} ${fmt(theirs)} on the same holdout`;
  if (!better(ours, needed))
    return {
      promote: false,
      reason: `does not beat the champion: ${comparison}${minImprovement ? ` (needs ${fmt(needed)})` : ''}`,
    };
  return orClassic({ promote: true, reason: `beats the champion: ${comparison}` });
}

const fmt = (v: number) => v.toPrecision(4);
