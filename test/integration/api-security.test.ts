import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const TOKEN = 'sec-token-abcdefghijklmnop';
const CI_TOKEN = 'ci-token-abcdefghijklmnop';

interface SpecOperation {
  security?: Record<string, string[]>[];
}

describe('API security', () => {
  let app: TestApp;
  let spec: {
    info: { description: string };
    components?: { securitySchemes?: Record<string, unknown> };
    paths: Record<string, Record<string, SpecOperation>>;
  };
  let operations: { method: string; path: string; secured: boolean }[];
  beforeAll(async () => {
    app = await startTestApp({
      API_TOKEN: TOKEN,
      API_TOKENS: JSON.stringify([{ name: 'ci', token: CI_TOKEN, operations: ['POST /api/v2/relaycore/message'] }]),
      CORS_ORIGINS: 'https://ops.example.com',
    });
    spec = (await (await fetch(`${app.base}/docs/json`)).json()) as typeof spec;
    operations = Object.entries(spec.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([m]) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
        .map(([m, op]) => ({
          method: m.toUpperCase(),
          path: path.replace(/\{[^}]+\}/g, 'x'),
          secured: Boolean(op.security?.length),
        })),
    );
  });
  afterAll(async () => app?.close());

  const call = (method: string, path: string, authorization?: string) =>
    fetch(`${app.base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: method === 'GET' || method === 'DELETE' ? undefined : '{}',
      signal: AbortSignal.timeout(10_000),
    });

  it('marks in OpenAPI the operations that need a token, with a scheme they use, and only those', () => {
    const secured = operations.filter((o) => o.secured);
    expect(Object.keys(spec.components?.securitySchemes ?? {})).toContain('bearer');
    expect(secured.length).toBeGreaterThan(10);
    // Everything that changes something is marked, except predictions, which only read, and the built-in
    // sink, an endpoint for routes to deliver to that OpenAPI declares open (security: []).
    const open = ['/api/v2/neuroweaver/predict', '/api/v2/relaycore/sink'];
    for (const o of operations.filter((o) => o.method !== 'GET'))
      expect(o.secured, `${o.method} ${o.path}`).toBe(!open.includes(o.path));
    // Of the reads, only the streams of topic records are marked.
    expect(
      secured
        .filter((o) => o.method === 'GET')
        .map((o) => o.path)
        .sort(),
    ).toEqual(['/api/v2/ecosystem/live', '/api/v2/ws', '/api/v2/ws/ecosystem']);
  });

  it('refuses a missing or wrong token on every operation OpenAPI marks as secured', async () => {
    for (const { method, path } of [
      ...operations.filter((o) => o.secured),
      { method: 'POST', path: '/api/v2/anything' },
    ]) {
      for (const authorization of [undefined, 'Bearer wrong-token-wrong-token', `Bearer ${TOKEN}x`]) {
        const res = await call(method, path, authorization);
        expect(res.status, `${method} ${path} with ${authorization ?? 'no token'}`).toBe(401);
        expect(((await res.json()) as { message: string }).message).toMatch(/needs an API token/);
      }
    }
  });

  it('refuses no operation OpenAPI leaves unmarked, predictions included, when no token is sent', async () => {
    for (const { method, path } of operations.filter((o) => !o.secured)) {
      const res = await call(method, path);
      expect([401, 403], `${method} ${path}`).not.toContain(res.status);
      await res.body?.cancel();
    }
    const predict = await fetch(`${app.base}/api/v2/neuroweaver/predict?model=performance`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cpu_usage: 50 }),
    });
    expect(predict.status).not.toBe(401);
    expect([200, 400, 409]).toContain(predict.status);
  });

  it('lets a token limited to some operations call those, and refuses it the others with 403 naming both', async () => {
    const ci = `Bearer ${CI_TOKEN}`;
    const allowed = await call('POST', '/api/v2/relaycore/message', ci);
    expect([401, 403]).not.toContain(allowed.status);
    expect(allowed.status).toBe(400);
    const refused = await call('PUT', '/api/v2/relaycore/routes/orders', ci);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toBe(
      'token "ci" may not call PUT /api/v2/relaycore/routes/{name}',
    );
    // The token may read no topic: the WebSocket opens, a subscription is refused.
    expect((await call('GET', '/api/v2/ws', ci)).status).toBe(426);
  });

  it('lets reads through without a token', async () => {
    expect((await fetch(`${app.base}/health/live`)).status).toBe(200);
  });

  it('allows CORS only for configured origins', async () => {
    const ok = await fetch(`${app.base}/health/live`, { headers: { origin: 'https://ops.example.com' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://ops.example.com');
    const evil = await fetch(`${app.base}/health/live`, { headers: { origin: 'https://evil.example.com' } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('limits request bodies', async () => {
    const res = await fetch(`${app.base}/api/v2/anything`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ x: 'y'.repeat(2 * 1024 * 1024) }),
    });
    expect(res.status).toBe(413);
  });
});
