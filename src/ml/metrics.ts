/** NeuroWeaver's Prometheus metrics (one set per process, on the shared registry). */
import client from 'prom-client';
import type { Evaluation } from '../../schemas/index.ts';
import { metricsRegistry } from '../api/metrics.ts';

const existing = <T>(name: string) => metricsRegistry.getSingleMetric(name) as T | undefined;

export const predictionsTotal =
  existing<client.Counter<'model'>>('automatrix_neuroweaver_predictions_total') ??
  new client.Counter({
    name: 'automatrix_neuroweaver_predictions_total',
    help: 'Rows predicted, by model.',
    labelNames: ['model'] as const,
    registers: [metricsRegistry],
  });

export const trainingJobsTotal =
  existing<client.Counter<'model' | 'trigger' | 'state'>>('automatrix_neuroweaver_training_jobs_total') ??
  new client.Counter({
    name: 'automatrix_neuroweaver_training_jobs_total',
    help: 'Finished training jobs, by model, trigger and final state.',
    labelNames: ['model', 'trigger', 'state'] as const,
    registers: [metricsRegistry],
  });

export interface ModelGaugeSource {
  models(): { model: string; driftRatio: number | null; evaluation: Evaluation | null }[];
  jobs(): { running: number; queued: number };
}

let source: ModelGaugeSource | undefined;

/** The NeuroWeaver whose models and jobs the gauges report (the last one started in this process); `undefined, s` withdraws `s`. */
export function reportGauges(s: ModelGaugeSource | undefined, withdrawn?: ModelGaugeSource): void {
  if (s || source === withdrawn) source = s;
}

function gauge<L extends string>(
  name: string,
  help: string,
  labelNames: L[],
  fill: (g: client.Gauge<L>) => void,
): client.Gauge<L> {
  return (
    existing<client.Gauge<L>>(name) ??
    new client.Gauge({
      name,
      help,
      labelNames,
      registers: [metricsRegistry],
      collect() {
        this.reset();
        if (source) fill(this);
      },
    })
  );
}

gauge(
  'automatrix_neuroweaver_drift_ratio',
  "Serving model's recent error over its holdout error (retraining past ML_DRIFT_THRESHOLD).",
  ['model'],
  (g) => {
    for (const m of source!.models()) if (m.driftRatio !== null) g.set({ model: m.model }, m.driftRatio);
  },
);
/** The predictors of an evaluation the serving gauge reports: the network and its baselines (the champion is itself). */
const PREDICTORS = ['network', 'linear', 'classic'] as const;
gauge(
  'automatrix_neuroweaver_serving_metric',
  "Holdout figures of the serving version of each model: its network's and, on the same holdout, the linear and classic baselines' (label predictor).",
  ['model', 'predictor', 'metric'],
  (g) => {
    for (const m of source!.models())
      for (const predictor of PREDICTORS)
        for (const [metric, value] of Object.entries(m.evaluation?.[predictor] ?? {}))
          g.set({ model: m.model, predictor, metric }, value);
  },
);
gauge('automatrix_neuroweaver_training_jobs', 'Training jobs running and queued.', ['state'], (g) => {
  const { running, queued } = source!.jobs();
  g.set({ state: 'running' }, running);
  g.set({ state: 'queued' }, queued);
});
