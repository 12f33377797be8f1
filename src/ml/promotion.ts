/** The champion/challenger gate: a challenger replaces the champion only if it beats it on the same holdout. */
import type { AnyModelKind } from './kinds/types.js';

export interface Decision {
  promote: boolean;
  reason: string;
}

export function decidePromotion(
  kind: AnyModelKind,
  challenger: Record<string, number>,
  champion: { version: string; metrics: Record<string, number> } | { version: string; error: string } | null,
  minImprovement: number,
): Decision {
  const name = `holdout_${kind.primaryMetric.name}`;
  const ours = challenger[name];
  if (ours === undefined || !Number.isFinite(ours)) return { promote: false, reason: `the challenger has no finite ${name}` };
  if (!champion) return { promote: true, reason: `first version: ${name} ${fmt(ours)}` };
  if ('error' in champion) return { promote: true, reason: `champion ${champion.version} could not be evaluated (${champion.error}); the challenger (${name} ${fmt(ours)}) replaces it` };
  const theirs = champion.metrics[name];
  if (theirs === undefined || !Number.isFinite(theirs)) return { promote: true, reason: `champion ${champion.version} has no finite ${name} on this holdout` };
  const lower = kind.primaryMetric.lowerIsBetter;
  const needed = lower ? theirs * (1 - minImprovement) : theirs * (1 + minImprovement);
  const beats = lower ? ours < needed : ours > needed;
  const comparison = `${name} ${fmt(ours)} vs champion ${champion.version} ${fmt(theirs)} on the same holdout`;
  return beats ? { promote: true, reason: `beats the champion: ${comparison}` } : { promote: false, reason: `does not beat the champion: ${comparison}${minImprovement ? ` (needs ${fmt(needed)})` : ''}` };
}

const fmt = (v: number) => v.toPrecision(4);
