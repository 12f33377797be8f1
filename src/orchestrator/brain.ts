/**
 * What the orchestrator knows and decides, without Kafka: per-service forecasters, the shared
 * failure model, scaling advisors, the anomaly window and the policy engine. The component feeds
 * it records; the API reads it.
 */
import type { Anomaly, EcosystemEvent, MetricSample, OrchestratorAction } from '../../schemas/index.ts';
import { breaches, type Driver, FailureModel, FEATURES, FeatureTracker, LabelQueue, type Slo } from './failure.ts';
import { Forecaster, type ForecastPoint, type Saturation, saturation } from './forecast.ts';
import type { Effect } from './lifecycle.ts';
import { type Condition, PolicyEngine, type PolicySettings } from './policy.ts';
import { type Recommendation, ScalingAdvisor, type ScalingSettings } from './scaling.ts';
import { AnomalyStore } from './store.ts';

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

/** One action as its records tell it: the latest step, and every step in order. */
export interface ActionView {
  action: OrchestratorAction;
  history: { status: OrchestratorAction['status']; at: number; detail: string | null }[];
}

/** A RelayCore breaker as the ecosystem feed last told it. */
interface BreakerView {
  state: 'open' | 'half_open' | 'closed';
  at: number;
  lastOpenAt: number;
}

export class Brain {
  readonly failure = new FailureModel();
  readonly anomalies: AnomalyStore;
  readonly policy: PolicyEngine;
  private readonly services = new Map<string, ServiceModel>();
  private readonly actions = new Map<string, ActionView>();
  private readonly breakers = new Map<string, BreakerView>();

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
    const key = `${ref[0]}/${ref[1]}`;
    const known = this.breakers.get(key);
    if (!known || e.at >= known.at)
      this.breakers.set(key, { state, at: e.at, lastOpenAt: state === 'open' ? e.at : (known?.lastOpenAt ?? 0) });
    return { type: 'breaker', route: ref[0], endpoint: ref[1], state, eventId: e.id, at: e.at };
  }

  /**
   * Did an executed action help? Judged by what caused it: an anomaly's metrics back in their
   * expected range (or the incident closed); a breaker closed again, or a flapping one no longer
   * opening; a predicted breach no longer predicted. Only data newer than the execution counts.
   */
  effectOf(action: OrchestratorAction, executedAt: number): Effect {
    switch (action.cause) {
      case 'anomaly':
        return this.anomalyEffect(action.trigger ?? '', executedAt);
      case 'breaker':
        return this.breakerEffect(action, executedAt);
      case 'failure':
        return this.failureEffect(action, executedAt);
      default:
        return {
          recovered: false,
          detail: `no check is defined for ${action.cause ?? 'this'} actions`,
          rollback: false,
        };
    }
  }

  private anomalyEffect(incidentId: string, executedAt: number): Effect {
    const inc = this.anomalies.get(incidentId);
    if (!inc) return { recovered: false, detail: `incident ${incidentId} is no longer known here`, rollback: false };
    if (inc.state === 'CLOSED' && (inc.endedAt ?? inc.updatedAt) >= executedAt)
      return { recovered: true, detail: `incident ${inc.id} closed` };
    const last = this.services.get(inc.service)?.last;
    if (!last || last.timestamp < executedAt)
      return { recovered: false, detail: `no sample of ${inc.service} since the action`, rollback: false };
    const off: string[] = [];
    const back: string[] = [];
    for (const c of inc.expected) {
      const value = (last as unknown as Record<string, unknown>)[c.metric];
      if (typeof value !== 'number') continue;
      const slack = 0.1 * Math.max(c.expectedHigh - c.expectedLow, Math.abs(c.expectedHigh) * 0.01);
      const range = `expected ${fmt(c.expectedLow)}–${fmt(c.expectedHigh)}`;
      if (value < c.expectedLow - slack || value > c.expectedHigh + slack)
        off.push(`${c.metric} still ${fmt(value)} (${range})`);
      else back.push(`${c.metric} back to ${fmt(value)} (${range})`);
    }
    if (off.length) return { recovered: false, detail: `${inc.service}: ${off.join(', ')}` };
    if (back.length) return { recovered: true, detail: `${inc.service}: ${back.join(', ')}` };
    return inc.state === 'CLOSED'
      ? { recovered: true, detail: `incident ${inc.id} closed` }
      : { recovered: false, detail: `incident ${inc.id} still open`, rollback: false };
  }

  private breakerEffect(action: OrchestratorAction, executedAt: number): Effect {
    const b = this.breakers.get(action.target);
    if (action.kind === 'drain_endpoint') {
      return b && b.lastOpenAt >= executedAt
        ? { recovered: false, detail: `the breaker of ${action.target} opened again while drained` }
        : { recovered: true, detail: `the breaker of ${action.target} has not opened again` };
    }
    if (!b) return { recovered: false, detail: `no breaker news of ${action.target}`, rollback: false };
    return b.state === 'closed'
      ? { recovered: true, detail: `the breaker of ${action.target} closed again` }
      : { recovered: false, detail: `the breaker of ${action.target} is still ${b.state.replace('_', '-')}` };
  }

  private failureEffect(action: OrchestratorAction, executedAt: number): Effect {
    const service = action.params.service ?? action.target;
    const p = this.services.get(service)?.prediction;
    if (!p || p.at < executedAt)
      return { recovered: false, detail: `no new prediction for ${service} since the action`, rollback: false };
    const limit = this.settings.policy.failureProbability;
    if (p.inBreach) return { recovered: false, detail: `${service} is breaching its SLO` };
    return p.probability < limit
      ? { recovered: true, detail: `breach probability of ${service} down to ${p.probability.toFixed(2)} (< ${limit})` }
      : { recovered: false, detail: `breach probability of ${service} still ${p.probability.toFixed(2)}` };
  }

  decide(conditions: Condition[], now = Date.now()): OrchestratorAction[] {
    const out: OrchestratorAction[] = [];
    for (const c of conditions) out.push(...this.policy.decide(c, now));
    return out;
  }

  /** Keeps each action's latest step and its history (bounded: the oldest actions are forgotten). */
  recordActions(actions: OrchestratorAction[]): void {
    for (const a of actions) {
      const view = this.actions.get(a.id) ?? { action: a, history: [] };
      if (a.at >= view.action.at) view.action = a;
      view.history.push({ status: a.status, at: a.at, detail: a.detail ?? a.error });
      this.actions.delete(a.id);
      this.actions.set(a.id, view);
    }
    const max = this.settings.recentActions ?? 1000;
    while (this.actions.size > max) this.actions.delete(this.actions.keys().next().value as string);
  }

  /** The latest step of recent actions, newest first. */
  recentActions(target?: (a: OrchestratorAction) => boolean, limit = 20): OrchestratorAction[] {
    return this.actionViews(target, limit).map((v) => v.action);
  }

  actionViews(target?: (a: OrchestratorAction) => boolean, limit = 20): ActionView[] {
    return [...this.actions.values()]
      .filter((v) => !target || target(v.action))
      .sort((a, b) => b.action.at - a.action.at)
      .slice(0, limit);
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

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toFixed(3));
