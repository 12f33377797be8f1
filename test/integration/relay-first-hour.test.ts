/**
 * Issue 16: a route's Kafka endpoint must name a topic that exists (item 3); a payload object over
 * Kafka is delivered as the API delivers it (item 9); the built-in sink takes deliveries (item 7).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeN } from '../helpers/kafka.ts';
import { type RelayHarness, startRelay, type TestEndpoint, testEndpoint, until } from '../helpers/relay.ts';

interface ErrorBody {
  statusCode: number;
  field: string;
  message: string;
}

describe('RelayCore, first-hour fixes', () => {
  let h: RelayHarness;
  let ep: TestEndpoint;
  beforeAll(async () => {
    h = await startRelay({}, 'firsthour');
    ep = await testEndpoint();
  });
  afterAll(async () => {
    await ep?.close();
    await h?.close();
  });

  it('refuses a route whose Kafka endpoint names a missing topic, on create, replace and endpoint change', async () => {
    const audit = `${h.prefix}orders.audit`;
    const route = {
      name: 'audited',
      endpoints: [
        { id: 'http', kind: 'HTTP', target: ep.url },
        { id: 'audit', kind: 'KAFKA', target: audit },
      ],
    };
    const refused = await h.api<ErrorBody>('POST', '/relaycore/routes', route);
    expect(refused.status).toBe(400);
    expect(refused.body.field).toBe('body.endpoints.1.target');
    expect(refused.body.message).toContain(`names topic "${audit}", which does not exist`);
    expect((await h.api('GET', '/relaycore/routes/audited')).status).toBe(404);
    const replaced = await h.api<ErrorBody>('PUT', '/relaycore/routes/audited', { ...route, name: undefined });
    expect(replaced.status).toBe(400);
    expect(replaced.body.field).toBe('body.endpoints.1.target');

    await (await h.kafka.admin()).createTopic(audit, 3);
    expect((await h.api('POST', '/relaycore/routes', route)).status).toBe(201);
    // The policy picks one endpoint per message: send until one went to the Kafka endpoint.
    let endpoint = '';
    for (let i = 0; i < 40 && endpoint !== 'audit'; i++) {
      const sent = await h.api<{ status: string; outcome: { endpoint: string } }>(
        'POST',
        '/relaycore/message?wait=true',
        {
          route: 'audited',
          key: 'k',
          payload: 'hello',
        },
      );
      expect(sent.body.status).toBe('DELIVERED');
      endpoint = sent.body.outcome.endpoint;
    }
    expect(endpoint).toBe('audit');
    const [copy] = await consumeN(h.kafka, audit, 1);
    expect(copy!.value!.toString()).toBe('hello');

    // Changing the endpoints is checked again; switching the policy alone is not held up.
    const badPatch = await h.api<ErrorBody>('PATCH', '/relaycore/routes/audited', {
      endpoints: [{ id: 'audit', kind: 'KAFKA', target: `${h.prefix}nowhere` }],
    });
    expect(badPatch.status).toBe(400);
    expect(badPatch.body.field).toBe('body.endpoints.0.target');
    expect((await h.api('PATCH', '/relaycore/routes/audited', { policy: 'round-robin' })).status).toBe(200);
  });

  it('delivers a JSON payload object produced to Kafka as the API delivers one: its JSON text', async () => {
    expect(
      (
        await h.api('POST', '/relaycore/routes', {
          name: 'plain',
          endpoints: [{ id: 'e', kind: 'HTTP', target: ep.url }],
        })
      ).status,
    ).toBe(201);
    const payload = { orderId: 7, items: [{ sku: 'a', n: 2 }] };
    const viaApi = await h.api<{ id: string }>('POST', '/relaycore/message', { route: 'plain', payload });
    expect(viaApi.status).toBe(202);
    // What a producer without the registry sends: plain JSON, payload an object.
    const producer = await h.kafka.producer();
    await producer.sendRaw(h.kafka.catalog.name('messages.normal'), [
      { key: 'k', value: JSON.stringify({ id: 'from-kafka', route: 'plain', payload }) },
    ]);
    await until(() => ep.delivered().includes('from-kafka') && ep.delivered().includes(viaApi.body.id), 'both');
    const body = (id: string) => ep.hits.find((x) => x.id === id)!.body;
    expect(body('from-kafka')).toBe(JSON.stringify(payload));
    expect(body('from-kafka')).toBe(body(viaApi.body.id));
  });

  it('delivers to the built-in sink, which answers the status asked for and shows what it received', async () => {
    const sink = `${h.base}/relaycore/sink`;
    const created = await h.api('POST', '/relaycore/routes', {
      name: 'sunk',
      policy: 'round-robin',
      maxAttempts: 1,
      endpoints: [{ id: 'sink', kind: 'HTTP', target: sink }],
    });
    expect(created.status).toBe(201);
    const sent = await h.api<{ status: string; id: string }>('POST', '/relaycore/message?wait=true', {
      route: 'sunk',
      contentType: 'application/xml',
      payload: '<order id="9"/>',
    });
    expect(sent.body.status).toBe('DELIVERED');
    const seen = await h.api<{
      received: number;
      recent: { idempotencyKey: string; contentType: string; preview: string }[];
    }>('GET', '/relaycore/sink');
    expect(seen.body.recent[0]).toMatchObject({
      idempotencyKey: sent.body.id,
      contentType: 'application/xml',
      preview: '<order id="9"/>',
    });
    await h.api('PUT', '/relaycore/routes/sunk', {
      policy: 'round-robin',
      maxAttempts: 1,
      endpoints: [{ id: 'sink', kind: 'HTTP', target: `${sink}?status=503` }],
    });
    const failed = await h.api<{ status: string; deadLetter: { error: string } }>(
      'POST',
      '/relaycore/message?wait=true',
      { route: 'sunk', payload: 'x' },
    );
    expect(failed.body.status).toBe('DEAD_LETTERED');
    expect(failed.body.deadLetter.error).toContain('HTTP 503');
  });
});

describe('the built-in sink with API_TOKEN set', () => {
  let h: RelayHarness;
  const token = 'a-token-of-at-least-16-chars';
  beforeAll(async () => {
    h = await startRelay({ API_TOKEN: token }, 'sinkauth');
  });
  afterAll(async () => h?.close());

  it('takes deliveries without the token (it changes nothing), while the other mutating routes still need it', async () => {
    expect((await fetch(`${h.base}/relaycore/sink`, { method: 'POST', body: 'x' })).status).toBe(200);
    expect((await fetch(`${h.base}/relaycore/stop`, { method: 'POST' })).status).toBe(401);
  });
});
