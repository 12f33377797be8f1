import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricSampleInput } from '../../schemas/types.ts';
import type { Runtime } from '../../src/app/index.ts';
import { byPartition, dropTopics, gatewayForSuite, startGateway as startApp, subscribed } from '../helpers/gateway.ts';
import { TestClient } from '../helpers/ws.ts';

const sample = (service: string, i: number, at = Date.now()): MetricSampleInput => ({
  service,
  timestamp: at,
  cpu_usage: i % 100,
  memory_usage: 50,
  network_latency: 10 + i,
  error_rate: 0,
  request_count: i,
});

/**
 * Two clients on one topic; the slow one stops reading its socket. Records of ~25 KB are produced in
 * steps that the fast client reads before the next (it keeps up by construction), until far more
 * than the slow client's kernel buffers and gateway buffer can hold has been sent.
 */
async function flood(app: { runtime: Runtime; ws: string }, headers: Record<string, string> = {}) {
  const fast = await TestClient.open(`${app.ws}/api/v2/ws`, headers);
  const slow = await TestClient.open(`${app.ws}/api/v2/ws`, headers);
  for (const c of [fast, slow]) c.send({ type: 'subscribe', id: 'big', topic: 'metrics.samples' });
  await fast.until(subscribed('big'), 'fast subscribed');
  await slow.until(subscribed('big'), 'slow subscribed');
  (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  const producer = await app.runtime.kafka.producer();
  const extra = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`metric_${i}`, i + 0.123456789]));
  const total = 1500;
  const step = 60;
  for (let i = 0; i < total; i += step) {
    await producer.send(
      'metrics.samples',
      Array.from({ length: step }, (_, j) => ({
        key: `big-${(i + j) % 7}`,
        value: { ...sample(`big-${(i + j) % 7}`, i + j), extra },
      })),
    );
    await fast.until((c) => c.records('big').length >= i + step, `the fast client to read ${i + step}`);
  }
  expect(new Set(fast.records('big').map((r) => `${r.partition}/${r.offset}`)).size).toBe(total);
  return { fast, slow, total };
}

describe('the WebSocket gateway', () => {
  const suite = gatewayForSuite({ GATEWAY_CLIENT_BUFFER: '200', GATEWAY_HEARTBEAT_MS: '600000' });

  it('delivers what a producer wrote, decoded, with topic, partition, offset and timestamp', async () => {
    const client = await TestClient.open(`${suite.app.ws}/api/v2/ws`);
    await client.until((c) => c.of('welcome')[0], 'welcome');
    client.send({ type: 'subscribe', id: 'm', topic: 'metrics.samples' });
    await client.until(subscribed('m'), 'subscribed');
    const producer = await suite.app.runtime.kafka.producer();
    const at = Date.now();
    const sent = await producer.send('metrics.samples', [
      { key: 'checkout', value: sample('checkout', 7, at), timestamp: at },
    ]);
    const [rec] = await client.until((c) => (c.records('m').length ? c.records('m') : undefined), 'a record');
    expect(rec!.topic).toBe('metrics.samples');
    expect(rec!.partition).toBe(sent[0]!.partition);
    expect(rec!.offset).toBe(sent[0]!.baseOffset);
    expect(rec!.timestamp).toBe(at);
    expect(rec!.key).toBe('checkout');
    expect(rec!.value).toMatchObject({ service: 'checkout', cpu_usage: 7, request_count: 7, extra: {} });
    client.close();
  });

  it('replays from a timestamp, older records first, then goes live with no gap and no duplicate', async () => {
    // training.events is used by no earlier test, so record timestamps grow with offsets on every partition.
    const producer = await suite.app.runtime.kafka.producer();
    const base = Date.now() - 60_000;
    const epoch = (n: number, at?: number) => ({
      key: `job-${n % 12}`,
      ...(at ? { timestamp: at } : {}),
      value: { jobId: `job-${n % 12}`, model: 'performance', kind: 'EPOCH' as const, epoch: n, at: at ?? Date.now() },
    });
    // 60 older records across 3 partitions; the window starts at the 20th.
    await producer.send(
      'training.events',
      Array.from({ length: 60 }, (_, n) => epoch(n, base + n * 100)),
    );
    const client = await TestClient.open(`${suite.app.ws}/api/v2/ws`);
    client.send({ type: 'subscribe', id: 'r', topic: 'training.events', from: { timestamp: base + 20 * 100 } });
    const ack = await client.until(subscribed('r'), 'subscribed');
    expect((ack.partitions as { live: boolean }[]).some((p) => !p.live)).toBe(true);
    // Live records: half produced while the replay may still run, half after it caught up.
    await producer.send(
      'training.events',
      Array.from({ length: 20 }, (_, i) => epoch(1000 + i)),
    );
    await client.until((c) => c.messages.find((m) => m.type === 'caught_up' && m.id === 'r'), 'caught_up');
    await producer.send(
      'training.events',
      Array.from({ length: 20 }, (_, i) => epoch(1020 + i)),
    );
    const records = await client.until((c) => (c.records('r').length >= 80 ? c.records('r') : undefined), '80 records');
    const epochs = records.map((r) => r.value!.epoch as number);
    expect(epochs.filter((n) => n < 1000).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => 20 + i));
    expect(epochs.filter((n) => n >= 1000).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 40 }, (_, i) => 1000 + i),
    );
    for (const offsets of byPartition(records).values()) {
      for (let i = 1; i < offsets.length; i++) expect(offsets[i]! > offsets[i - 1]!).toBe(true);
    }
    // Per partition, every replayed (older) record arrives before every live one.
    for (const p of byPartition(records).keys()) {
      const seq = records.filter((r) => r.partition === p).map((r) => (r.value!.epoch as number) >= 1000);
      expect(seq.indexOf(true) === -1 || seq.lastIndexOf(false) < seq.indexOf(true)).toBe(true);
    }
    client.close();
  });

  it('resumes after a reconnect from the last offsets seen, missing nothing', async () => {
    const producer = await suite.app.runtime.kafka.producer();
    const first = await TestClient.open(`${suite.app.ws}/api/v2/ws`);
    first.send({ type: 'subscribe', id: 'a', topic: 'anomalies' });
    const ack = await first.until(subscribed('a'), 'subscribed');
    const next = new Map(
      (ack.partitions as { partition: number; start: string }[]).map((p) => [p.partition, BigInt(p.start)]),
    );
    const anomaly = (n: number) => ({
      key: `svc-${n % 5}`,
      value: {
        id: `inc-${n}`,
        service: `svc-${n % 5}`,
        state: 'OPEN' as const,
        metrics: ['cpu_usage'],
        score: 0.9,
        explanation: `incident ${n}`,
        startedAt: n,
        at: n,
      },
    });
    await producer.send(
      'anomalies',
      Array.from({ length: 10 }, (_, n) => anomaly(n)),
    );
    const seen = await first.until((c) => (c.records('a').length >= 10 ? c.records('a') : undefined), '10 anomalies');
    for (const r of seen) next.set(r.partition, BigInt(r.offset) + 1n);
    first.close();
    await first.until((c) => c.closed, 'close');
    await producer.send(
      'anomalies',
      Array.from({ length: 10 }, (_, n) => anomaly(10 + n)),
    );
    const second = await TestClient.open(`${suite.app.ws}/api/v2/ws`);
    second.send({
      type: 'subscribe',
      id: 'a',
      topic: 'anomalies',
      from: { offsets: Object.fromEntries([...next].map(([p, o]) => [String(p), o.toString()])) },
    });
    const rest = await second.until(
      (c) => (c.records('a').length >= 10 ? c.records('a') : undefined),
      '10 more anomalies',
    );
    await producer.send('anomalies', [anomaly(99)]);
    await second.until((c) => c.records('a').some((r) => r.value!.id === 'inc-99'), 'the live one');
    expect(
      rest
        .slice(0, 10)
        .map((r) => r.value!.id)
        .sort(),
    ).toEqual(Array.from({ length: 10 }, (_, n) => `inc-${10 + n}`).sort());
    expect(second.records('a')).toHaveLength(11);
    second.close();
  });

  it('filters by key and by a field value', async () => {
    const client = await TestClient.open(`${suite.app.ws}/api/v2/ws`);
    client.send({ type: 'subscribe', id: 'k', topic: 'metrics.samples', filter: { key: 'only-me' } });
    client.send({
      type: 'subscribe',
      id: 'f',
      topic: 'metrics.samples',
      filter: { where: { service: ['svc-b', 'svc-c'], cpu_usage: 3 } },
    });
    await client.until(subscribed('k'), 'subscribed k');
    await client.until(subscribed('f'), 'subscribed f');
    const producer = await suite.app.runtime.kafka.producer();
    await producer.send('metrics.samples', [
      { key: 'only-me', value: sample('only-me', 1) },
      { key: 'svc-b', value: sample('svc-b', 3) },
      { key: 'svc-c', value: sample('svc-c', 4) },
      { key: 'svc-d', value: sample('svc-d', 3) },
      { key: 'svc-c', value: sample('svc-c', 3) },
    ]);
    await client.until((c) => c.records('k').length === 1 && c.records('f').length === 2, 'filtered records');
    // A marker after everything else: when it arrives, nothing else is still coming.
    await producer.send('metrics.samples', [{ key: 'only-me', value: sample('only-me', 2) }]);
    await client.until((c) => c.records('k').length === 2, 'marker');
    expect(
      client
        .records('f')
        .map((r) => r.key)
        .sort(),
    ).toEqual(['svc-b', 'svc-c']);
    client.close();
  });

  it('answers every malformed message with an error naming the problem, and stays up', async () => {
    const client = await TestClient.open(`${suite.app.ws}/api/v2/ws`);
    const bad: [unknown, string, string?][] = [
      ['not json', 'invalid_json'],
      ['[1,2]', 'invalid_message'],
      [{}, 'invalid_message', 'type'],
      [{ type: 'teleport' }, 'unknown_type', 'type'],
      [{ type: 'subscribe' }, 'invalid_message', 'topic'],
      [{ type: 'subscribe', topic: 42 }, 'invalid_message', 'topic'],
      [
        { type: 'subscribe', topic: 'anomalies', from: { timestamp: 'yesterday-ish' } },
        'invalid_message',
        'from.timestamp',
      ],
      [{ type: 'subscribe', topic: 'anomalies', from: { offsets: { x: '1' } } }, 'invalid_message', 'from.offsets.x'],
      [
        { type: 'subscribe', topic: 'anomalies', filter: { where: { 'a..b': 1 } } },
        'invalid_message',
        'filter.where.a..b',
      ],
      [{ type: 'subscribe', topic: 'anomalies', extra: true }, 'invalid_message', 'extra'],
      [{ type: 'subscribe', id: 'x'.repeat(100), topic: 'anomalies' }, 'invalid_message', 'id'],
      [{ type: 'unsubscribe', id: 'never' }, 'unknown_subscription', 'id'],
      [
        `{"type":"subscribe","topic":"anomalies","filter":{"where":{"a":${'['.repeat(5000)}${']'.repeat(5000)}}}}`,
        'invalid_message',
        'filter.where.a',
      ],
      [`{"type":"ping","id":${'['.repeat(20000)}${']'.repeat(20000)}}`, 'invalid_message', 'id'],
    ];
    for (const [msg] of bad) client.send(msg);
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    const errors = await client.until(
      (c) => (c.of('error').length >= bad.length + 1 ? c.of('error') : undefined),
      'all errors',
    );
    bad.forEach(([, code, field], i) => {
      expect(errors[i], JSON.stringify(bad[i]![0]).slice(0, 80)).toMatchObject({ code, ...(field ? { field } : {}) });
      expect(typeof errors[i]!.message).toBe('string');
    });
    expect(errors[bad.length]).toMatchObject({ code: 'binary_frame' });
    client.send({ type: 'ping', id: 'still-there' });
    await client.until((c) => c.messages.find((m) => m.type === 'pong' && m.id === 'still-there'), 'pong');
    client.close();
  });

  it('keeps clients inside the allow-list', async () => {
    const client = await TestClient.open(`${suite.app.ws}/api/v2/ws`);
    const prefix = suite.app.runtime.kafka.catalog.prefix;
    const attempts = [
      'detector.state',
      'messages.high',
      `${prefix}deadletter`,
      `${prefix}anomalies`,
      '../detector.state',
      'anomalies ',
      '*',
      '__consumer_offsets',
      'ANOMALIES',
      'anomalies\u0000',
    ];
    attempts.forEach((topic, i) => {
      client.send({ type: 'subscribe', id: `x${i}`, topic });
    });
    const errors = await client.until(
      (c) => (c.of('error').length >= attempts.length ? c.of('error') : undefined),
      'refusals',
    );
    expect(errors.map((e) => e.code)).toEqual(attempts.map(() => 'topic_not_allowed'));
    expect(errors.every((e) => e.field === 'topic')).toBe(true);
    expect(client.of('subscribed')).toHaveLength(0);
    client.close();
  });

  it('tells a slow client how many records it lost while a fast one gets them all (drop policy)', async () => {
    const { fast, slow, total } = await flood(suite.app);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const lagged = await slow.until((c) => c.of('lagged')[0], 'a lagged notice');
    expect(lagged.dropped as number).toBeGreaterThan(0);
    expect(
      Object.keys((lagged.subscriptions as Record<string, { from: Record<string, string> }>).big!.from).length,
    ).toBeGreaterThan(0);
    // What the slow client got plus what it was told it lost is exactly what was produced.
    const lost = (c: TestClient) => c.of('lagged').reduce((n, m) => n + (m.dropped as number), 0);
    await slow.until((c) => c.records('big').length + lost(c) >= total, 'the rest');
    expect(slow.records('big').length + lost(slow)).toBe(total);
    expect(new Set(slow.records('big').map((r) => `${r.partition}/${r.offset}`)).size).toBe(slow.records('big').length);
    expect(fast.of('lagged')).toHaveLength(0);
    expect(slow.closed).toBeUndefined();
    fast.close();
    slow.close();
  }, 120_000);

  it('mirrors the ecosystem feed over WebSocket and Server-Sent Events, and SSE resumes from Last-Event-ID', async () => {
    const ws = await TestClient.open(`${suite.app.ws}/api/v2/ws/ecosystem`);
    await ws.until((c) => c.of('subscribed').length === 4, 'four feeds');
    const sse = await openSse(`${suite.app.base}/api/v2/ecosystem/live`);
    await sse.until((events) => events.filter((e) => e.event === 'subscribed').length === 4, 'four SSE feeds');
    const producer = await suite.app.runtime.kafka.producer();
    const now = Date.now();
    await producer.send('ecosystem.events', [
      {
        key: 'relay',
        value: {
          id: 'e1',
          component: 'relay',
          kind: 'breaker_state',
          severity: 'WARNING',
          subject: 'orders/eu',
          message: 'breaker opened',
          data: { state: 'OPEN' },
          at: now,
        },
      },
    ]);
    await producer.send('training.events', [
      {
        key: 'job-1',
        value: {
          jobId: 'job-1',
          model: 'performance',
          kind: 'EPOCH',
          trial: 0,
          epoch: 3,
          metrics: { loss: 0.2 },
          at: now,
        },
      },
    ]);
    await producer.send('orchestrator.actions', [
      {
        key: 'checkout',
        value: { id: 'act-1', kind: 'scale', target: 'checkout', reason: 'cpu high', status: 'PROPOSED', at: now },
      },
    ]);
    await producer.send('anomalies', [
      {
        key: 'checkout',
        value: {
          id: 'inc-e',
          service: 'checkout',
          state: 'OPEN',
          metrics: ['cpu_usage'],
          score: 0.97,
          explanation: 'cpu spike',
          startedAt: now,
          at: now,
        },
      },
    ]);
    const topics = ['ecosystem.events', 'training.events', 'orchestrator.actions', 'anomalies'];
    await ws.until(
      (c) => topics.every((t) => c.messages.some((m) => m.type === 'data' && m.topic === t)),
      'all four topics on the WebSocket',
    );
    const events = await sse.until(
      (ev) => (topics.every((t) => ev.some((e) => e.event === t)) ? ev : undefined),
      'all four topics on SSE',
    );
    const lastId = events.filter((e) => e.event !== 'subscribed').at(-1)!.id!;
    sse.close();
    // Written while the SSE client is away: a resume with Last-Event-ID gets exactly this one.
    await producer.send('anomalies', [
      {
        key: 'checkout',
        value: {
          id: 'inc-f',
          service: 'checkout',
          state: 'CLOSED',
          metrics: ['cpu_usage'],
          score: 0.1,
          explanation: 'over',
          startedAt: now,
          at: now + 1,
          endedAt: now + 1,
        },
      },
    ]);
    const resumed = await openSse(`${suite.app.base}/api/v2/ecosystem/live`, { 'last-event-id': lastId });
    const got = await resumed.until((ev) => ev.find((e) => e.event === 'anomalies'), 'the missed anomaly');
    expect((JSON.parse(got.data) as { value: { id: string } }).value.id).toBe('inc-f');
    expect(resumed.events.filter((e) => topics.includes(e.event))).toHaveLength(1);
    resumed.close();
    ws.close();
  });

  it('computes delivery performance per route and endpoint from delivery.outcomes', async () => {
    const producer = await suite.app.runtime.kafka.producer();
    const now = Date.now();
    const outcome = (i: number, endpoint: string, status: 'DELIVERED' | 'FAILED' | 'TIMEOUT', latencyMs: number) => ({
      key: endpoint,
      value: {
        messageId: `m${i}`,
        route: 'orders',
        endpoint,
        policy: 'p2c-peak-ewma',
        attempt: 1,
        status,
        latencyMs,
        decidedAt: now - i * 10,
      },
    });
    // eu: 100 attempts, 90 delivered at 10..99 ms, 10 failed; us: 20 delivered at 200 ms.
    const records = [
      ...Array.from({ length: 90 }, (_, i) => outcome(i, 'eu', 'DELIVERED', 10 + i)),
      ...Array.from({ length: 10 }, (_, i) => outcome(100 + i, 'eu', 'FAILED', 5)),
      ...Array.from({ length: 20 }, (_, i) => outcome(200 + i, 'us', 'DELIVERED', 200)),
    ];
    await producer.send('delivery.outcomes', records);
    let body:
      | {
          ready: boolean;
          windows: {
            window: string;
            total: { attempts: number };
            routes: {
              route: string;
              attempts: number;
              successRate: number;
              endpoints: {
                endpoint: string;
                attempts: number;
                delivered: number;
                failed: number;
                successRate: number;
                latencyMs: { p50: number; p99: number; max: number };
              }[];
            }[];
          }[];
        }
      | undefined;
    for (let i = 0; i < 120 && body?.windows[0]?.total.attempts !== 120; i++) {
      if (i) await new Promise((r) => setTimeout(r, 250));
      body = (await (await fetch(`${suite.app.base}/api/v2/analytics/performance?window=5m`)).json()) as typeof body;
    }
    const w = body!.windows[0]!;
    expect(w.window).toBe('5m');
    expect(w.total.attempts).toBe(120);
    const route = w.routes.find((r) => r.route === 'orders')!;
    expect(route.successRate).toBeCloseTo(110 / 120, 4);
    const eu = route.endpoints.find((e) => e.endpoint === 'eu')!;
    expect(eu).toMatchObject({ attempts: 100, delivered: 90, failed: 10, successRate: 0.9 });
    // Latencies of the 100 calls: ten at 5 ms, then 10..99 ms. The p50 is the 50th (49 ms), within the histogram's 5%.
    expect(eu.latencyMs.p50).toBeGreaterThanOrEqual(49);
    expect(eu.latencyMs.p50).toBeLessThanOrEqual(49 * 1.05);
    expect(eu.latencyMs.max).toBe(99);
    expect(route.endpoints.find((e) => e.endpoint === 'us')!.latencyMs.p99).toBe(200);
    const bad = await fetch(`${suite.app.base}/api/v2/analytics/performance?window=2d`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { field: string }).field).toBe('querystring.window');
  });

  it('reports components, breakers and gateway clients on the ecosystem status', async () => {
    const producer = await suite.app.runtime.kafka.producer();
    await producer.send('ecosystem.events', [
      {
        key: 'detect',
        value: {
          id: 'e-d',
          component: 'detect',
          kind: 'component_status',
          severity: 'INFO',
          message: 'detect started',
          data: { status: 'ok' },
          at: Date.now(),
        },
      },
    ]);
    let body:
      | {
          components: { name: string; local: boolean; status: string }[];
          breakers: { subject: string; state: string }[];
          gateway: { topics: string[] };
        }
      | undefined;
    for (let i = 0; i < 120 && !body?.components.some((c) => c.name === 'detect'); i++) {
      if (i) await new Promise((r) => setTimeout(r, 250));
      body = (await (await fetch(`${suite.app.base}/api/v2/ecosystem/status`)).json()) as typeof body;
    }
    expect(body!.components.find((c) => c.name === 'gateway')).toMatchObject({ local: true, status: 'ok' });
    expect(body!.components.find((c) => c.name === 'detect')).toMatchObject({ local: false, status: 'ok' });
    expect(body!.breakers.find((b) => b.subject === 'orders/eu')).toMatchObject({ state: 'OPEN' });
    expect(body!.gateway.topics).toContain('metrics.samples');
    const legacy = (await (await fetch(`${suite.app.base}/ai-ecosystem/status`)).json()) as typeof body;
    expect(legacy!.components.map((c) => c.name)).toContain('gateway');
  });
});

describe('the gateway with API_TOKEN and the disconnect policy', () => {
  const token = 'gateway-test-token-0123456789';
  let app: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    app = await startApp({
      API_TOKEN: token,
      GATEWAY_SLOW_CLIENT: 'disconnect',
      GATEWAY_CLIENT_BUFFER: '200',
      GATEWAY_HEARTBEAT_MS: '600000',
    });
  });
  afterAll(async () => {
    await app.runtime.stop();
    await dropTopics(app.runtime);
  });

  it('refuses WebSockets and the SSE feed without the token, and accepts it as a header or ?token=', async () => {
    for (const path of ['/api/v2/ws', '/api/v2/ws/ecosystem']) {
      await expect(TestClient.open(`${app.ws}${path}`)).rejects.toMatchObject({ status: 401 });
      await expect(TestClient.open(`${app.ws}${path}?token=wrong-token-0123456789`)).rejects.toMatchObject({
        status: 401,
      });
      await expect(TestClient.open(`${app.ws}${path}`, { authorization: `Bearer ${token}x` })).rejects.toMatchObject({
        status: 401,
      });
      const byQuery = await TestClient.open(`${app.ws}${path}?token=${token}`);
      const byHeader = await TestClient.open(`${app.ws}${path}`, { authorization: `Bearer ${token}` });
      await byQuery.until((c) => c.of('welcome')[0], 'welcome');
      await byHeader.until((c) => c.of('welcome')[0], 'welcome');
      byQuery.close();
      byHeader.close();
    }
    expect((await fetch(`${app.base}/api/v2/ecosystem/live`)).status).toBe(401);
    const ok = await openSse(`${app.base}/api/v2/ecosystem/live?token=${token}`);
    await ok.until((ev) => ev.find((e) => e.event === 'subscribed'), 'an SSE event');
    ok.close();
  });

  it('refuses a WebSocket from a foreign browser origin', async () => {
    await expect(
      TestClient.open(`${app.ws}/api/v2/ws?token=${token}`, { origin: 'https://evil.example' }),
    ).rejects.toMatchObject({ status: 403 });
  });

  it('disconnects a slow client with close code 4008 while a fast one keeps up', async () => {
    const { fast, slow } = await flood(app, { authorization: `Bearer ${token}` });
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await slow.until((c) => c.closed, 'the slow client closed');
    expect(closed.code).toBe(4008);
    expect(closed.reason).toMatch(/too slow/);
    expect(fast.closed).toBeUndefined();
    fast.close();
  }, 120_000);

  it('closes WebSocket clients with 1001 on shutdown', async () => {
    const client = await TestClient.open(`${app.ws}/api/v2/ws/ecosystem?token=${token}`);
    await client.until((c) => c.of('subscribed').length === 4, 'subscribed');
    await app.runtime.stop();
    const closed = await client.until((c) => c.closed, 'closed');
    expect(closed.code).toBe(1001);
  });
});

describe('gateway heartbeats', () => {
  const suite = gatewayForSuite({ GATEWAY_HEARTBEAT_MS: '1000' });

  it('drops a peer that stops answering pings, and keeps one that answers', async () => {
    const alive = await TestClient.open(`${suite.app.ws}/api/v2/ws`);
    const dead = await TestClient.open(`${suite.app.ws}/api/v2/ws`);
    await alive.until((c) => c.of('welcome')[0], 'welcome');
    await dead.until((c) => c.of('welcome')[0], 'welcome');
    // A peer that reads nothing cannot answer a ping: to the server it is gone.
    (dead.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const clients = async () =>
      (
        (await (await fetch(`${suite.app.base}/api/v2/ecosystem/status`)).json()) as {
          gateway: { websocketClients: number };
        }
      ).gateway.websocketClients;
    expect(await clients()).toBe(2);
    for (let i = 0; i < 120 && (await clients()) > 1; i++) await new Promise((r) => setTimeout(r, 250));
    expect(await clients()).toBe(1);
    (dead.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await dead.until((c) => c.closed, 'the dead peer closed');
    expect(closed.code).toBe(1006);
    alive.send({ type: 'ping', id: 'after' });
    await alive.until((c) => c.messages.find((m) => m.type === 'pong' && m.id === 'after'), 'pong');
    expect(alive.closed).toBeUndefined();
    const metrics = await (await fetch(`${suite.app.base}/metrics`)).text();
    expect(metrics).toMatch(/automatrix_gateway_dead_peers_total [1-9]/);
    expect(metrics).toContain('automatrix_gateway_clients{transport="websocket"} 1');
    alive.close();
  });

  it('documents every gateway endpoint in the OpenAPI description, with examples', async () => {
    const spec = (await (await fetch(`${suite.app.base}/docs/json`)).json()) as {
      paths: Record<
        string,
        Record<
          string,
          { summary?: string; responses: Record<string, { content?: Record<string, { example?: unknown }> }> }
        >
      >;
    };
    for (const path of [
      '/api/v2/ecosystem/status',
      '/api/v2/ecosystem/live',
      '/api/v2/analytics/performance',
      '/api/v2/gateway/topics',
      '/api/v2/ws',
      '/api/v2/ws/ecosystem',
      '/ai-ecosystem/status',
      '/',
      '/health',
      '/metrics',
    ]) {
      expect(spec.paths[path]?.get?.summary, path).toBeTruthy();
    }
    for (const path of [
      '/api/v2/ecosystem/status',
      '/api/v2/analytics/performance',
      '/api/v2/gateway/topics',
      '/ai-ecosystem/status',
    ]) {
      expect(spec.paths[path]!.get!.responses['200']!.content!['application/json']!.example, path).toBeTruthy();
    }
  });
});

interface SseEvent {
  event: string;
  id?: string;
  data: string;
}

/** A minimal EventSource over fetch, keeping every event. */
async function openSse(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  if (res.status !== 200) throw new Error(`SSE HTTP ${res.status}`);
  const events: SseEvent[] = [];
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const ev: SseEvent = { event: 'message', data: '' };
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) ev.event = line.slice(7);
            else if (line.startsWith('id: ')) ev.id = line.slice(4);
            else if (line.startsWith('data: ')) ev.data += line.slice(6);
          }
          if (ev.data) events.push(ev);
        }
      }
    } catch {
      /* aborted */
    }
  })();
  return {
    events,
    async until<T>(pred: (events: SseEvent[]) => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = pred(events);
        if (v) return v;
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${what}: ${JSON.stringify(events.slice(-3)).slice(0, 500)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    close() {
      controller.abort();
      void reading;
    },
  };
}
