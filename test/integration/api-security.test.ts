import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOpen } from '../../src/api/auth.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const TOKEN = 'sec-token-abcdefghijklmnop';

describe('API security', () => {
  let app: TestApp;
  let mutating: { method: string; path: string }[];
  beforeAll(async () => {
    app = await startTestApp({ API_TOKEN: TOKEN, CORS_ORIGINS: 'https://ops.example.com' });
    const spec = (await (await fetch(`${app.base}/docs/json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    // Every mutating operation but those the document declares open (`security: []`, the built-in sink).
    mutating = Object.entries(spec.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([m, op]) => ['post', 'put', 'patch', 'delete'].includes(m) && !isOpen(op as { security?: unknown }))
        .map(([m]) => ({ method: m.toUpperCase(), path: path.replace(/\{[^}]+\}/g, 'x') })),
    );
  });
  afterAll(async () => app?.close());

  it('requires the token on every mutating endpoint, and rejects a wrong one', async () => {
    for (const { method, path } of [...mutating, { method: 'POST', path: '/api/v2/anything' }]) {
      for (const authorization of [undefined, 'Bearer wrong-token-wrong-token', `Bearer ${TOKEN}x`]) {
        const res = await fetch(`${app.base}${path}`, {
          method,
          headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
          body: '{}',
        });
        expect(res.status, `${method} ${path} with ${authorization ?? 'no token'}`).toBe(401);
      }
    }
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
