import { describe, expect, it } from 'vitest';
import type { Anomaly, EcosystemEvent, MetricSample } from '../../../schemas/types.ts';
import { loadConfig } from '../../../src/config/index.ts';
import { Brain, brainSettings } from '../../../src/orchestrator/index.ts';

const T0 = Date.UTC(2026, 0, 5);
const STEP = 60_000;

const brain = () =>
  new Brain(
    brainSettings(
      loadConfig({
        ORCH_ENDPOINTS: 'checkout=orders/eu|orders/us',
        ORCH_EVAL_INTERVAL_MS: '100',
        ORCH_SERVICE_CAPACITY: 'checkout=50',
      }),
    ),
  );

function sample(i: number, over: Partial<MetricSample> = {}): MetricSample {
  return {
    service: 'checkout',
    timestamp: T0 + i * STEP,
    cpu_usage: 40,
    memory_usage: 50,
    network_latency: 80,
    error_rate: 0.5,
    request_count: 6600 + 100 * Math.sin(i / 10),
    performance_score: null,
    replicas: 2,
    extra: {},
    ...over,
  };
}

const anomaly = (id: string, over: Partial<Anomaly> = {}): Anomaly => ({
  id,
  service: 'checkout',
  state: 'OPEN',
  kind: 'spike',
  metrics: ['cpu_usage'],
  score: 0.8,
  contributions: [],
  explanation: 'x',
  startedAt: T0,
  at: T0,
  endedAt: null,
  ...over,
});

describe('the orchestrator brain', () => {
  it('forecasts request rate per service and recommends replicas for it', () => {
    const b = brain();
    for (let i = 0; i < 120; i++) b.observeSample(sample(i));
    const cap = b.capacity('checkout')!;
    expect(cap.requests.current).toBeCloseTo(110, -1); // 6600 per minute
    expect(cap.capacityPerReplicaRps).toBe(50);
    expect(cap.requests.forecast.length).toBeGreaterThan(0);
    // ~110 req/s x 1.2 headroom / 50 per replica = 3 replicas (2 serve now: a scale-up).
    expect(cap.recommendation?.desiredReplicas).toBe(3);
    // 2 replicas x 50 req/s = 100 req/s: the load is past capacity, saturated from the first forecast on.
    expect(cap.requests.saturation.expectedAt).toBe(cap.requests.forecast[0]!.at);
    expect(b.prediction('checkout')?.drivers).toHaveLength(3);
  });

  it('keeps the latest state of each incident and filters by service, time, score and state', () => {
    const b = brain();
    b.observeAnomaly(anomaly('a', { score: 0.6 }));
    b.observeAnomaly(anomaly('a', { state: 'UPDATE', score: 0.9, at: T0 + 10 }));
    b.observeAnomaly(anomaly('b', { service: 'search', startedAt: T0 + 5000, at: T0 + 5000 }));
    b.observeAnomaly(anomaly('a', { state: 'CLOSED', score: 0.9, at: T0 + 20, endedAt: T0 + 20 }));
    const all = b.anomalies.query({});
    expect(all.map((i) => i.id)).toEqual(['b', 'a']);
    expect(b.anomalies.query({ service: 'checkout' })[0]).toMatchObject({
      id: 'a',
      state: 'CLOSED',
      peakScore: 0.9,
      records: 3,
      endedAt: T0 + 20,
    });
    expect(b.anomalies.query({ minScore: 0.85 }).map((i) => i.id)).toEqual(['a']);
    expect(b.anomalies.query({ state: 'open' }).map((i) => i.id)).toEqual(['b']);
    expect(b.anomalies.query({ from: T0 + 1000 }).map((i) => i.id)).toEqual(['b']);
    expect(b.anomalies.query({ to: T0 + 1000 }).map((i) => i.id)).toEqual(['a']);
  });

  it('reads breaker transitions from RelayCore ecosystem events', () => {
    const b = brain();
    const ev = (over: Partial<EcosystemEvent>): EcosystemEvent => ({
      id: 'e1',
      component: 'relay',
      kind: 'breaker_state',
      kindCode: 'breaker_state',
      severity: 'WARNING',
      subject: 'orders/eu',
      message: 'breaker opened',
      data: {},
      at: T0,
      ...over,
    });
    expect(b.observeEvent(ev({}))).toMatchObject({ type: 'breaker', route: 'orders', endpoint: 'eu', state: 'open' });
    expect(
      b.observeEvent(ev({ subject: null, data: { route: 'orders', endpoint: 'us', state: 'HALF_OPEN' } })),
    ).toMatchObject({ endpoint: 'us', state: 'half_open' });
    expect(b.observeEvent(ev({ data: { to: 'closed' } }))).toMatchObject({ state: 'closed' });
    expect(b.observeEvent(ev({ kind: 'component_status' }))).toBeUndefined();
    expect(b.observeEvent(ev({ subject: 'no-endpoint', message: 'open' }))).toBeUndefined();
  });

  it('maps an anomaly to actions on every endpoint of the service', () => {
    const b = brain();
    const actions = b.decide([b.observeAnomaly(anomaly('inc-1'))], T0);
    expect(actions.filter((a) => a.kind === 'downweight_endpoint').map((a) => a.target)).toEqual([
      'orders/eu',
      'orders/us',
    ]);
    expect(actions.every((a) => a.reason.includes('inc-1'))).toBe(true);
  });
});
