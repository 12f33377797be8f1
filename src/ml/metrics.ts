/** NeuroWeaver's Prometheus metrics (one set per process, on the shared registry). */
import client from 'prom-client';
import { metricsRegistry } from '../api/metrics.js';

const existing = <T>(name: string) => metricsRegistry.getSingleMetric(name) as T | undefined;

export const predictionsTotal =
  existing<client.Counter<'model'>>('automatrix_neuroweaver_predictions_total') ??
  new client.Counter({ name: 'automatrix_neuroweaver_predictions_total', help: 'Rows predicted, by model.', labelNames: ['model'] as const, registers: [metricsRegistry] });

export const trainingJobsTotal =
  existing<client.Counter<'model' | 'trigger' | 'state'>>('automatrix_neuroweaver_training_jobs_total') ??
  new client.Counter({ name: 'automatrix_neuroweaver_training_jobs_total', help: 'Finished training jobs, by model, trigger and final state.', labelNames: ['model', 'trigger', 'state'] as const, registers: [metricsRegistry] });
