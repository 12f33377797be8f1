import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  ActionKind,
  ActionResult,
  DeadLetter,
  DeliveryOutcome,
  EcosystemEvent,
  OrchestratorAction,
  RetrainRequest,
} from '../../schemas/index.ts';
import { logger } from '../../src/log/index.ts';
import { FEATURE_NAMES, FEATURE_VERSION } from '../../src/relay/index.ts';
import { RouteStore } from '../../src/relay/store.ts';
import { follow, type RelayHarness, startRelay, type TestEndpoint, testEndpoint, until } from '../helpers/relay.ts';

describe('RelayCore on the real broker', () => {
  let h: RelayHarness;
  const endpoints: TestEndpoint[] = [];
  let outcomes: Awaited<ReturnType<typeof follow>>;
  let deadletters: Awaited<ReturnType<typeof follow>>;
  let events: Awaited<ReturnType<typeof follow>>;
  const decoded = async <T>(
    key: 'delivery.outcomes' | 'deadletter' | 'ecosystem.events' | 'action.results' | 'retrain.requests',
    records: { value: Buffer | null }[],
  ) => Promise.all(records.map(async (r) => (await h.kafka.serde.decode(key, r.value)).value as T));
  const endpoint = async (respond?: TestEndpoint['respond']) => {
    const ep = await testEndpoint(respond);
    endpoints.push(ep);
    return ep;
  };
  const route = (name: string, policy: string, eps: TestEndpoint[], extra: Record<string, unknown> = {}) => ({
    name,
    policy,
    endpoints: eps.map((e, i) => ({ id: `e${i}`, kind: 'HTTP', target: e.url, timeoutMs: 2000 })),
    ...extra,
  });
  const send = (routeName: string, n: number, extra: Record<string, unknown> = {}) =>
    Promise.all(
      Array.from({ length: n }, (_, i) =>
        h.api('POST', '/relaycore/message', { route: routeName, payload: { i }, ...extra }),
      ),
    );

  beforeAll(async () => {
    h = await startRelay({ RELAY_OPTIMIZE_ANSWER_MS: '2000' });
    [outcomes, deadletters, events] = await Promise.all([
      follow(h.kafka, 'delivery.outcomes'),
      follow(h.kafka, 'deadletter'),
      follow(h.kafka, 'ecosystem.events'),
    ]);
  });
  afterAll(async () => {
    await Promise.all([outcomes?.stop(), deadletters?.stop(), events?.stop()]);
    await Promise.all(endpoints.map((e) => e.close()));
    await h?.close();
  });

  it.each(['round-robin', 'least-inflight', 'p2c-peak-ewma', 'learned'])(
    'routes with the %s policy and records an outcome per attempt',
    async (policy) => {
      const eps = [await endpoint(), await endpoint(), await endpoint()];
      const name = `pol-${policy}`;
      expect((await h.api('POST', '/relaycore/routes', route(name, policy, eps))).status).toBe(201);
      const sent = await send(name, 30);
      expect(sent.every((s) => s.status === 202)).toBe(true);
      await until(() => eps.reduce((n, e) => n + e.delivered().length, 0) >= 30, `30 deliveries on ${name}`);
      const ids = new Set(sent.map((s) => (s.body as { id: string }).id));
      const got = eps.flatMap((e) => e.delivered());
      expect(new Set(got)).toEqual(ids);
      if (policy === 'round-robin') expect(eps.map((e) => e.delivered().length)).toEqual([10, 10, 10]);
      else expect(eps.filter((e) => e.delivered().length > 0).length).toBeGreaterThanOrEqual(1);
      await until(
        async () =>
          (await decoded<DeliveryOutcome>('delivery.outcomes', outcomes.records)).filter((o) => o.route === name)
            .length >= 30,
        'outcomes',
      );
      const mine = (await decoded<DeliveryOutcome>('delivery.outcomes', outcomes.records)).filter(
        (o) => o.route === name,
      );
      expect(mine.every((o) => o.policy === policy && o.status === 'DELIVERED' && ids.has(o.messageId))).toBe(true);
      // Every outcome carries the decision's features, compact, in the routing model's order.
      expect(
        mine.every((o) => o.featureVersion === FEATURE_VERSION && o.featureValues.length === FEATURE_NAMES.length),
      ).toBe(true);
      // Every attempt carries the idempotency key and the message headers.
      expect(eps.flatMap((e) => e.hits).every((hit) => ids.has(String(hit.headers['idempotency-key'])))).toBe(true);
    },
  );

  it('opens the breaker of a failing endpoint, announces it, and shifts traffic away', async () => {
    const bad = await endpoint(() => ({ status: 503 }));
    const good = await endpoint();
    const name = 'breaker';
    await h.api(
      'POST',
      '/relaycore/routes',
      route(name, 'round-robin', [bad, good], {
        maxAttempts: 3,
        settings: { volumeThreshold: 4, errorThresholdPercentage: 50, resetTimeoutMs: 600000 },
      }),
    );
    // One key: the 40 messages go one after another, so the breaker sees each failure before the next call.
    await send(name, 40, { key: 'one-after-another' });
    await until(() => good.delivered().length >= 40, 'all 40 delivered by the good endpoint');
    const status = await h.api<{ routes: { name: string; endpoints: { id: string; breaker: string }[] }[] }>(
      'GET',
      '/relaycore/status',
    );
    expect(status.body.routes.find((r) => r.name === name)!.endpoints.find((e) => e.id === 'e0')!.breaker).toBe('open');
    const badHits = bad.hits.length;
    expect(badHits).toBeLessThanOrEqual(5);
    await send(name, 20);
    await until(() => good.delivered().length >= 60, 'the next 20 delivered');
    expect(bad.hits.length).toBe(badHits);
    await until(
      async () =>
        (await decoded<EcosystemEvent>('ecosystem.events', events.records)).some(
          (e) => e.kind === 'breaker_state' && e.subject === `${name}/e0` && e.data.state === 'open',
        ),
      'breaker event',
    );
  });

  it('dead-letters poison, unroutable and refused messages with their reason', async () => {
    const refuse = await endpoint(() => ({ status: 422 }));
    await h.api('POST', '/relaycore/routes', route('refuse', 'round-robin', [refuse]));
    const producer = await h.kafka.producer();
    const normal = h.kafka.catalog.name('messages.normal');
    await producer.sendRaw(normal, [{ key: 'poison', value: Buffer.from([0x7b, 0x22, 0xff]) }]);
    await producer.sendRaw(normal, [{ key: 'nopayload', value: JSON.stringify({ id: 'np-1', route: 'refuse' }) }]);
    await producer.send('messages.normal', [
      { key: 'lost', value: { id: 'unroutable-1', route: 'nowhere', payload: '{}' } },
    ]);
    await producer.send('messages.normal', [
      { key: 'refused', value: { id: 'refused-1', route: 'refuse', payload: '{}' } },
    ]);
    await until(() => deadletters.records.length >= 4, 'four dead letters');
    const dl = await decoded<DeadLetter>('deadletter', deadletters.records);
    const byKey = (k: string) => dl.find((d) => d.key?.toString() === k)!;
    expect(byKey('poison')).toMatchObject({
      reasonCode: 'decode_error',
      reason: 'decode_error',
      sourceTopic: normal,
      attempts: 0,
    });
    expect(byKey('poison').error).toMatch(/^invalid_(utf8|json)/);
    expect(byKey('poison').value).toEqual(Buffer.from([0x7b, 0x22, 0xff]));
    expect(byKey('nopayload')).toMatchObject({ reasonCode: 'decode_error' });
    expect(byKey('nopayload').error).toMatch(/schema_mismatch: .*payload is missing/);
    expect(byKey('lost')).toMatchObject({ reasonCode: 'unknown_route', messageId: 'unroutable-1', route: 'nowhere' });
    expect(byKey('refused')).toMatchObject({
      reasonCode: 'endpoint_rejected',
      messageId: 'refused-1',
      route: 'refuse',
      attempts: 1,
    });
    expect(byKey('refused').error).toContain('HTTP 422');
  });

  it('keeps per-key order through retries and concurrency', async () => {
    let n = 0;
    const flaky = () => ({ status: n++ % 5 === 0 ? 500 : 200, delayMs: n % 7 });
    const eps = [await endpoint(flaky), await endpoint(flaky), await endpoint(flaky)];
    await h.api(
      'POST',
      '/relaycore/routes',
      route('ordered', 'p2c-peak-ewma', eps, { maxAttempts: 10, settings: { volumeThreshold: 100000 } }),
    );
    const producer = await h.kafka.producer();
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'];
    const records = keys.flatMap((k) =>
      Array.from({ length: 25 }, (_, seq) => ({
        key: k,
        value: { id: `${k}-${seq}`, route: 'ordered', payload: JSON.stringify({ k, seq }) },
      })),
    );
    // Interleaved keys, one produce call: every key's messages land in one partition, in order.
    const interleaved = Array.from({ length: 25 }, (_, seq) =>
      keys.map((k) => records[keys.indexOf(k) * 25 + seq]!),
    ).flat();
    await producer.send('messages.normal', interleaved);
    await until(() => new Set(eps.flatMap((e) => e.delivered())).size >= 200, '200 deliveries');
    // Order of first successful delivery per key, taken from the endpoints' own arrival order.
    const firstArrival = new Map<string, number[]>();
    const ordered = eps.flatMap((e) =>
      e.hits
        .filter((x) => x.status < 300)
        .map((x) => ({ ...x, ...(JSON.parse(x.body) as { k: string; seq: number }) })),
    );
    ordered.sort((a, b) => a.order - b.order);
    for (const x of ordered) {
      const list = firstArrival.get(x.k) ?? [];
      if (!list.includes(x.seq)) list.push(x.seq);
      firstArrival.set(x.k, list);
    }
    for (const k of keys) expect(firstArrival.get(k)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(eps.flatMap((e) => e.hits).some((x) => x.status >= 500)).toBe(true);
  });

  it('returns the delivery outcome with ?wait=true, and the dead letter when it fails', async () => {
    const ok = await endpoint();
    await h.api('POST', '/relaycore/routes', route('waiting', 'p2c-peak-ewma', [ok]));
    const res = await h.api<{
      status: string;
      id: string;
      partition: number;
      offset: string;
      outcome: DeliveryOutcome;
    }>('POST', '/relaycore/message?wait=true', { route: 'waiting', priority: 'high', payload: 'hello' });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('DELIVERED');
    expect(res.body.outcome).toMatchObject({
      messageId: res.body.id,
      route: 'waiting',
      endpoint: 'e0',
      status: 'DELIVERED',
    });
    expect(Number(res.body.offset)).toBeGreaterThanOrEqual(0);
    expect(ok.delivered()).toContain(res.body.id);
    const failing = await h.api<{ status: string; deadLetter: DeadLetter }>('POST', '/relaycore/message?wait=true', {
      route: 'refuse',
      payload: 'x',
    });
    expect(failing.body.status).toBe('DEAD_LETTERED');
    expect(failing.body.deadLetter.reason).toBe('endpoint_rejected');
  });

  it('rejects bad messages and routes with a 4xx naming the field', async () => {
    const noRoute = await h.api<{ field: string }>('POST', '/relaycore/message', { route: 'nope', payload: 'x' });
    expect(noRoute.status).toBe(400);
    expect(noRoute.body.field).toBe('body.route');
    const noPayload = await h.api<{ field: string }>('POST', '/relaycore/message', { route: 'waiting' });
    expect(noPayload.status).toBe(400);
    expect(noPayload.body.field).toBe('body.payload');
    const badPriority = await h.api<{ field: string }>('POST', '/relaycore/message', {
      route: 'waiting',
      payload: 'x',
      priority: 'urgent',
    });
    expect(badPriority.status).toBe(400);
    expect(badPriority.body.field).toBe('body.priority');
    const badUrl = await h.api<{ field: string; message: string }>('POST', '/relaycore/routes', {
      name: 'bad',
      endpoints: [{ id: 'a', kind: 'HTTP', target: 'ftp://x' }],
    });
    expect(badUrl.status).toBe(400);
    expect(badUrl.body.field).toBe('body.endpoints.0.target');
    const dup = await h.api<{ field: string }>('POST', '/relaycore/routes', {
      name: 'dup',
      endpoints: [
        { id: 'a', kind: 'KAFKA', target: 't' },
        { id: 'a', kind: 'KAFKA', target: 'u' },
      ],
    });
    expect(dup.body.field).toBe('body.endpoints.1.id');
    const badSetting = await h.api<{ field: string }>('PATCH', '/relaycore/routes/waiting', {
      settings: { resetTimeoutMs: -3 },
    });
    expect(badSetting.status).toBe(400);
    expect(badSetting.body.field).toBe('body.settings.resetTimeoutMs');
    expect((await h.api('GET', '/relaycore/routes/absent')).status).toBe(404);
  });

  it('keeps route changes in the routes topic, where a fresh instance reads them', async () => {
    const ep = await endpoint();
    expect((await h.api('POST', '/relaycore/routes', route('crud', 'round-robin', [ep]))).status).toBe(201);
    expect((await h.api('POST', '/relaycore/routes', route('crud', 'round-robin', [ep]))).status).toBe(409);
    const patched = await h.api<{ policy: string; maxAttempts: number }>('PATCH', '/relaycore/routes/crud', {
      policy: 'learned',
      maxAttempts: 5,
    });
    expect(patched.body).toMatchObject({ policy: 'learned', maxAttempts: 5 });
    await h.api('PUT', '/relaycore/routes/crud-2', { ...route('crud-2', 'least-inflight', [ep]), name: undefined });
    expect((await h.api('DELETE', '/relaycore/routes/crud-2')).status).toBe(204);
    const fresh = new RouteStore(h.kafka, logger('test'));
    await fresh.start();
    expect(fresh.get('crud')).toMatchObject({ policy: 'learned', maxAttempts: 5 });
    expect(fresh.get('crud-2')).toBeUndefined();
    await fresh.stop();
    const list = await h.api<{ name: string }[]>('GET', '/relaycore/routes');
    expect(list.body.map((r) => r.name)).toContain('crud');
  });

  it('carries out live orchestrator drain, downweight and restore actions once each, and answers each', async () => {
    const a = await endpoint();
    const b = await endpoint();
    await h.api('POST', '/relaycore/routes', route('orch', 'round-robin', [a, b]));
    const producer = await h.kafka.producer();
    const results = await follow(h.kafka, 'action.results');
    const action = (
      id: string,
      kind: ActionKind,
      endpointId: string,
      params: Record<string, string> = {},
      over: Partial<OrchestratorAction> = {},
    ) => ({
      key: `orch/${endpointId}`,
      value: {
        id,
        kind,
        target: `orch/${endpointId}`,
        reason: 'test',
        dryRun: false,
        status: 'PROPOSED' as const,
        params: { route: 'orch', endpoint: endpointId, ...params },
        at: Date.now(),
        ...over,
      },
    });
    await producer.send('orchestrator.actions', [
      action('act-drain', 'drain_endpoint', 'e0'),
      action('act-drain', 'drain_endpoint', 'e0'),
      // Only live proposals are requests: a dry run, and later steps of an action, are not.
      action('act-dry', 'drain_endpoint', 'e1', {}, { dryRun: true }),
      action('act-step', 'drain_endpoint', 'e1', {}, { status: 'EXECUTED' }),
      action('act-nowhere', 'drain_endpoint', 'e9'),
    ]);
    await until(() => h.relay.loop.controlsOf('orch', 'e0').drained, 'drain applied');
    await send('orch', 12);
    await until(() => b.delivered().length >= 12, '12 on e1');
    expect(a.hits.length).toBe(0);
    await producer.send('orchestrator.actions', [
      action('act-restore', 'restore_endpoint', 'e0'),
      action('act-down', 'downweight_endpoint', 'e1', { weight: '0.25' }),
    ]);
    await until(() => h.relay.loop.controlsOf('orch', 'e1').weightFactor === 0.25, 'downweight applied');
    await send('orch', 25);
    await until(() => a.delivered().length + b.delivered().length >= 37, '25 more');
    // Smooth weighted round-robin with weights 1 and 0.25: exactly 20 and 5.
    expect(a.delivered().length).toBe(20);
    expect(b.delivered().length).toBe(12 + 5);
    const applied = h.relay.actions.recent.filter((x) => x.route === 'orch').map((x) => x.id);
    expect(applied.sort()).toEqual(['act-down', 'act-drain', 'act-restore']);
    await until(
      async () =>
        (await decoded<EcosystemEvent>('ecosystem.events', events.records)).filter(
          (e) => e.kind === 'action_applied' && e.subject?.startsWith('orch/'),
        ).length >= 3,
      'action events',
    );
    const answers = async () => decoded<ActionResult>('action.results', results.records);
    await until(async () => (await answers()).length >= 4, 'the four answers');
    try {
      const byId = Object.fromEntries((await answers()).map((r) => [r.actionId, r]));
      expect(Object.keys(byId).sort()).toEqual(['act-down', 'act-drain', 'act-nowhere', 'act-restore']);
      expect(byId['act-drain']).toMatchObject({ executor: 'relay', status: 'EXECUTED', kind: 'drain_endpoint' });
      expect(byId['act-down']!.detail).toContain('weight factor 0.25');
      expect(byId['act-nowhere']).toMatchObject({ status: 'FAILED', detail: 'no endpoint orch/e9 on this RelayCore' });
      expect((await answers()).filter((r) => r.actionId === 'act-drain')).toHaveLength(1);
    } finally {
      await results.stop();
    }
  });

  it('asks NeuroWeaver to retrain through Kafka on optimize, and answers 503 when no NeuroWeaver answers', async () => {
    // This process runs RelayCore alone: the request reaches retrain.requests, nobody takes it.
    const res = await h.api<{ statusCode: number; message: string }>('POST', '/relaycore/optimize', {
      windowMinutes: 30,
    });
    expect(res.status).toBe(503);
    expect(res.body.message).toMatch(/no NeuroWeaver instance answered the retraining request for routing/);
    const requests = await follow(h.kafka, 'retrain.requests');
    try {
      const sent = async () => decoded<RetrainRequest>('retrain.requests', requests.records);
      await until(async () => (await sent()).length > 0, 'the retraining request');
      const request = (await sent())[0]!;
      expect(request).toMatchObject({ model: 'routing', requestedBy: expect.stringContaining('relaycore') });
      expect(request.to - request.from).toBe(30 * 60_000);
    } finally {
      await requests.stop();
    }
    // Learned routes behave as p2c-peak-ewma until a model exists.
    const status = await h.api<{
      model: { version: string | null };
      routes: {
        name: string;
        learned: unknown;
        endpoints: { score: { basis: string; score: number | null } }[];
      }[];
    }>('GET', '/relaycore/status');
    expect(status.body.model.version).toBeNull();
    const learned = status.body.routes.find((r) => r.name === 'pol-learned')!;
    expect(learned.endpoints.map((e) => e.score.basis)).toEqual(['p2c-peak-ewma', 'p2c-peak-ewma', 'p2c-peak-ewma']);
    // ... and say so, with the reason.
    expect(learned.learned).toEqual({
      model: null,
      fallback: 'p2c-peak-ewma',
      reason: expect.stringMatching(/no routing model has been trained yet/),
    });
    expect(learned.endpoints.every((e) => typeof e.score.score === 'number')).toBe(true);
    const r = await h.api<{ status: string; outcome: DeliveryOutcome }>('POST', '/relaycore/message?wait=true', {
      route: 'pol-learned',
      payload: 'learned',
    });
    expect(r.body.status).toBe('DELIVERED');
    expect(r.body.outcome.policy).toBe('learned');
  });

  it('stops consuming on /stop (messages wait as lag) and resumes on /start', async () => {
    const ep = await endpoint();
    await h.api('POST', '/relaycore/routes', route('pausable', 'round-robin', [ep]));
    await h.api('POST', '/relaycore/message?wait=true', { route: 'pausable', priority: 'low', payload: 'first' });
    expect((await h.api<{ running: boolean }>('POST', '/relaycore/stop')).body.running).toBe(false);
    const lagOf = async () =>
      (await h.api<{ running: boolean; lag: Record<string, { total: number }> }>('GET', '/relaycore/status')).body;
    const before = await lagOf();
    expect(before.running).toBe(false);
    const producer = await h.kafka.producer();
    // The route may also be named by the `relay-route` header.
    await producer.sendRaw(
      h.kafka.catalog.name('messages.low'),
      [1, 2, 3].map((i) => ({
        value: JSON.stringify({ id: `paused-${i}`, payload: '{}' }),
        headers: { 'relay-route': 'pausable' },
      })),
    );
    const stopped = await lagOf();
    expect(stopped.lag.low!.total).toBe(before.lag.low!.total + 3);
    expect(ep.delivered().filter((id) => id.startsWith('paused-'))).toEqual([]);
    expect((await h.api<{ running: boolean }>('POST', '/relaycore/start')).body.running).toBe(true);
    await until(() => ep.delivered().filter((id) => id.startsWith('paused-')).length === 3, 'the paused messages');
    await until(async () => (await lagOf()).lag.low!.total === 0, 'the low tier lag to clear');
  });

  it('reports routes, breakers, stats, policies and consumer lag', async () => {
    const s = await h.api<{
      running: boolean;
      lag: Record<string, { total: number }>;
      routes: { name: string; decisions: number; endpoints: { stats: { attempts: number } }[] }[];
    }>('GET', '/relaycore/status');
    expect(s.status).toBe(200);
    expect(s.body.running).toBe(true);
    expect(Object.keys(s.body.lag).sort()).toEqual(['high', 'low', 'normal']);
    const rr = s.body.routes.find((r) => r.name === 'pol-round-robin')!;
    expect(rr.decisions).toBe(30);
    expect(rr.endpoints.map((e) => e.stats.attempts)).toEqual([10, 10, 10]);
  });
});
