/** Tokens limited to some topics and operations (API_TOKENS, API_TOKENS_FILE) on a real gateway. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/api/grants.ts';
import { dropTopics, type GatewayApp, startGateway, subscribed } from '../helpers/gateway.ts';
import { TestClient } from '../helpers/ws.ts';

const ADMIN = 'admin-token-0123456789abcdef';
const DASHBOARD = 'dashboard-token-0123456789';
const OPERATOR = 'operator-token-0123456789';
const FEED = 'feed-token-0123456789abcdef';

describe('per-token topic and operation permissions', () => {
  let app: GatewayApp;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tokens-'));
    const file = join(dir, 'tokens.json');
    // The operator's token is given by its hash only.
    writeFileSync(
      file,
      JSON.stringify([
        {
          name: 'operators',
          sha256: sha256(OPERATOR).toString('hex'),
          topics: '*',
          operations: ['* /api/v2/relaycore/*'],
        },
      ]),
    );
    app = await startGateway({
      API_TOKEN: ADMIN,
      API_TOKENS: JSON.stringify([
        { name: 'dashboard', token: DASHBOARD, topics: ['metrics.samples', 'anomalies'] },
        {
          name: 'feed',
          token: FEED,
          topics: ['ecosystem.events', 'anomalies', 'training.events', 'orchestrator.actions'],
        },
      ]),
      API_TOKENS_FILE: file,
      GATEWAY_HEARTBEAT_MS: '600000',
    });
  });
  afterAll(async () => {
    await app.runtime.stop();
    await dropTopics(app.runtime);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a subscription to a topic the token was not given, clearly, and serves the ones it was', async () => {
    const client = await TestClient.open(`${app.ws}/api/v2/ws?token=${DASHBOARD}`);
    const welcome = await client.until((c) => c.of('welcome')[0], 'welcome');
    expect(welcome.topics).toEqual(['metrics.samples', 'anomalies']);
    client.send({ type: 'subscribe', id: 'dl', topic: 'deadletter' });
    client.send({ type: 'subscribe', id: 'a', topic: 'anomalies' });
    const refusal = await client.until((c) => c.of('error')[0], 'a refusal');
    expect(refusal).toMatchObject({ code: 'topic_not_permitted', field: 'topic', id: 'dl' });
    expect(refusal.message).toBe(
      'token "dashboard" may not read topic "deadletter"; it may read: metrics.samples, anomalies',
    );
    await client.until(subscribed('a'), 'subscribed to anomalies');
    expect(client.of('subscribed').map((m) => m.id)).toEqual(['a']);
    client.close();
  });

  it('lets an operator token read deadletter, which is on the default allow-list', async () => {
    const client = await TestClient.open(`${app.ws}/api/v2/ws`, { authorization: `Bearer ${OPERATOR}` });
    const welcome = await client.until((c) => c.of('welcome')[0], 'welcome');
    expect(welcome.topics).toContain('deadletter');
    client.send({ type: 'subscribe', id: 'dl', topic: 'deadletter', from: 'earliest' });
    await client.until(subscribed('dl'), 'subscribed to deadletter');
    client.close();
  });

  it('opens the ecosystem feed only to tokens that may read all of its topics', async () => {
    await expect(TestClient.open(`${app.ws}/api/v2/ws/ecosystem?token=${DASHBOARD}`)).rejects.toMatchObject({
      status: 403,
    });
    const sse = await fetch(`${app.base}/api/v2/ecosystem/live?token=${DASHBOARD}`);
    expect(sse.status).toBe(403);
    expect(((await sse.json()) as { message: string }).message).toMatch(
      /^token "dashboard" may not read ecosystem.events, training.events, orchestrator.actions/,
    );
    const feed = await TestClient.open(`${app.ws}/api/v2/ws/ecosystem?token=${FEED}`);
    await feed.until((c) => c.of('subscribed').length === 4, 'the four feeds');
    feed.close();
  });

  it('needs a token for a plain GET of a WebSocket path too, as OpenAPI marks it', async () => {
    expect((await fetch(`${app.base}/api/v2/ws`)).status).toBe(401);
    const ws = await fetch(`${app.base}/api/v2/ws`, { headers: { authorization: `Bearer ${DASHBOARD}` } });
    expect(ws.status).toBe(426);
  });
});
