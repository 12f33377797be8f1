import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Route } from '../../schemas/types.ts';
import { actionTarget } from '../../src/relay/actions.ts';
import { parseDefaultRoutes, parseTierWeights } from '../../src/relay/config.ts';
import { EndpointRuntime, freshControls, type Senders } from '../../src/relay/endpoint.ts';
import { WeightedGate } from '../../src/relay/gate.ts';
import { FEATURE_COUNT } from '../../src/relay/learned/features.ts';
import { expectedCost, LearnedPolicy, type RoutingScorer } from '../../src/relay/learned/policy.ts';
import { LeastInflight, P2cPeakEwma, peakEwmaCost, RoundRobin, type RoutedMessage } from '../../src/relay/policies.ts';
import { PeakEwma } from '../../src/relay/stats.ts';
import { parseRoute, RouteError, readRoutesFile } from '../../src/relay/store.ts';

const route = (over: Partial<Route> = {}): Route =>
  parseRoute({
    name: 'r',
    endpoints: [
      { id: 'a', kind: 'KAFKA', target: 'ta' },
      { id: 'b', kind: 'KAFKA', target: 'tb' },
      { id: 'c', kind: 'KAFKA', target: 'tc' },
    ],
    ...over,
  });
const senders = { http: {}, kafka: { send: async () => ({ httpStatus: null }) } } as unknown as Senders;
const runtimes = (r: Route = route()) =>
  r.endpoints.map((e) => new EndpointRuntime(r, e, senders, freshControls(), () => undefined));
const msg = (over: Partial<RoutedMessage> = {}): RoutedMessage => ({
  payloadBytes: 100,
  type: 'default',
  attempt: 1,
  scoreRow: -1,
  scoreBatch: null,
  ...over,
});

describe('route validation', () => {
  it('fills defaults', () => {
    const r = parseRoute({ name: 'orders', endpoints: [{ id: 'a', kind: 'HTTP', target: 'https://x.test/in' }] });
    expect(r).toMatchObject({ policy: 'p2c-peak-ewma', maxAttempts: 3, settings: {} });
    expect(r.endpoints[0]).toMatchObject({ weight: 1, timeoutMs: 5000, headers: {} });
  });

  it.each([
    [{ name: 'bad name!', endpoints: [] }, 'route.name'],
    [{ name: 'r', policy: 'random', endpoints: [{ id: 'a', kind: 'KAFKA', target: 't' }] }, 'route.policy'],
    [{ name: 'r', endpoints: [] }, 'route.endpoints'],
    [{ name: 'r', endpoints: [{ id: 'a', kind: 'SMTP', target: 't' }] }, 'route.endpoints.0.kind'],
    [{ name: 'r', endpoints: [{ id: 'a', kind: 'HTTP', target: 'not a url' }] }, 'route.endpoints.0.target'],
    [{ name: 'r', endpoints: [{ id: 'a', kind: 'KAFKA', target: 'bad topic' }] }, 'route.endpoints.0.target'],
    [{ name: 'r', endpoints: [{ id: 'a', kind: 'KAFKA', target: 't', weight: -1 }] }, 'route.endpoints.0.weight'],
    [
      {
        name: 'r',
        endpoints: [
          { id: 'a', kind: 'KAFKA', target: 't' },
          { id: 'a', kind: 'KAFKA', target: 'u' },
        ],
      },
      'route.endpoints.1.id',
    ],
    [{ name: 'r', maxAttempts: 0, endpoints: [{ id: 'a', kind: 'KAFKA', target: 't' }] }, 'route.maxAttempts'],
    [
      { name: 'r', settings: { colour: '1' }, endpoints: [{ id: 'a', kind: 'KAFKA', target: 't' }] },
      'route.settings.colour',
    ],
    [
      { name: 'r', settings: { resetTimeoutMs: 'soon' }, endpoints: [{ id: 'a', kind: 'KAFKA', target: 't' }] },
      'route.settings.resetTimeoutMs',
    ],
  ])('rejects %j naming %s', (raw, field) => {
    let error: unknown;
    try {
      parseRoute(raw);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RouteError);
    expect((error as RouteError).field).toBe(field);
  });

  it('reads a routes file and names the file and field of a mistake', () => {
    const dir = mkdtempSync(join(tmpdir(), 'routes-'));
    const good = join(dir, 'good.json');
    writeFileSync(
      good,
      JSON.stringify({ routes: [{ name: 'a', endpoints: [{ id: 'x', kind: 'KAFKA', target: 't' }] }] }),
    );
    expect(readRoutesFile(good).map((r) => r.name)).toEqual(['a']);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify([{ name: 'a', endpoints: [{ id: 'x', kind: 'HTTP', target: 'nope' }] }]));
    expect(() => readRoutesFile(bad)).toThrow(`routes file ${bad}: routes.0.endpoints.0.target must be an http(s) URL`);
  });

  it('parses tier weights and default routes', () => {
    expect(parseTierWeights('high=10,low=2')).toEqual({ high: 10, normal: 3, low: 2 });
    expect(() => parseTierWeights('urgent=1')).toThrow(/tiers must be among/);
    expect(parseDefaultRoutes('orders')).toEqual({ high: 'orders', normal: 'orders', low: 'orders' });
    expect(parseDefaultRoutes('high=fast,orders')).toEqual({ high: 'fast', normal: 'orders', low: 'orders' });
  });

  it('reads the route and endpoint of an orchestrator action from params or target', () => {
    expect(actionTarget({ target: 'x', params: { route: 'r', endpoint: 'e' } })).toEqual({ route: 'r', endpoint: 'e' });
    expect(actionTarget({ target: 'orders/a', params: {} })).toEqual({ route: 'orders', endpoint: 'a' });
    expect(actionTarget({ target: 'orders', params: {} })).toBeUndefined();
  });
});

describe('weighted delivery slots', () => {
  it('shares slots by weight while all tiers wait, and lets an idle tier bank nothing', async () => {
    const gate = new WeightedGate(1, { high: 8, normal: 3, low: 1 });
    await gate.acquire('low');
    const order: string[] = [];
    for (const tier of ['high', 'normal', 'low'] as const)
      for (let i = 0; i < 120; i++) void gate.acquire(tier).then(() => order.push(tier));
    for (let i = 0; i < 120; i++) {
      gate.release();
      await Promise.resolve();
    }
    const count = (t: string) => order.filter((x) => x === t).length;
    // Stride scheduling is exact up to one grant per tier.
    expect(Math.abs(count('high') - 80)).toBeLessThanOrEqual(1);
    expect(Math.abs(count('normal') - 30)).toBeLessThanOrEqual(1);
    expect(Math.abs(count('low') - 10)).toBeLessThanOrEqual(1);
  });

  it('gives every slot to the only tier with work', async () => {
    const gate = new WeightedGate(2, { high: 8, normal: 3, low: 1 });
    await gate.acquire('low');
    await gate.acquire('low');
    expect(gate.inUse()).toBe(2);
    let third = false;
    void gate.acquire('low').then(() => (third = true));
    gate.release();
    await Promise.resolve();
    expect(third).toBe(true);
  });
});

describe('routing policies', () => {
  it('round-robin interleaves by weight', () => {
    const r = route({
      endpoints: [
        { id: 'a', kind: 'KAFKA', target: 'ta', weight: 2, timeoutMs: 5000, headers: {} },
        { id: 'b', kind: 'KAFKA', target: 'tb', weight: 1, timeoutMs: 5000, headers: {} },
      ],
    });
    const eps = runtimes(r);
    const rr = new RoundRobin();
    expect(Array.from({ length: 6 }, () => rr.pick(eps).endpoint.id).join('')).toBe('abaaba');
  });

  it('least-inflight takes the least loaded endpoint', () => {
    const eps = runtimes();
    eps[0]!.stats.inflight = 3;
    eps[1]!.stats.inflight = 1;
    eps[2]!.stats.inflight = 2;
    expect(new LeastInflight().pick(eps).endpoint.id).toBe('b');
  });

  it('peak-EWMA takes a peak at once and decays it with time', () => {
    const p = new PeakEwma(1000);
    p.observe(10, 1000);
    p.observe(100, 1001);
    expect(p.estimate(1001)).toBe(100);
    p.observe(10, 1002);
    expect(p.estimate(1002)).toBeGreaterThan(99);
    expect(p.estimate(3002)).toBeLessThan(100 * Math.exp(-1.9));
  });

  it('p2c-peak-ewma picks the cheaper of two and never the dearest of three', () => {
    const eps = runtimes();
    const now = 10_000;
    eps.forEach((e, i) => {
      e.stats.peak.observe([5, 50, 500][i]!, now);
    });
    expect(peakEwmaCost(eps[0]!, now)).toBeLessThan(peakEwmaCost(eps[1]!, now));
    let seed = 1;
    const rng = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const p2c = new P2cPeakEwma(rng);
    const picks = Array.from({ length: 300 }, () => p2c.pick(eps, msg(), now).endpoint.id);
    expect(picks).not.toContain('c');
    expect(picks.filter((x) => x === 'a').length).toBeGreaterThan(150);
  });

  it('learned: lowest expected cost, sheds a predicted failure, falls back to p2c without a model', () => {
    const eps = runtimes();
    const now = Date.now();
    eps.forEach((e) => {
      e.stats.lastObservedAt = now;
      e.stats.peak.observe(10, now);
    });
    // a: fast but predicted to fail; b: 20 ms; c: 40 ms.
    const scorer: RoutingScorer = {
      version: 'fake',
      predict(rows, count) {
        const latencyMs = new Float32Array(count);
        const failure = new Float32Array(count);
        for (let i = 0; i < count; i++) {
          const j = i % 3;
          latencyMs[i] = [2, 20, 40][j]!;
          failure[i] = [0.9, 0.01, 0.01][j]!;
        }
        expect(rows.length).toBeGreaterThanOrEqual(count * FEATURE_COUNT);
        return { latencyMs, failure };
      },
      dispose() {},
    };
    const shedEvents: string[] = [];
    let model: RoutingScorer | null = null;
    const policy = new LearnedPolicy(
      () => model,
      () => ({
        exploration: 0,
        shedThreshold: 0.5,
        probeIntervalMs: 60_000,
        retryBackoffMs: 50,
        failureCostMs: 250,
        loadScale: 4,
        onShed: (e, shed) => shedEvents.push(`${e.endpoint.id}:${shed}`),
      }),
      () => 0.3,
    );
    const m = msg();
    expect(['a', 'b', 'c']).toContain(policy.pick(eps, m, now).endpoint.id);
    model = scorer;
    const batch = [msg(), msg(), msg()];
    policy.prepare(eps, batch, now);
    expect(shedEvents).toEqual(['a:true']);
    expect(eps[0]!.shedding).toBe(true);
    expect(batch.map((x) => policy.pick(eps, x, now).endpoint.id)).toEqual(['b', 'b', 'b']);
    // With only the shed endpoint left, it is still used rather than nothing.
    expect(policy.pick([eps[0]!], msg(), now).endpoint.id).toBe('a');
  });

  it('learned: probes an endpoint unmeasured for longer than the probe interval', () => {
    const eps = runtimes();
    const now = Date.now();
    eps[0]!.stats.lastObservedAt = now;
    eps[1]!.stats.lastObservedAt = now - 10_000;
    eps[2]!.stats.lastObservedAt = now;
    const scorer: RoutingScorer = {
      version: 'x',
      predict: (_r, n) => ({ latencyMs: new Float32Array(n).fill(10), failure: new Float32Array(n) }),
      dispose() {},
    };
    const policy = new LearnedPolicy(
      () => scorer,
      () => ({
        exploration: 0,
        shedThreshold: 0.5,
        probeIntervalMs: 2000,
        retryBackoffMs: 50,
        failureCostMs: 250,
        loadScale: 4,
        onShed: () => undefined,
      }),
    );
    policy.prepare(eps, [msg()], now);
    expect(policy.pick(eps, msg(), now).endpoint.id).toBe('b');
    expect(policy.pick(eps, msg(), now).endpoint.id).not.toBe('b');
  });

  it('scores what each policy ranks by, for the status endpoint', () => {
    const eps = runtimes();
    const now = Date.now();
    eps.forEach((e, i) => {
      e.stats.peak.observe(10 * (i + 1), now);
      e.stats.lastObservedAt = now;
    });
    eps[1]!.stats.inflight = 3;
    expect(new P2cPeakEwma().score(eps[1]!, eps, now)).toMatchObject({
      basis: 'p2c-peak-ewma',
      score: peakEwmaCost(eps[1]!, now),
      peakEwmaMs: 20,
      inflight: 3,
      predictedLatencyMs: null,
    });
    expect(new LeastInflight().score(eps[1]!, eps, now).score).toBe(4);
    expect(new RoundRobin().score(eps[1]!, eps, now)).toMatchObject({ basis: 'round-robin', score: null });

    let model: RoutingScorer | null = null;
    const options = {
      exploration: 0,
      shedThreshold: 0.5,
      probeIntervalMs: 60_000,
      retryBackoffMs: 50,
      failureCostMs: 250,
      loadScale: 4,
      onShed: () => undefined,
    };
    const policy = new LearnedPolicy(
      () => model,
      () => options,
    );
    expect(policy.score(eps[0]!, eps, now)).toMatchObject({
      basis: 'p2c-peak-ewma',
      score: peakEwmaCost(eps[0]!, now),
    });
    model = {
      version: 'm',
      predict: (_r, n) => ({
        latencyMs: Float32Array.from({ length: n }, (_, i) => [5, 30, 60][i % 3]!),
        failure: Float32Array.from({ length: n }, (_, i) => [0.2, 0.01, 0][i % 3]!),
      }),
      dispose() {},
    };
    policy.prepare(eps, [msg()], now);
    const scores = eps.map((e) => policy.score(e, eps, now));
    // The best predicted latency (5 ms) prices a failure; b's three requests in flight make its latency dearer.
    const retryPrice = 50 + 5 + 250;
    expect(scores.map((s) => s.score)).toEqual(
      [
        expectedCost(5, 0.2, 0, 1, retryPrice, 4),
        expectedCost(30, 0.01, 3, 1, retryPrice, 4),
        expectedCost(60, 0, 0, 1, retryPrice, 4),
      ].map((x) => expect.closeTo(x, 3)),
    );
    expect(scores[1]).toMatchObject({
      basis: 'learned',
      predictedLatencyMs: 30,
      failureProbability: expect.closeTo(0.01, 5),
      predictedAt: now,
      inflight: 3,
    });
    // The lowest score is the endpoint a pick takes.
    const best = scores.reduce((b, s, i) => (s.score! < scores[b]!.score! ? i : b), 0);
    expect(policy.pick(eps, msg(), now).endpoint.id).toBe(eps[best]!.endpoint.id);
  });
});
