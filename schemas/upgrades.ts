/**
 * Reading records written before a schema change that Avro's own resolution cannot express: the
 * decoder (src/kafka/serde.ts) applies a schema's upgrade to every value it reads, Avro or JSON, so
 * no reader ever sees the older shape.
 */
import type { Evaluation, ModelVersion, SchemaTypes } from './types.ts';

type Upgrades = { [S in keyof SchemaTypes]?: (value: SchemaTypes[S]) => SchemaTypes[S] };

/** Where each figure of an older version record went: its key prefix, by field of the evaluation. */
const PREFIXES = { network: 'holdout_', linear: 'baseline_', classic: 'classic_', champion: 'champion_' } as const;
type Part = keyof typeof PREFIXES;

/**
 * A version recorded before `evaluation` existed kept what the gate compared in `metrics`, under key
 * prefixes (`holdout_rmse`, `baseline_rmse`, `classic_combined_loss`, `champion_rmse`, `holdout_rows`):
 * lifted here into the typed record, the training's own figures left in `metrics`.
 */
export function liftPrefixedMetrics(v: ModelVersion): ModelVersion {
  if (v.evaluation) return v;
  const parts: Record<Part, Record<string, number>> = { network: {}, linear: {}, classic: {}, champion: {} };
  const metrics: Record<string, number> = {};
  let holdoutRows = 0;
  let lifted = false;
  for (const [key, value] of Object.entries(v.metrics)) {
    if (key === 'holdout_rows') {
      holdoutRows = value;
      lifted = true;
      continue;
    }
    const part = (Object.keys(PREFIXES) as Part[]).find((p) => key.startsWith(PREFIXES[p]));
    // The champion's figures name it only through `parent`: without one they stay where they were.
    if (part && (part !== 'champion' || v.parent)) {
      parts[part][key.slice(PREFIXES[part].length)] = value;
      lifted = true;
    } else metrics[key] = value;
  }
  if (!lifted) return v;
  const some = (m: Record<string, number>) => (Object.keys(m).length ? m : null);
  const evaluation: Evaluation = {
    holdoutRows,
    network: parts.network,
    linear: some(parts.linear),
    classic: some(parts.classic),
    // The champion's figures were written only when it was evaluated.
    champion: v.parent && some(parts.champion) ? { version: v.parent, metrics: parts.champion, error: null } : null,
  };
  return { ...v, metrics, evaluation };
}

export const UPGRADES: Upgrades = { 'model-version': liftPrefixedMetrics };
