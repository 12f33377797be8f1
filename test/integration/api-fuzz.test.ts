/**
 * Bad input everywhere: every operation in the OpenAPI document (so every component's routes, as
 * they are added) gets malformed requests. Each must get a 4xx with a clear JSON message, never a
 * 5xx, and the process must stay up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';

interface Operation {
  method: string;
  path: string;
  body?: JsonSchema;
}
interface JsonSchema {
  type?: string | string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  $ref?: string;
}

const TOKEN = 'fuzz-token-0123456789';

function operations(spec: {
  paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>;
}): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      ops.push({ method: method.toUpperCase(), path, body: op.requestBody?.content?.['application/json']?.schema });
    }
  }
  return ops;
}

/** Fills path parameters with hostile values. */
const fill = (path: string, value: string) => path.replace(/\{[^}]+\}/g, encodeURIComponent(value));

/** JSON types a schema accepts (following anyOf/oneOf); empty means "anything". */
function acceptedTypes(schema: JsonSchema | undefined): Set<string> {
  if (!schema) return new Set();
  const own = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  const nested = [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])].flatMap((s) => [...acceptedTypes(s)]);
  const all = new Set([...own, ...nested]);
  if (all.has('integer')) all.add('number');
  return all;
}

/** A value of a JSON type the schema does not accept, or undefined if it accepts every type. */
function wrongType(schema: JsonSchema | undefined): unknown {
  const accepted = acceptedTypes(schema);
  const candidates: [string, unknown][] = [
    ['object', { unexpected: { nested: true } }],
    ['string', 'not-a-number'],
    ['number', 12345],
    ['boolean', true],
    ['array', [1, 2]],
  ];
  if (!accepted.size) return undefined;
  return candidates.find(([type]) => !accepted.has(type))?.[1];
}

describe('fuzzing every HTTP operation', () => {
  let app: TestApp;
  let ops: Operation[];
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

  beforeAll(async () => {
    app = await startTestApp({ API_TOKEN: TOKEN, BODY_LIMIT_BYTES: String(64 * 1024) });
    ops = operations((await (await fetch(`${app.base}/docs/json`)).json()) as never);
  });
  afterAll(async () => app?.close());

  async function send(method: string, path: string, body?: string | Buffer, extra: Record<string, string> = {}) {
    const res = await fetch(`${app.base}${path}`, {
      method,
      headers: { ...headers, ...extra },
      body: method === 'GET' || method === 'DELETE' ? undefined : body,
    });
    const text = await res.text();
    return { status: res.status, text };
  }

  function expectClear4xx(r: { status: number; text: string }, what: string) {
    expect(r.status, `${what} → ${r.status} ${r.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
    expect(r.status, `${what} → ${r.status} ${r.text.slice(0, 200)}`).toBeLessThan(500);
    const body = JSON.parse(r.text) as { message?: unknown };
    expect(typeof body.message, what).toBe('string');
  }

  it('finds the documented operations', () => {
    expect(ops.length).toBeGreaterThanOrEqual(4);
  });

  it('rejects malformed bodies on every operation that takes one', async () => {
    const deep = `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`;
    for (const op of ops.filter((o) => o.body)) {
      const path = fill(op.path, 'x');
      const what = `${op.method} ${op.path}`;
      expectClear4xx(await send(op.method, path, '{"unterminated": '), `${what} truncated JSON`);
      expectClear4xx(await send(op.method, path, '[1,2,3]'), `${what} array body`);
      expectClear4xx(
        await send(op.method, path, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])),
        `${what} invalid UTF-8`,
      );
      expectClear4xx(await send(op.method, path, deep), `${what} deeply nested`);
      expectClear4xx(await send(op.method, path, JSON.stringify({ big: 'x'.repeat(100 * 1024) })), `${what} huge body`);
      expectClear4xx(
        await send(op.method, path, 'plain text', { 'content-type': 'text/plain' }),
        `${what} wrong content type`,
      );
      const props = Object.entries(op.body?.properties ?? {});
      if (op.body?.required?.length) expectClear4xx(await send(op.method, path, '{}'), `${what} missing fields`);
      for (const [name, schema] of props) {
        const value = wrongType(schema);
        if (value === undefined) continue;
        const r = await send(op.method, path, JSON.stringify({ [name]: value }));
        expectClear4xx(r, `${what} ${name} of the wrong type`);
      }
    }
  });

  it('answers hostile path parameters and unknown routes with a 4xx', async () => {
    for (const op of ops.filter((o) => o.path.includes('{'))) {
      for (const value of ['../../etc/passwd', 'ü'.repeat(300), '%00', ' ']) {
        const r = await send(op.method, fill(op.path, value), op.body ? '{}' : undefined);
        expect(r.status, `${op.method} ${op.path} with ${value}`).toBeLessThan(500);
      }
    }
    expectClear4xx(await send('GET', '/api/v2/no-such-thing'), 'unknown route');
    expectClear4xx(await send('POST', '/api/v2/no-such-thing', '{}'), 'unknown route (POST)');
  });

  it('is still alive and healthy afterwards', async () => {
    const live = await fetch(`${app.base}/health/live`);
    expect(live.status).toBe(200);
  });
});
