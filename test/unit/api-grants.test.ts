import { describe, expect, it } from 'vitest';
import { AccessPolicy, mayCall, mayRead, routeAccess } from '../../src/api/auth.ts';
import { parseGrants, sha256 } from '../../src/api/grants.ts';
import { ConfigError, loadConfig } from '../../src/config/index.ts';

const T = 'a-token-of-16-chars-or-more';

describe('API token grants', () => {
  it('parses tokens with topics and operations, by value or by hash', () => {
    const [a, b] = parseGrants(
      JSON.stringify([
        { name: 'dash', token: T, topics: ['anomalies'] },
        {
          name: 'ops',
          sha256: sha256('another-token-0123456').toString('hex'),
          topics: '*',
          operations: ['* /api/v2/relaycore/*', 'POST /api/v2/neuroweaver/models/{model}/rollback'],
        },
      ]),
      'API_TOKENS',
      16,
    );
    expect(a).toMatchObject({ name: 'dash', topics: ['anomalies'], operations: [] });
    expect(b!.topics).toBe('*');
    const policy = new AccessPolicy([a!, b!]);
    const dash = policy.authenticate(T)!;
    const ops = policy.authenticate('another-token-0123456')!;
    expect(policy.authenticate('nobody-knows-this-token')).toBeUndefined();
    expect(policy.authenticate(undefined)).toBeUndefined();
    expect(mayRead(dash, 'anomalies')).toBe(true);
    expect(mayRead(dash, 'deadletter')).toBe(false);
    expect(mayRead(ops, 'deadletter')).toBe(true);
    expect(mayCall(dash, 'POST', '/api/v2/relaycore/message')).toBe(false);
    expect(mayCall(ops, 'DELETE', '/api/v2/relaycore/routes/:name')).toBe(true);
    expect(mayCall(ops, 'POST', '/api/v2/neuroweaver/models/:model/rollback')).toBe(true);
    expect(mayCall(ops, 'POST', '/api/v2/neuroweaver/train')).toBe(false);
    expect(mayCall(ops, 'POST', '/api/v2/relaycorex')).toBe(false);
  });

  it('names the entry and field of every mistake, and never shows a token', () => {
    const cases: [unknown, string][] = [
      ['nope', 'must be a JSON array'],
      [{}, 'must be a JSON array'],
      [[{ token: T }], 'entry 0: name must be'],
      [[{ name: 'x' }], 'entry 0: ("x") needs exactly one of token and sha256'],
      [[{ name: 'x', token: 'short-secret' }], 'token must be a string of at least 16'],
      [[{ name: 'x', sha256: 'abc' }], 'sha256 must be the hex SHA-256'],
      [[{ name: 'x', token: T, topics: 'anomalies' }], 'topics must be "*" or an array'],
      [[{ name: 'x', token: T, operations: ['delete everything'] }], 'operations[0] must be "METHOD /path"'],
      [[{ name: 'x', token: T, operations: ['FETCH /api'] }], 'operations[0] must be'],
      [[{ name: 'x', token: T, scopes: [] }], 'field "scopes" is not allowed'],
    ];
    for (const [doc, words] of cases) {
      const text = typeof doc === 'string' ? doc : JSON.stringify(doc);
      expect(() => parseGrants(text, 'API_TOKENS', 16), text).toThrow(ConfigError);
      expect(() => parseGrants(text, 'API_TOKENS', 16), text).toThrow(words);
      try {
        parseGrants(text, 'API_TOKENS', 16);
      } catch (err) {
        expect((err as Error).message).not.toContain('short-secret');
        expect((err as Error).message).not.toContain(T);
      }
    }
  });

  it('refuses a token naming a topic the gateway does not serve, or two tokens alike', () => {
    expect(() =>
      loadConfig({ API_TOKENS: JSON.stringify([{ name: 'x', token: T, topics: ['messages.high'] }]) }),
    ).toThrow('API_TOKENS token "x" names topic "messages.high", which the gateway does not serve');
    expect(() =>
      loadConfig({
        API_TOKENS: JSON.stringify([
          { name: 'x', token: T },
          { name: 'y', token: T },
        ]),
      }),
    ).toThrow('token "y" is the same token as another one');
    const c = loadConfig({ API_TOKENS: JSON.stringify([{ name: 'x', token: T, topics: ['deadletter'] }]) });
    expect(AccessPolicy.fromConfig(c).enabled).toBe(true);
    expect(AccessPolicy.fromConfig(loadConfig({})).authenticate(undefined)?.name).toBe('anonymous');
  });

  it('needs a token for what changes something or streams topics, and for nothing else', () => {
    expect(routeAccess('GET', {})).toBe('read');
    expect(routeAccess('POST', {})).toBe('write');
    expect(routeAccess('DELETE', undefined)).toBe('write');
    expect(routeAccess('POST', { access: 'read' })).toBe('read');
    expect(routeAccess('GET', { access: 'stream' })).toBe('stream');
    expect(routeAccess('POST', {}, { security: [] })).toBe('read');
  });
});
