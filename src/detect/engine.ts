/**
 * Per-service detection state, independent of Kafka: scores metric samples and returns the
 * Anomaly records they cause. The stream processor and tests drive it; snapshots round-trip it.
 */
import type { AnomalyInput, MetricSample } from '../../schemas/types.ts';
import { anomalyRecord } from './explain.ts';
import { DEFAULT_HYSTERESIS, type HysteresisSettings, type IncidentSnapshot, IncidentTracker } from './incidents.ts';
import { ServiceDetector, type ServiceSnapshot } from './service-detector.ts';
import { DEFAULT_SETTINGS, type DetectorSettings } from './univariate.ts';

export const STANDARD_METRICS = [
  'cpu_usage',
  'memory_usage',
  'network_latency',
  'error_rate',
  'request_count',
] as const;
export const SNAPSHOT_FORMAT = 2;

export interface EngineOptions {
  settings: DetectorSettings;
  hysteresis: HysteresisSettings;
  maxMetrics: number;
}

export const DEFAULT_ENGINE: EngineOptions = {
  settings: DEFAULT_SETTINGS,
  hysteresis: DEFAULT_HYSTERESIS,
  maxMetrics: 16,
};

export class ServiceState {
  /** Partition and offset of the last sample scored (for snapshot bookkeeping). */
  partition = -1;
  offset = -1;
  changedSinceSnapshot = false;
  lastSnapshotAt = 0;
  private readonly slots: number[];

  readonly service: string;
  readonly detector: ServiceDetector;
  readonly incidents: IncidentTracker;

  constructor(service: string, detector: ServiceDetector, incidents: IncidentTracker) {
    this.service = service;
    this.detector = detector;
    this.incidents = incidents;
    this.slots = STANDARD_METRICS.map((m) => detector.slot(m));
  }

  /** Scores one sample; returns the Anomaly record it causes, if any. */
  score(sample: MetricSample): AnomalyInput | undefined {
    const d = this.detector;
    d.set(this.slots[0]!, sample.cpu_usage);
    d.set(this.slots[1]!, sample.memory_usage);
    d.set(this.slots[2]!, sample.network_latency);
    d.set(this.slots[3]!, sample.error_rate);
    d.set(this.slots[4]!, sample.request_count);
    for (const name in sample.extra) d.set(d.slot(name), sample.extra[name]!);
    const score = d.update(sample.timestamp);
    this.changedSinceSnapshot = true;
    const lead = d.lead >= 0 ? d.metrics[d.lead]! : '';
    const before = this.incidents.open;
    const transition = this.incidents.observe(sample.timestamp, score, d.kind, lead);
    if (!transition) return undefined;
    const incident = transition === 'CLOSED' ? before! : this.incidents.open!;
    return anomalyRecord(this.service, transition, d, incident, sample.timestamp);
  }

  toJSON(): EngineSnapshot {
    return { detector: this.detector.toJSON(), incidents: this.incidents.toJSON() };
  }

  static create(service: string, opts: EngineOptions = DEFAULT_ENGINE): ServiceState {
    return new ServiceState(
      service,
      new ServiceDetector(opts.maxMetrics, opts.settings),
      new IncidentTracker(service, opts.hysteresis),
    );
  }

  static fromJSON(service: string, snap: EngineSnapshot, opts: EngineOptions = DEFAULT_ENGINE): ServiceState {
    const incidents = new IncidentTracker(service, opts.hysteresis);
    incidents.restore(snap.incidents);
    return new ServiceState(
      service,
      ServiceDetector.fromJSON(snap.detector, opts.maxMetrics, opts.settings),
      incidents,
    );
  }
}

export interface EngineSnapshot {
  detector: ServiceSnapshot;
  incidents: IncidentSnapshot;
}
