/** Prometheus metrics of anomaly detection (on the process-wide registry, created once). */
import client from 'prom-client';
import { metricsRegistry } from '../api/metrics.ts';

function once<T>(name: string, make: () => T): T {
  return (metricsRegistry.getSingleMetric(name) as T | undefined) ?? make();
}

export const detectMetrics = {
  samples: once(
    'automatrix_detect_samples_total',
    () =>
      new client.Counter({
        name: 'automatrix_detect_samples_total',
        help: 'Metric samples scored by anomaly detection.',
      }),
  ),
  incidents: once(
    'automatrix_detect_anomaly_records_total',
    () =>
      new client.Counter({
        name: 'automatrix_detect_anomaly_records_total',
        help: 'Anomaly records produced, by state (OPEN, UPDATE, CLOSED).',
        labelNames: ['state'] as const,
      }),
  ),
  snapshots: once(
    'automatrix_detect_snapshots_total',
    () =>
      new client.Counter({
        name: 'automatrix_detect_snapshots_total',
        help: 'Service state snapshots written to detector.state.',
      }),
  ),
  services: once(
    'automatrix_detect_services',
    () =>
      new client.Gauge({
        name: 'automatrix_detect_services',
        help: 'Services whose detector state this instance holds.',
      }),
  ),
};
