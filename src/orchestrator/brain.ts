/**
 * What the orchestrator knows and decides, without Kafka: per-service forecasters, the shared
 * failure model, scaling advisors, the anomaly window and the policy engine. The component feeds
 * it records; the API reads it.
 */
import type { Anomaly, EcosystemEvent, MetricSample, OrchestratorAction } from '../../schemas/types.ts';
import { AnomalyStore } from './anomaly-store.ts';
import { breaches, type Driver, FailureModel, FEATURES, FeatureTracker, LabelQueue, type Slo } from './failure.ts';
import { Forecaster, type ForecastPoint, type Saturation, saturation } from './forecast.ts';
import { type Condition, PolicyEngine, type PolicySettings } from './policy.ts';
import { type Recommendation, ScalingAdvisor, type ScalingSettings } from './scaling.ts';

export interface BrainSettings {
  horizonMs: number;
  evalIntervalMs: number;
  slo: Slo;
  defaultCapacityRps: number;
  capacityByService: ReadonlyMap<string, number>;
  cpuSaturation: number;
  memorySaturation: number;
  scaling: ScalingSettings;
  policy: PolicySettings;
  anomalyWindow: number;
  recentActions?: number;
}

export interface FailurePrediction {
  probability: number;
  horizonMs: number;
  drivers: Driver[];
  /** The classic rule's figure for the same sample: share of the SLO in use. */
  rule: number;
  inBreach: boolean;
  trainedOn: number;
  at: number;
}

export interface CapacityView {
  service: string;
  at: number;
  horizonMs: number;
  samplingIntervalMs: number;
  replicas: number | null;
  capacityPerReplicaRps: number;
  requests: { unit: 'req/s'; seasonality: string; current: number; forecast: ForecastPoint[]; saturation: Saturation };
  cpu: { unit: '%'; seasonality: string; current: number; forecast: ForecastPoint[]; saturation: Saturation };
  memory: { unit: '%'; seasonality: string; current: number; forecast: ForecastPoint[]; saturation: Saturation };
  recommendation: Recommendation | null;
}

class ServiceModel {
  readonly requests = new Forecaster();
  readonly cpu = new Forecaster();
  readonly memory = new Forecaster();
  readonly features: FeatureTracker;
  readonly labels: LabelQueue;
  readonly advisor: ScalingAdvisor;
  readonly row = new Float64Array(FEATURES.length);
  last?: MetricSample;
  lastRps = 0;
  intervalMs = 0;
  lastEvalAt = Number.NEGATIVE_INFINITY;
  prediction?: FailurePrediction;
  recommendation?: Recommendation;

  readonly service: string;

  constructor(service: string, settings: BrainSettings) {
    this.service = service;
    this.features = new FeatureTracker(settings.slo);
    this.labels = new LabelQueue(settings.horizonMs);
    this.advisor = new ScalingAdvisor(service, settings.scaling);
  }
}

export class Brain {
  readonly failure = new FailureModel();
  readonly anomalies: AnomalyStore;
  readonly policy: PolicyEngine;
  private readonly services = new Map<string, ServiceModel>();
  private readonly actions: OrchestratorAction[] = [];

  readonly settings: BrainSettings;

  constructor(settings: BrainSettings) {
    this.settings = settings;
    this.anomalies = new AnomalyStore(settings.anomalyWindow);
    this.policy = new PolicyEngine(settings.policy);
  }

  knows(service: string): boolean {
    return this.services.has(service) || this.anomalies.query({ service, limit: 1 }).length > 0;
  }

  serviceNames(): string[] {
    return [...this.services.keys()].sort();
  }

  capacityOf(service: string): number {
    return this.settings.capacityByService.get(service) ?? this.settings.defaultCapacityRps;
  }

  /** Learns from a sample; when the service is due, evaluates it and returns the resulting conditions. */
  observeSample(s: MetricSample): Condition[] {
    let m = this.services.get(s.service);
    if (!m) {
      m = new ServiceModel(s.service, this.settings);
      this.services.set(s.service, m);
    }
    const t = s.timestamp;
    // Replays (start, rebalance) and late samples bring what the models already learned from.
    if (m.last && t <= m.last.timestamp) return [];
    if (m.last) {
      const dt = t - m.last.timestamp;
      m.intervalMs = m.intervalMs > 0 ? m.intervalMs + 0.05 * (Math.min(dt, 10 * m.intervalMs) - m.intervalMs) : dt;
    }
    m.lastRps = m.intervalMs > 0 ? s.request_count / (m.intervalMs / 1000) : 0;
    if (m.intervalMs > 0) m.requests.observe(t, m.lastRps);
    m.cpu.observe(t, s.cpu_usage);
    m.memory.observe(t, s.memory_usage);
    const replicas = s.replicas ?? m.recommendation?.desiredReplicas ?? 1;
    const row = m.features.features(
      { ...s, utilization: m.lastRps / (Math.max(1, replicas) * this.capacityOf(s.service)) },
      this.settings.horizonMs,
      m.row,
    );
    this.failure.observe(row);
    m.labels.push(t, row, breaches(s, this.settings.slo), this.failure);
    m.last = s;
    if (t - m.lastEvalAt < this.settings.evalIntervalMs) return [];
    return this.evaluate(m);
  }

  /** Current prediction and recommendation of a service, and the conditions they raise. */
  private evaluate(m: ServiceModel): Condition[] {
    const s = m.last!;
    m.lastEvalAt = s.timestamp;
    const probability = this.failure.predict(m.row);
    m.prediction = {
      probability,
      horizonMs: this.settings.horizonMs,
      drivers: this.failure.drivers(m.row),
      rule: Math.min(
        1,
        Math.max(s.error_rate / this.settings.slo.errorRate, s.network_latency / this.settings.slo.latencyMs),
      ),
      inBreach: breaches(s, this.settings.slo),
      trainedOn: this.failure.trained,
      at: s.timestamp,
    };
    const conditions: Condition[] = [];
    // An untrained model's probability means nothing: act on it only after some labeled history.
    if (this.failure.trained >= 100)
      conditions.push({
        type: 'failure',
        service: s.service,
        probability,
        horizonMs: this.settings.horizonMs,
        drivers: m.prediction.drivers,
        at: s.timestamp,
      });
    const forecast = m.requests.forecast(this.settings.horizonMs);
    if (forecast.length && m.requests.count >= 10) {
      const peak = Math.max(...forecast.map((p) => p.high80));
      m.recommendation = m.advisor.recommend(peak, this.capacityOf(s.service), s.replicas, s.timestamp);
      conditions.push({ type: 'scale', recommendation: m.recommendation });
    }
    return conditions;
  }

  /** Re-evaluates every service now (the autonomous-optimization endpoint). */
  evaluateAll(services?: string[]): Condition[] {
    const out: Condition[] = [];
    for (const [name, m] of this.services)
      if (m.last && (!services || services.includes(name))) out.push(...this.evaluate(m));
    return out;
  }

  observeAnomaly(a: Anomaly): Condition {
    this.anomalies.add(a);
    const m = this.services.get(a.service);
    if (m && a.state !== 'CLOSED') m.features.anomalyScore = a.score;
    if (m && a.state === 'CLOSED') m.features.anomalyScore = 0;
    return { type: 'anomaly', anomaly: a };
  }

  /** A RelayCore breaker transition, from an ecosystem event of kind breaker_state. */
  observeEvent(e: EcosystemEvent): Condition | undefined {
    if (e.kind !== 'breaker_state') return undefined;
    const ref = (e.data.route && e.data.endpoint ? `${e.data.route}/${e.data.endpoint}` : (e.subject ?? '')).split('/');
    if (ref.length !== 2 || !ref[0] || !ref[1]) return undefined;
    const raw = (e.data.state ?? e.data.to ?? e.message).toLowerCase();
    const state = /half/.test(raw) ? 'half_open' : /open/.test(raw) ? 'open' : /close/.test(raw) ? 'closed' : undefined;
    if (!state) return undefined;
    return { type: 'breaker', route: ref[0], endpoint: ref[1], state, eventId: e.id, at: e.at };
  }

  decide(conditions: Condition[], now = Date.now()): OrchestratorAction[] {
    const out: OrchestratorAction[] = [];
    for (const c of conditions) out.push(...this.policy.decide(c, now));
    return out;
  }

  recordActions(actions: OrchestratorAction[]): void {
    this.actions.push(...actions);
    const max = this.settings.recentActions ?? 1000;
    if (this.actions.length > max) this.actions.splice(0, this.actions.length - max);
  }

  recentActions(target?: (a: OrchestratorAction) => boolean, limit = 20): OrchestratorAction[] {
    return this.actions
      .filter((a) => !target || target(a))
      .slice(-limit)
      .reverse();
  }

  capacity(service: string, horizonMs = this.settings.horizonMs): CapacityView | undefined {
    const m = this.services.get(service);
    if (!m?.last) return undefined;
    const replicas = m.last.replicas;
    const cap = this.capacityOf(service);
    const reqs = m.requests.forecast(horizonMs);
    const cpu = m.cpu.forecast(horizonMs);
    const mem = m.memory.forecast(horizonMs);
    const limit = (replicas ?? m.recommendation?.currentReplicas ?? 1) * cap;
    return {
      service,
      at: m.last.timestamp,
      horizonMs,
      samplingIntervalMs: Math.round(m.intervalMs),
      replicas,
      capacityPerReplicaRps: cap,
      requests: {
        unit: 'req/s',
        seasonality: m.requests.seasonality,
        current: m.lastRps,
        forecast: reqs,
        saturation: saturation(reqs, limit),
      },
      cpu: {
        unit: '%',
        seasonality: m.cpu.seasonality,
        current: m.last.cpu_usage,
        forecast: cpu,
        saturation: saturation(cpu, this.settings.cpuSaturation),
      },
      memory: {
        unit: '%',
        seasonality: m.memory.seasonality,
        current: m.last.memory_usage,
        forecast: mem,
        saturation: saturation(mem, this.settings.memorySaturation),
      },
      recommendation: m.recommendation ?? null,
    };
  }

  prediction(service: string): FailurePrediction | undefined {
    return this.services.get(service)?.prediction;
  }

  lastSample(service: string): MetricSample | undefined {
    return this.services.get(service)?.last;
  }
}
