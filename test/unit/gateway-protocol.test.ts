import { describe, expect, it } from 'vitest';
import { matches, ProtocolError, parseClientMessage } from '../../src/gateway/protocol.ts';
import { decodeCursor, encodeCursor } from '../../src/gateway/sinks.ts';

function error(text: string): ProtocolError {
  try {
    parseClientMessage(text);
  } catch (err) {
    return err as ProtocolError;
  }
  throw new Error(`accepted ${text}`);
}

describe('the gateway client protocol', () => {
  it('parses subscribe with every form of from', () => {
    const now = Date.now();
    expect(parseClientMessage('{"type":"subscribe","topic":"anomalies"}')).toMatchObject({
      type: 'subscribe',
      topic: 'anomalies',
      from: { kind: 'latest' },
      filter: {},
    });
    expect(parseClientMessage('{"type":"subscribe","topic":"a","from":"earliest"}')).toMatchObject({
      from: { kind: 'earliest' },
    });
    expect(parseClientMessage('{"type":"subscribe","topic":"a","from":1764230000000}')).toMatchObject({
      from: { kind: 'timestamp', timestamp: 1764230000000 },
    });
    expect(parseClientMessage('{"type":"subscribe","topic":"a","from":"2026-11-27T10:00:00Z"}')).toMatchObject({
      from: { kind: 'timestamp', timestamp: Date.parse('2026-11-27T10:00:00Z') },
    });
    const rel = parseClientMessage('{"type":"subscribe","topic":"a","from":{"timestamp":"-15m"}}') as {
      from: { timestamp: number };
    };
    expect(Math.abs(rel.from.timestamp - (now - 900_000))).toBeLessThan(5000);
    const off = parseClientMessage(
      '{"type":"subscribe","topic":"a","from":{"offsets":{"0":"12","3":7},"otherwise":"earliest"}}',
    ) as { from: { offsets: Map<number, string>; otherwise: string } };
    expect([...off.from.offsets]).toEqual([
      [0, '12'],
      [3, '7'],
    ]);
    expect(off.from.otherwise).toBe('earliest');
  });

  it('names the field of every bad message', () => {
    const cases: [string, string, string | undefined][] = [
      ['nope', 'invalid_json', undefined],
      ['null', 'invalid_message', undefined],
      ['{"type":"subscribe","topic":""}', 'invalid_message', 'topic'],
      ['{"type":"subscribe","topic":"a","from":{"offsets":{"0":"-1"}}}', 'invalid_message', 'from.offsets.0'],
      [
        '{"type":"subscribe","topic":"a","from":{"offsets":{"0":"99999999999999999999"}}}',
        'invalid_message',
        'from.offsets.0',
      ],
      [
        '{"type":"subscribe","topic":"a","from":{"offsets":{"0":"1"},"otherwise":"never"}}',
        'invalid_message',
        'from.otherwise',
      ],
      ['{"type":"subscribe","topic":"a","from":{"timestamp":-5}}', 'invalid_message', 'from.timestamp'],
      ['{"type":"subscribe","topic":"a","from":{"neither":1}}', 'invalid_message', 'from'],
      ['{"type":"subscribe","topic":"a","filter":[]}', 'invalid_message', 'filter'],
      ['{"type":"subscribe","topic":"a","filter":{"key":[]}}', 'invalid_message', 'filter.key'],
      ['{"type":"subscribe","topic":"a","filter":{"key":[1]}}', 'invalid_message', 'filter.key'],
      ['{"type":"subscribe","topic":"a","filter":{"where":{}}}', 'invalid_message', 'filter.where'],
      [
        '{"type":"subscribe","topic":"a","filter":{"where":{"__proto__.x":1}}}',
        'invalid_message',
        'filter.where.__proto__.x',
      ],
      ['{"type":"subscribe","topic":"a","filter":{"where":{"a":{"b":1}}}}', 'invalid_message', 'filter.where.a'],
      ['{"type":"subscribe","topic":"a","filter":{"other":1}}', 'invalid_message', 'filter.other'],
      ['{"type":"unsubscribe"}', 'invalid_message', 'id'],
      ['{"type":"ping","id":"a b"}', 'invalid_message', 'id'],
      ['{"type":7}', 'unknown_type', 'type'],
    ];
    for (const [text, code, field] of cases) {
      const err = error(text);
      expect(err, text).toBeInstanceOf(ProtocolError);
      expect(err.code, text).toBe(code);
      expect(err.field, text).toBe(field);
      expect(err.message.length).toBeGreaterThan(5);
    }
  });

  it('filters by key and by dotted field paths', () => {
    const f = (
      parseClientMessage(
        '{"type":"subscribe","topic":"a","filter":{"key":["x","y"],"where":{"data.state":["OPEN","HALF_OPEN"],"severity":"WARNING"}}}',
      ) as { filter: Parameters<typeof matches>[0] }
    ).filter;
    expect(matches(f, 'x', { severity: 'WARNING', data: { state: 'OPEN' } })).toBe(true);
    expect(matches(f, 'z', { severity: 'WARNING', data: { state: 'OPEN' } })).toBe(false);
    expect(matches(f, null, { severity: 'WARNING', data: { state: 'OPEN' } })).toBe(false);
    expect(matches(f, 'y', { severity: 'WARNING', data: { state: 'CLOSED' } })).toBe(false);
    expect(matches(f, 'y', { severity: 'WARNING' })).toBe(false);
    expect(matches({ where: [{ path: ['endedAt'], values: [null] }] }, null, { endedAt: null })).toBe(true);
  });

  it('round-trips SSE cursors and ignores ids it did not make', () => {
    const positions = new Map([
      [
        'anomalies',
        new Map([
          [0, 12n],
          [2, 7n],
        ]),
      ],
      ['training.events', new Map([[1, 60n]])],
    ]);
    const text = encodeCursor(positions);
    expect(text).toBe('anomalies:0=12,2=7;training.events:1=60');
    expect(decodeCursor(text)).toEqual(positions);
    for (const bad of ['', 'x', 'a:b=c', 'a:0=1;;', '../x:0=1', 'a:0=1'.repeat(3000)])
      expect(decodeCursor(bad), bad.slice(0, 20)).toBeUndefined();
  });
});
