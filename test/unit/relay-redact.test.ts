import { describe, expect, it } from 'vitest';
import type { Route } from '../../schemas/types.ts';
import { REDACTED, redactRoute, redactTarget, restoreRedacted } from '../../src/relay/redact.ts';

const route: Route = {
  name: 'orders',
  policy: 'p2c-peak-ewma',
  maxAttempts: 3,
  settings: {},
  updatedAt: 1,
  endpoints: [
    {
      id: 'a',
      kind: 'HTTP',
      target: 'https://svc:hunter2@orders.internal/in?api_key=K3Y&shard=4',
      weight: 1,
      timeoutMs: 5000,
      headers: { Authorization: 'Bearer abc', 'X-Api-Key': 'k', 'x-tenant': 'acme', cookie: 'sid=1' },
    },
    { id: 'b', kind: 'KAFKA', target: 'orders.audit', weight: 1, timeoutMs: 5000, headers: { 'x-session-token': 't' } },
  ],
};

describe('route secrets', () => {
  it('redacts secret-looking headers, URL passwords and secret query values, and nothing else', () => {
    const shown = redactRoute(route);
    expect(shown.endpoints[0]!.headers).toEqual({
      Authorization: REDACTED,
      'X-Api-Key': REDACTED,
      'x-tenant': 'acme',
      cookie: REDACTED,
    });
    expect(shown.endpoints[0]!.target).not.toMatch(/hunter2|K3Y/);
    expect(new URL(shown.endpoints[0]!.target).searchParams.get('shard')).toBe('4');
    expect(new URL(shown.endpoints[0]!.target).username).toBe('svc');
    expect(shown.endpoints[1]).toEqual({ ...route.endpoints[1], headers: { 'x-session-token': REDACTED } });
    expect(redactTarget('http://plain.internal/x?shard=1')).toBe('http://plain.internal/x?shard=1');
    expect(JSON.stringify(route)).toMatch(/hunter2/); // the stored route is untouched
  });

  it('keeps stored secrets when a redacted route is written back, and takes new values', () => {
    const edited = redactRoute(route);
    edited.endpoints[0]!.headers['x-tenant'] = 'other';
    const restored = restoreRedacted(edited, route);
    expect(restored.endpoints[0]!.headers).toEqual({ ...route.endpoints[0]!.headers, 'x-tenant': 'other' });
    expect(restored.endpoints[0]!.target).toBe(route.endpoints[0]!.target);
    const replaced = restoreRedacted(
      { ...edited, endpoints: [{ ...edited.endpoints[0]!, headers: { Authorization: 'Bearer new' } }] },
      route,
    );
    expect(replaced.endpoints[0]!.headers).toEqual({ Authorization: 'Bearer new' });
    expect(restoreRedacted(edited, undefined).endpoints[0]!.headers.Authorization).toBe(REDACTED);
  });
});
