import { describe, expect, it } from 'vitest';
import type { Anomaly } from '../../../schemas/types.ts';
import { actionId, PolicyEngine, type PolicySettings } from '../../../src/orchestrator/policy.ts';

const base: PolicySettings = {
  dryRun: true,
  anomalyScore: 0.7,
  failureProbability: 0.8,
  breakerOpenMs: 30_000,
  perTargetPerHour: 3,
  webhookConfigured: true,
  endpoints: new Map([['checkout', [{ route: 'orders', endpoint: 'checkout-eu' }]]]),
};

function anomaly(over: Partial<Anomaly> = {}): Anomaly {
  return {
    id: 'checkout@1767571200000',
    service: 'checkout',
    state: 'OPEN',
    kind: 'level_shift',
    metrics: ['network_latency', 'error_rate'],
    score: 0.8,
    contributions: [],
    explanation: 'network_latency of checkout rose to 900 ms where 80–120 ms was expected: a level shift (score 0.80).',
    startedAt: 1_767_571_200_000,
    at: 1_767_571_200_000,
    endedAt: null,
    ...over,
  };
}

const NOW = 1_767_571_260_000;

describe('the policy engine', () => {
  it('down-weights the endpoints of an anomalous service and notifies, with a reason that names the incident (dry run)', () => {
    const actions = new PolicyEngine(base).decide({ type: 'anomaly', anomaly: anomaly() }, NOW);
    expect(actions.map((a) => a.kind)).toEqual(['downweight_endpoint', 'webhook']);
    const [down] = actions;
    expect(down!.target).toBe('orders/checkout-eu');
    expect(down!.params).toMatchObject({ route: 'orders', endpoint: 'checkout-eu' });
    expect(Number(down!.params.weight)).toBeGreaterThan(0);
    expect(Number(down!.params.weight)).toBeLessThan(1);
    expect(down!.reason).toContain('incident checkout@1767571200000');
    expect(down!.trigger).toBe('checkout@1767571200000');
    expect(actions.every((a) => a.status === 'PROPOSED' && a.dryRun)).toBe(true);
  });

  it('drains on a severe anomaly and restores when the incident closes', () => {
    const engine = new PolicyEngine({ ...base, dryRun: false });
    const open = engine.decide({ type: 'anomaly', anomaly: anomaly({ score: 0.95 }) }, NOW);
    // Live decisions start PROPOSED too: the executor's answer makes them EXECUTED (lifecycle.ts).
    expect(open[0]).toMatchObject({ kind: 'drain_endpoint', status: 'PROPOSED', dryRun: false, cause: 'anomaly' });
    const closed = engine.decide(
      { type: 'anomaly', anomaly: anomaly({ state: 'CLOSED', endedAt: NOW }) },
      NOW + 60_000,
    );
    expect(closed.map((a) => a.kind)).toEqual(['restore_endpoint']);
    expect(closed[0]!.target).toBe('orders/checkout-eu');
  });

  it('ignores anomalies below the action score', () => {
    expect(new PolicyEngine(base).decide({ type: 'anomaly', anomaly: anomaly({ score: 0.55 }) }, NOW)).toEqual([]);
  });

  it('is idempotent: the same condition gives the same ids, and one engine emits them once', () => {
    const a = new PolicyEngine(base);
    const b = new PolicyEngine(base);
    const first = a.decide({ type: 'anomaly', anomaly: anomaly() }, NOW);
    expect(a.decide({ type: 'anomaly', anomaly: anomaly({ state: 'UPDATE', score: 0.85 }) }, NOW + 1000)).toEqual([]);
    expect(b.decide({ type: 'anomaly', anomaly: anomaly() }, NOW + 5000).map((x) => x.id)).toEqual(
      first.map((x) => x.id),
    );
    expect(first[0]!.id).toBe(
      actionId('downweight_endpoint', 'orders/checkout-eu', `checkout@1767571200000\u0000dry-run`),
    );
  });

  it('decides a forgotten (unwritten) action again', () => {
    const engine = new PolicyEngine(base);
    const first = engine.decide({ type: 'anomaly', anomaly: anomaly() }, NOW);
    engine.forget(first.map((a) => a.id));
    expect(engine.decide({ type: 'anomaly', anomaly: anomaly() }, NOW).map((a) => a.id)).toEqual(
      first.map((a) => a.id),
    );
  });

  it('rate-limits per target, recording the first refusal of the hour', () => {
    const engine = new PolicyEngine({ ...base, webhookConfigured: false });
    const statuses: string[] = [];
    for (let i = 0; i < 6; i++) {
      const acts = engine.decide({ type: 'anomaly', anomaly: anomaly({ id: `checkout@${i}` }) }, NOW + i * 1000);
      statuses.push(...acts.filter((x) => x.kind !== 'webhook').map((x) => x.status));
    }
    expect(statuses).toEqual(['PROPOSED', 'PROPOSED', 'PROPOSED', 'RATE_LIMITED']);
    // An hour later the target may act again.
    const later = engine.decide({ type: 'anomaly', anomaly: anomaly({ id: 'checkout@later' }) }, NOW + 3_700_000);
    expect(later.find((x) => x.kind === 'downweight_endpoint')?.status).toBe('PROPOSED');
  });

  it('records a webhook as SKIPPED when none is configured', () => {
    const acts = new PolicyEngine({ ...base, webhookConfigured: false, endpoints: new Map() }).decide(
      { type: 'anomaly', anomaly: anomaly() },
      NOW,
    );
    expect(acts).toHaveLength(1);
    expect(acts[0]).toMatchObject({ kind: 'webhook', status: 'SKIPPED', target: 'checkout' });
    expect(acts[0]!.error).toMatch(/ORCH_WEBHOOK_URL/);
  });

  it('down-weights an endpoint whose breaker opens, drains it and retrains routing when it flaps, restores it when it closes', () => {
    const engine = new PolicyEngine(base);
    const breaker = (state: 'open' | 'closed', i: number) =>
      engine.decide(
        { type: 'breaker', route: 'orders', endpoint: 'eu', state, eventId: `ev-${i}`, at: NOW + i * 60_000 },
        NOW + i * 60_000,
      );
    expect(breaker('open', 0).map((a) => a.kind)).toEqual(['downweight_endpoint']);
    expect(breaker('open', 1).map((a) => a.kind)).toEqual(['downweight_endpoint']);
    const flapping = breaker('open', 2);
    expect(flapping.map((a) => a.kind)).toEqual(['drain_endpoint', 'retrain']);
    expect(flapping[1]!.params).toEqual({ model: 'routing' });
    expect(flapping[0]!.reason).toContain('event ev-2');
    expect(breaker('closed', 3).map((a) => a.kind)).toEqual(['restore_endpoint']);
  });

  it('opens the breaker early on a predicted failure, naming the drivers', () => {
    const acts = new PolicyEngine(base).decide(
      {
        type: 'failure',
        service: 'checkout',
        probability: 0.9,
        horizonMs: 3_600_000,
        drivers: [{ feature: 'latency_trend', value: 1.5, effect: 2 }],
        at: NOW,
      },
      NOW,
    );
    expect(acts[0]).toMatchObject({
      kind: 'open_breaker',
      target: 'orders/checkout-eu',
      params: { route: 'orders', endpoint: 'checkout-eu', durationMs: '30000' },
    });
    expect(acts[0]!.reason).toMatch(
      /predicted SLO breach of checkout within 60 min \(p=0.90; drivers latency_trend=1.50\)/,
    );
  });

  it('records a changed scaling recommendation once, with its cost', () => {
    const engine = new PolicyEngine(base);
    const rec = {
      service: 'checkout',
      currentReplicas: 3,
      desiredReplicas: 5,
      neededReplicas: 5,
      peakRps: 400,
      capacityPerReplicaRps: 100,
      costDeltaPerHour: 0.1,
      costDeltaPerMonth: 73,
      reason: 'forecast peak',
      at: NOW,
      since: NOW,
    };
    const first = engine.decide({ type: 'scale', recommendation: rec }, NOW);
    expect(first[0]).toMatchObject({
      kind: 'scale',
      target: 'checkout',
      status: 'PROPOSED',
      params: { desiredReplicas: '5', costDeltaPerMonth: '73.00' },
    });
    expect(engine.decide({ type: 'scale', recommendation: { ...rec, at: NOW + 30_000 } }, NOW + 30_000)).toEqual([]);
    expect(engine.decide({ type: 'scale', recommendation: { ...rec, desiredReplicas: 3 } }, NOW)).toEqual([]);
  });
});
