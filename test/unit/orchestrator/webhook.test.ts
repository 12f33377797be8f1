import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestratorAction } from '../../../schemas/index.ts';
import { executeWebhook, webhookRefusal } from '../../../src/orchestrator/webhook.ts';

const action: OrchestratorAction = {
  id: 'act-1',
  kind: 'webhook',
  target: 'checkout',
  reason: 'incident x',
  trigger: 'x',
  dryRun: false,
  status: 'PROPOSED',
  params: {},
  error: null,
  at: 1,
  cause: 'anomaly',
  executor: null,
  detail: null,
};

describe('webhook actions', () => {
  let server: Server;
  let port = 0;
  const received: { body: string; key: string | undefined; authorization?: string; url?: string }[] = [];
  let status = 200;
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({
          body,
          key: req.headers['idempotency-key'] as string | undefined,
          authorization: req.headers.authorization,
          url: req.url,
        });
        if (req.url === '/redirect') res.setHeader('location', 'http://evil.example.net/steal');
        res.statusCode = status;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('only calls hosts on the allow-list', () => {
    expect(webhookRefusal('https://hooks.example.com/x', ['hooks.example.com'])).toBeUndefined();
    expect(webhookRefusal('https://evil.example.net/x', ['hooks.example.com'])).toMatch(
      /not in ORCH_WEBHOOK_ALLOWED_HOSTS/,
    );
    expect(webhookRefusal('http://127.0.0.1:9000/x', ['127.0.0.1:9000'])).toBeUndefined();
    expect(webhookRefusal('http://127.0.0.1:9001/x', ['127.0.0.1:9000'])).toMatch(/127.0.0.1:9001/);
  });

  it('POSTs the action as JSON with its id as the idempotency key', async () => {
    const result = await executeWebhook(action, { url: `http://127.0.0.1:${port}/hook`, allowedHosts: ['127.0.0.1'] });
    expect(result).toEqual({ status: 'EXECUTED', error: null });
    expect(JSON.parse(received.at(-1)!.body)).toMatchObject({ id: 'act-1', reason: 'incident x' });
    expect(received.at(-1)!.key).toBe('act-1');
  });

  it('fails without calling a host that is not allowed, and reports an HTTP error', async () => {
    const before = received.length;
    expect(
      (await executeWebhook(action, { url: `http://127.0.0.1:${port}/hook`, allowedHosts: ['hooks.example.com'] }))
        .status,
    ).toBe('FAILED');
    expect(received.length).toBe(before);
    status = 500;
    const failed = await executeWebhook(action, { url: `http://127.0.0.1:${port}/hook`, allowedHosts: ['127.0.0.1'] });
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toMatch(/HTTP 500/);
    expect(received.length).toBe(before + 2); // one retry on a 5xx
  });

  it('sends credentials in the URL as Basic auth, and never names the URL in an error', async () => {
    status = 200;
    const ok = await executeWebhook(action, {
      url: `http://ops:p%40ss-w0rd@127.0.0.1:${port}/hook/T0KEN-IN-PATH`,
      allowedHosts: ['127.0.0.1'],
    });
    expect(ok).toEqual({ status: 'EXECUTED', error: null });
    expect(received.at(-1)!.authorization).toBe(`Basic ${Buffer.from('ops:p@ss-w0rd').toString('base64')}`);
    expect(received.at(-1)!.url).toBe('/hook/T0KEN-IN-PATH');

    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const failed = await executeWebhook(action, {
      url: `http://ops:p%40ss-w0rd@127.0.0.1:${deadPort}/hook/T0KEN-IN-PATH`,
      allowedHosts: ['127.0.0.1'],
    });
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toMatch(/ECONNREFUSED/);
    expect(failed.error).not.toMatch(/T0KEN|w0rd|ops:/);
    expect(webhookRefusal('http://ops:s3cret@[bad/T0KEN', ['x'])).not.toMatch(/T0KEN|s3cret/);
  });

  it('does not follow a redirect to another host', async () => {
    status = 302;
    const before = received.length;
    const result = await executeWebhook(action, {
      url: `http://127.0.0.1:${port}/redirect`,
      allowedHosts: ['127.0.0.1'],
    });
    expect(result.status).toBe('FAILED');
    expect(result.error).toMatch(/HTTP 302/);
    expect(received.length).toBe(before + 1);
    status = 200;
  });
});
