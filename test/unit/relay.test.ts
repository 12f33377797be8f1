import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DeliveryOutcome, Route } from '../../schemas/types.js';
import { actionTarget } from '../../src/relay/actions.js';
import { parseDefaultRoutes, parseTierWeights } from '../../src/relay/config.js';
import { EndpointRuntime, freshControls, type Senders } from '../../src/relay/endpoint.js';
import { WeightedGate } from '../../src/relay/gate.js';
import { FEATURE_COUNT, FEATURE_NAMES, featureRecord } from '../../src/relay/learned/features.js';
import { LearnedPolicy, type RoutingScorer } from '../../src/relay/learned/policy.js';
import { routingModel } from '../../src/relay/learned/index.js';
import { LeastInflight, P2cPeakEwma, peakEwmaCost, RoundRobin, type RoutedMessage } from '../../src/relay/policies.js';
import { parseRoute, readRoutesFile, RouteError } from '../../src/relay/routes.js';
import { PeakEwma } from '../../src/relay/stats.js';

const route = (over: Partial<Route> = {}): Route =>
  parseRoute({ name: 'r', endpoints: [{ id: 'a', kind: 'KAFKA', target: 'ta' }, { id: 'b', kind: 'KAFKA', target: 'tb' }, { id: 'c', kind: 'KAFKA', target: 'tc' }], ...over });
const senders = { http: {}, kafka: { send: async () => ({ httpStatus: null }) } } as unknown as Senders;
const runtimes = (r: Route = route()) => r.endpoints.map((e) => new EndpointRuntime(r, e, senders, freshControls(), () => undefined));
const msg = (over: Partial<RoutedMessage> = {}): RoutedMessage => ({ payloadBytes: 100, type: 'default', attempt: 1, scoreRow: -1, scoreBatch: null, ...over });

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
    [{ name: 'r', endpoints: [{ id: 'a', kind: 'KAFKA', target: 't' }, { id: 'a', kind: 'KAFKA', target: 'u' }] }, 'route.endpoints.1.id'],
    [{ name: 'r', maxAttempts: 0, endpoints: [{ id: 'a', kind: 'KAFKA', target: 't' }] }, 'route.maxAttempts'],
    [{ name: 'r', settings: { colour: '1' }, endpoints: [{ id: 'a', kind: 'KAFKA', target: 't' }] }, 'route.settings.colour'],
    [{ name: 'r', settings: { resetTimeoutMs: 'soon' }, endpoints: [{ id: 'a', kind: 'KAFKA', target: 't' }] }, 'route.settings.resetTimeoutMs'],
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
    writeFileSync(good, JSON.stringify({ routes: [{ name: 'a', endpoints: [{ id: 'x', kind: 'KAFKA', target: 't' }] }] }));
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
    for (const tier of ['high', 'normal', 'low'] as const) for (let i = 0; i < 120; i++) void gate.acquire(tier).then(() => order.push(tier));
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
    const r = route({ endpoints: [{ id: 'a', kind: 'KAFKA', target: 'ta', weight: 2, timeoutMs: 5000, headers: {} }, { id: 'b', kind: 'KAFKA', target: 'tb', weight: 1, timeoutMs: 5000, headers: {} }] });
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
    eps.forEach((e, i) => e.stats.peak.observe([5, 50, 500][i]!, now));
    expect(peakEwmaCost(eps[0]!, now)).toBeLessThan(peakEwmaCost(eps[1]!, now));
    let seed = 1;
    const rng = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
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
    const policy = new LearnedPolicy(() => model, () => ({ exploration: 0, shedThreshold: 0.5, probeIntervalMs: 60_000, retryBackoffMs: 50, failureCostMs: 250, loadScale: 4, onShed: (e, shed) => shedEvents.push(`${e.endpoint.id}:${shed}`) }), () => 0.3);
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
    const scorer: RoutingScorer = { version: 'x', predict: (_r, n) => ({ latencyMs: new Float32Array(n).fill(10), failure: new Float32Array(n) }), dispose() {} };
    const policy = new LearnedPolicy(() => scorer, () => ({ exploration: 0, shedThreshold: 0.5, probeIntervalMs: 2000, retryBackoffMs: 50, failureCostMs: 250, loadScale: 4, onShed: () => undefined }));
    policy.prepare(eps, [msg()], now);
    expect(policy.pick(eps, msg(), now).endpoint.id).toBe('b');
    expect(policy.pick(eps, msg(), now).endpoint.id).not.toBe('b');
  });
});

describe('the routing model', () => {
  /** Synthetic outcomes: endpoints with a high recent error rate fail, latency follows the fast EWMA. */
  function outcomes(n: number, seed = 7): DeliveryOutcome[] {
    let s = seed;
    const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647);
    const eps = runtimes();
    return Array.from({ length: n }, (_, i) => {
      const features = featureRecord(eps[i % 3]!, msg(), Date.now());
      features.err_fast = rnd();
      features.lat_fast_log = Math.log1p(5 + rnd() * 100);
      const failed = rnd() < features.err_fast * features.err_fast;
      return {
        messageId: `m${i}`,
        route: 'r',
        endpoint: 'a',
        policy: 'round-robin',
        attempt: 1,
        status: i % 50 === 0 ? 'REJECTED' : failed ? 'FAILED' : 'DELIVERED',
        httpStatus: null,
        latencyMs: Math.expm1(features.lat_fast_log) * (0.9 + rnd() * 0.2),
        error: null,
        messageType: 'default',
        payloadBytes: 100,
        features,
        decidedAt: 1000 + i,
      } satisfies DeliveryOutcome;
    });
  }

  it('turns outcomes into rows, skipping rejections', () => {
    const ex = routingModel.examplesFromOutcomes(outcomes(200));
    expect(ex.count).toBe(196);
    expect(ex.skipped).toBe(4);
    expect(ex.features.length).toBe(196 * FEATURE_NAMES.length);
  });

  it('learns failure and latency, beats the constant baseline, and round-trips through save and load', async () => {
    const ex = routingModel.examplesFromOutcomes(outcomes(3000));
    const epochs: number[] = [];
    const trained = await routingModel.train(ex, { epochs: 30, hidden: [16, 8] }, (e) => epochs.push(e.epoch));
    expect(epochs).toHaveLength(30);
    expect(trained.metrics.valFailureLogLoss).toBeLessThan(trained.metrics.baselineFailureLogLoss);
    expect(trained.metrics.valLatencyMaeLog).toBeLessThan(trained.metrics.baselineLatencyMaeLog);
    const dir = join(mkdtempSync(join(tmpdir(), 'routing-')), 'v1');
    await routingModel.save(trained, dir);
    const meta = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { userDefinedMetadata: { featureNames: string[]; scaler: { mean: number[] } } };
    expect(meta.userDefinedMetadata.featureNames).toEqual([...FEATURE_NAMES]);
    // The scaler was fitted on the training split only (the first 80% in time).
    const trainRows = trained.metrics.trainRows;
    const errIdx = FEATURE_NAMES.indexOf('err_fast');
    let mean = 0;
    for (let i = 0; i < trainRows; i++) mean += ex.features[i * FEATURE_COUNT + errIdx]! / trainRows;
    expect(meta.userDefinedMetadata.scaler.mean[errIdx]).toBeCloseTo(mean, 5);

    const scorer = await routingModel.load(dir);
    const rows = new Float32Array(2 * FEATURE_COUNT);
    rows.set(ex.features.subarray(0, FEATURE_COUNT), 0);
    rows.set(ex.features.subarray(0, FEATURE_COUNT), FEATURE_COUNT);
    rows[errIdx] = 0.02;
    rows[FEATURE_COUNT + errIdx] = 0.98;
    const p = scorer.predict(rows, 2);
    expect(p.failure[1]!).toBeGreaterThan(p.failure[0]! + 0.3);
    // The typed-array inference gives what TensorFlow.js gives on the same weights.
    const { tensorflow } = await import('../../src/ml/backend.js');
    const { tf } = await tensorflow();
    const scaledRows = rows.map((v, i) => (v - meta.userDefinedMetadata.scaler.mean[i % FEATURE_COUNT]!) / (meta.userDefinedMetadata as unknown as { scaler: { std: number[] } }).scaler.std[i % FEATURE_COUNT]!);
    const [tl, tfail] = trained.model.predict(tf.tensor2d(scaledRows, [2, FEATURE_COUNT])) as ReturnType<typeof tf.tensor2d>[];
    expect(p.failure[1]!).toBeCloseTo(tfail!.dataSync()[1]!, 4);
    expect(p.latencyMs[0]!).toBeCloseTo(Math.expm1(Math.max(0, tl!.dataSync()[0]!)), 2);
    expect(p.latencyMs[0]!).toBeGreaterThan(0);
    scorer.dispose();

    writeFileSync(join(dir, 'model.json'), JSON.stringify({ ...meta, userDefinedMetadata: { ...meta.userDefinedMetadata, featureVersion: 0 } }));
    await expect(routingModel.load(dir)).rejects.toThrow(/trained on other features/);
  }, 120_000);

  it('refuses to train on too few outcomes', async () => {
    await expect(routingModel.train(routingModel.examplesFromOutcomes(outcomes(20)))).rejects.toThrow(/too few to train on/);
  });
});
