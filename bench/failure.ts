/**
 * `npm run bench:failure`: the learned failure predictor against the classic rule, on simulated
 * services (bench/lib/service-sim.ts, fixed seeds) sharing one model.
 *
 * Prequential: every sample is first predicted, and learned from only once its label is known
 * (its horizon has passed). Scored on the second half of the run, on samples where the service
 * is not already in breach (predicting a breach that is under way is no prediction):
 * - Brier score (lower is better) and ROC AUC (higher is better) of P(breach within horizon);
 * - lead time: for each breach onset, how long before it an alert (model p >= 0.5; rule: 80% of
 *   the SLO used) had been standing continuously; recall of onsets with any lead; false alerts
 *   per 1000 healthy samples.
 */
import {
  breaches,
  FailureModel,
  FEATURES,
  FeatureTracker,
  LabelQueue,
  ruleProbability,
  type Slo,
} from '../src/orchestrator/failure.ts';
import { table, writeResult } from './lib/result.ts';
import { simulateService } from './lib/service-sim.ts';

const SERVICES = 12;
const DAYS = 28;
const HORIZON_MS = 60 * 60_000;
const SLO: Slo = { errorRate: 5, latencyMs: 500 };
const INTERVAL = 5 * 60_000;

interface Row {
  t: number;
  model: number;
  rule: number;
  label: 0 | 1;
  healthy: boolean;
}

const model = new FailureModel();
const perService: Row[][] = [];
const all = Array.from({ length: SERVICES }, (_, k) => simulateService(9000 + k, DAYS, INTERVAL));
const trackers = all.map(() => new FeatureTracker(SLO));
const queues = all.map(() => new LabelQueue(HORIZON_MS));
const rowsX = new Float64Array(FEATURES.length);
for (let k = 0; k < SERVICES; k++) perService.push([]);
// Interleave services in time, as a stream would.
for (let i = 0; i < all[0]!.length; i++) {
  for (let k = 0; k < SERVICES; k++) {
    const s = all[k]![i]!;
    const rps = s.request_count / (INTERVAL / 1000);
    const capacity = (s.replicas ?? 1) * 100;
    const x = trackers[k]!.features({ ...s, utilization: rps / capacity }, HORIZON_MS, rowsX);
    model.observe(x);
    perService[k]!.push({
      t: s.timestamp,
      model: model.predict(x),
      rule: ruleProbability(s, SLO),
      label: 0,
      healthy: !breaches(s, SLO),
    });
    queues[k]!.push(s.timestamp, x, breaches(s, SLO), model);
  }
}
// Labels: a breach at some later sample within the horizon.
for (let k = 0; k < SERVICES; k++) {
  const rows = perService[k]!;
  for (let i = 0; i < rows.length; i++) {
    for (let j = i + 1; j < rows.length && rows[j]!.t <= rows[i]!.t + HORIZON_MS; j++) {
      if (!rows[j]!.healthy) {
        rows[i]!.label = 1;
        break;
      }
    }
  }
}

function auc(rows: Row[], key: 'model' | 'rule'): number {
  const sorted = [...rows].sort((a, b) => a[key] - b[key]);
  let rankSum = 0;
  let pos = 0;
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1]![key] === sorted[i]![key]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if (sorted[k]!.label === 1) {
        rankSum += rank;
        pos++;
      }
    i = j + 1;
  }
  const neg = rows.length - pos;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

function leadTimes(key: 'model' | 'rule', threshold: number, from: number) {
  const leads: number[] = [];
  let onsets = 0;
  let falseAlerts = 0;
  let healthyRows = 0;
  for (const rows of perService) {
    for (let i = 1; i < rows.length; i++) {
      const r = rows[i]!;
      if (r.t < from) continue;
      if (r.healthy) {
        healthyRows++;
        if (r[key] >= threshold && r.label === 0) falseAlerts++;
      }
      if (!r.healthy && rows[i - 1]!.healthy) {
        onsets++;
        let j = i - 1;
        while (j >= 0 && rows[j]!.healthy && rows[j]![key] >= threshold) j--;
        leads.push((r.t - rows[j + 1]!.t) / 60_000);
      }
    }
  }
  const detected = leads.filter((l) => l > 0).sort((a, b) => a - b);
  return {
    onsets,
    onsets_alerted_before: detected.length,
    recall: detected.length / Math.max(1, onsets),
    median_lead_min: detected.length ? detected[Math.floor((detected.length - 1) / 2)]! : 0,
    false_alerts_per_1000_healthy: (falseAlerts / Math.max(1, healthyRows)) * 1000,
  };
}

const from = all[0]![Math.floor(all[0]!.length / 2)]!.timestamp;
const scored = perService.flat().filter((r) => r.t >= from && r.healthy);
const brier = (key: 'model' | 'rule') => scored.reduce((s, r) => s + (r[key] - r.label) ** 2, 0) / scored.length;
const baseRate = scored.filter((r) => r.label === 1).length / scored.length;
const result = {
  model: { brier: brier('model'), auc: auc(scored, 'model'), ...leadTimes('model', 0.5, from) },
  rule: { brier: brier('rule'), auc: auc(scored, 'rule'), ...leadTimes('rule', 0.8, from) },
};
console.log(
  `${SERVICES} services x ${DAYS} days at 5 min; horizon ${HORIZON_MS / 60_000} min; SLO error rate ${SLO.errorRate}%, latency ${SLO.latencyMs} ms.`,
);
console.log(
  `Scored: ${scored.length} healthy samples of the second half; base rate of a breach within the horizon: ${baseRate.toFixed(3)}; model trained on ${model.trained} labeled samples.\n`,
);
console.log(
  table([
    { predictor: 'learned (online logistic regression)', ...round(result.model) },
    { predictor: 'rule (share of SLO used; alert at 0.8)', ...round(result.rule) },
  ]),
);
const weights = FEATURES.map((f, i) => ({ feature: f, weight: Number(model.weights[i]!.toFixed(3)) })).sort(
  (a, b) => Math.abs(b.weight) - Math.abs(a.weight),
);
console.log(`\nLearned weights (standardised features): ${weights.map((w) => `${w.feature} ${w.weight}`).join(', ')}`);
writeResult(
  'failure',
  { model: round(result.model), rule: round(result.rule) },
  { baseRate, scored: scored.length, weights, horizonMinutes: HORIZON_MS / 60_000 },
);

function round<T extends Record<string, number>>(o: T): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Number(v.toFixed(3))]));
}
