/**
 * Issue 7, bad input on the WebSocket gateway: every client message type (subscribe, unsubscribe,
 * ping, and types that do not exist) with each field missing, of every wrong JSON type, too long,
 * deeply nested, or joined by unknown fields; a seeded random pass over the same; frames too big,
 * binary or not UTF-8; and every way we could think of to name a topic outside the allow-list.
 * Each message gets exactly one answer, and an error is a known code with a readable message; a
 * frame the protocol itself forbids closes that connection with the WebSocket close code for it;
 * the process stays up and serves the next client. No refused topic ever delivers a record.
 */
import { describe, expect, inject, it } from 'vitest';
import { WebSocket } from 'ws';
import { KafkaConnection } from '../../src/kafka/index.ts';
import { gatewayForSuite } from '../helpers/gateway.ts';
import { uniquePrefix } from '../helpers/kafka.ts';
import { type Msg, TestClient } from '../helpers/ws.ts';

const ERROR_CODES = new Set([
  'invalid_json',
  'invalid_message',
  'unknown_type',
  'binary_frame',
  'topic_not_allowed',
  'unknown_subscription',
  'duplicate_id',
  'too_many_subscriptions',
  'topic_unavailable',
  'rate_limited',
]);
/** The gateway answers at most this many messages per second and client; the fuzz stays under it. */
const PER_CLIENT = 20;

/** A small deterministic PRNG (mulberry32), so a failing case can be reproduced. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const deepObject = (n: number) => `${'{"a":'.repeat(n)}null${'}'.repeat(n)}`;
const WRONG: unknown[] = [
  null,
  0,
  -1,
  1.5,
  1e308,
  true,
  false,
  '',
  ' ',
  'x'.repeat(300),
  '\u0000',
  '💥',
  [],
  [1, 'a'],
  {},
  { a: { b: { c: [] } } },
  '__proto__',
  'constructor',
];

const FIELDS: Record<string, string[]> = {
  subscribe: ['id', 'topic', 'from', 'filter'],
  unsubscribe: ['id'],
  ping: ['id'],
};
const VALID: Record<string, Record<string, unknown>> = {
  subscribe: { type: 'subscribe', id: 's', topic: 'anomalies', from: 'latest', filter: { key: 'k' } },
  unsubscribe: { type: 'unsubscribe', id: 's' },
  ping: { type: 'ping', id: 'p' },
};

/** Text frames to send, built from the valid message of each type. */
function cases(): string[] {
  const out: string[] = [];
  const add = (v: unknown) => out.push(typeof v === 'string' ? v : JSON.stringify(v));
  for (const [type, fields] of Object.entries(FIELDS)) {
    const valid = VALID[type]!;
    for (const f of fields) {
      const { [f]: _drop, ...missing } = valid;
      add(missing);
      for (const w of WRONG) add({ ...valid, [f]: w });
      add(`{"type":"${type}","${f}":${deep(10_000)}}`);
      add(`{"type":"${type}","${f}":${deepObject(5_000)}}`);
    }
    add({ ...valid, extra: 1 });
    add(`{"type":"${type}","__proto__":{"topic":"deadletter"}}`);
    add({ ...valid, type: type.toUpperCase() });
  }
  // from and filter, field by field.
  for (const from of [
    'yesterday',
    '-99999999999d',
    { timestamp: -1 },
    { timestamp: 1e20 },
    { offsets: [] },
    { offsets: { 0: -1 } },
    { offsets: { '-1': '0' } },
    { offsets: { 0: '1'.repeat(30) } },
    { offsets: { 0: '0' }, otherwise: 'never' },
    { timestamp: 1, offsets: {} },
    { nope: 1 },
  ])
    add({ type: 'subscribe', topic: 'anomalies', from });
  for (const filter of [
    { key: [] },
    { key: [1] },
    { key: Array.from({ length: 101 }, () => 'k') },
    { where: {} },
    { where: { '': 1 } },
    { where: { 'a.__proto__': 1 } },
    { where: { constructor: 1 } },
    { where: { a: { b: 1 } } },
    { where: { a: [] } },
    { where: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`f${i}`, 1])) },
    { other: 1 },
  ])
    add({ type: 'subscribe', topic: 'anomalies', filter });
  // Not a message at all, or of no known type.
  for (const t of [undefined, null, 1, true, 'teleport', '', 'subscribe ', ['subscribe'], { type: 'subscribe' }])
    add(t === undefined ? {} : { type: t });
  for (const text of [
    '',
    ' ',
    'null',
    '0',
    '"subscribe"',
    '[]',
    '[{"type":"ping"}]',
    '{',
    '{"type":"ping"',
    '{"type":"ping"}}',
    '\u0000',
    '\ufeff{"type":"ping"}',
    deep(30_000),
  ])
    add(text);
  // A seeded random pass: valid messages with random fields replaced, added or dropped.
  const rnd = prng(7);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  for (let i = 0; i < 150; i++) {
    const type = pick([...Object.keys(VALID), 'teleport']);
    const msg: Record<string, unknown> = { ...(VALID[type] ?? { type }) };
    for (let k = 0, n = 1 + Math.floor(rnd() * 3); k < n; k++) {
      const f = pick(['type', 'id', 'topic', 'from', 'filter', 'x', 'where', 'key']);
      if (rnd() < 0.3) delete msg[f];
      else msg[f] = pick(WRONG);
    }
    add(msg);
  }
  return out;
}

/** Sends `frames` one at a time, each answered before the next; a fresh client every PER_CLIENT frames. */
async function exchange(url: string, frames: string[], greetings = 1): Promise<{ frame: string; reply: Msg }[]> {
  const out: { frame: string; reply: Msg }[] = [];
  for (let i = 0; i < frames.length; i += PER_CLIENT) {
    const client = await TestClient.open(url);
    // The welcome (and on the ecosystem feed, its four subscriptions) come first.
    await client.until((c) => c.messages.filter((m) => m.type !== 'data').length >= greetings, 'the greeting');
    for (const frame of frames.slice(i, i + PER_CLIENT)) {
      const before = client.messages.length;
      client.send(frame);
      const reply = await client.until(
        (c) => c.messages.slice(before).find((m) => m.type !== 'data'),
        `an answer to ${frame.slice(0, 80)}`,
      );
      out.push({ frame, reply });
      // A subscription that worked is dropped again, so the limit of subscriptions is never what answers.
      if (reply.type === 'subscribed') {
        const n = client.messages.length;
        client.send({ type: 'unsubscribe', id: reply.id });
        await client.until((c) => c.messages.slice(n).find((m) => m.type === 'unsubscribed'), 'unsubscribed');
      }
    }
    client.close();
  }
  return out;
}

describe('WebSocket gateway under bad input', () => {
  const prefix = uniquePrefix('wsfuzz');
  const suite = gatewayForSuite({ GATEWAY_TOPICS: 'anomalies,metrics.samples' }, prefix);
  const base = () => suite.app.base;
  const wsUrl = () => `${suite.app.ws}/api/v2/ws`;

  const alive = async () => {
    expect((await fetch(`${base()}/health`)).status).toBe(200);
    const c = await TestClient.open(wsUrl());
    c.send({ type: 'ping', id: 'alive' });
    await c.until((m) => m.messages.find((x) => x.type === 'pong' && x.id === 'alive'), 'pong');
    c.close();
  };

  it('answers every fuzzed message of every type with one clear reply, and stays up', async () => {
    const frames = cases();
    const replies = await exchange(wsUrl(), frames);
    expect(replies).toHaveLength(frames.length);
    const errors = replies.filter((r) => r.reply.type === 'error');
    for (const { frame, reply } of replies) {
      expect(['error', 'pong', 'subscribed', 'unsubscribed'], frame.slice(0, 120)).toContain(reply.type);
      if (reply.type !== 'error') continue;
      expect(
        ERROR_CODES.has(reply.code as string),
        `${frame.slice(0, 120)} → ${JSON.stringify(reply).slice(0, 200)}`,
      ).toBe(true);
      expect(reply.code, frame.slice(0, 120)).not.toBe('rate_limited');
      expect(typeof reply.message, frame.slice(0, 120)).toBe('string');
      expect((reply.message as string).length, frame.slice(0, 120)).toBeGreaterThan(5);
      expect((reply.message as string).length, frame.slice(0, 120)).toBeLessThan(1000);
      if (reply.field !== undefined) expect(typeof reply.field).toBe('string');
    }
    // Most of them are errors; only valid variants (a ping without an id, ...) succeed.
    expect(errors.length).toBeGreaterThan(frames.length * 0.8);
    // Nothing a client sent made the server log an unexpected error or throw.
    expect(errors.filter((e) => e.reply.message === 'message could not be read')).toEqual([]);
    console.log(
      `${frames.length} frames: ${errors.length} errors (${[...new Set(errors.map((e) => e.reply.code))].join(', ')}), ${replies.length - errors.length} accepted`,
    );
    // The ecosystem feed's WebSocket reads the same client messages.
    const eco = await exchange(wsUrl().replace('/api/v2/ws', '/api/v2/ws/ecosystem'), frames.slice(0, 60), 5);
    expect(eco.map((r) => r.reply.type)).toEqual(replies.slice(0, 60).map((r) => r.reply.type));
    await alive();
  }, 240_000);

  it('closes a connection that sends a frame too big, or a text frame that is not UTF-8, with the close code for it, and serves the next client', async () => {
    const big = await TestClient.open(wsUrl());
    big.send(JSON.stringify({ type: 'ping', id: 'x', pad: 'y'.repeat(70 * 1024) }));
    await big.until((c) => c.closed, 'the close');
    expect(big.closed!.code).toBe(1009);

    const raw = new WebSocket(wsUrl());
    await new Promise((r) => raw.once('open', r));
    const closed = new Promise<number>((r) => raw.once('close', (code) => r(code)));
    // A text frame whose bytes are not UTF-8.
    raw.send(Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0xff, 0x22, 0x7d]), { binary: false });
    expect(await closed).toBe(1007);

    const binary = await TestClient.open(wsUrl());
    binary.ws.send(Buffer.from('{"type":"ping"}'), { binary: true });
    expect(await binary.until((c) => c.of('error')[0], 'binary refusal')).toMatchObject({ code: 'binary_frame' });
    binary.close();

    // A bad start position on the ecosystem feed's URL is refused before the upgrade, with the reason.
    const refused = await TestClient.open(`${wsUrl()}/ecosystem?from=${'9'.repeat(40)}`).catch(
      (e: { status?: number }) => e,
    );
    expect(refused).toMatchObject({ status: 400 });
    const nowhere = await TestClient.open(wsUrl().replace('/api/v2/ws', '/api/v2/wss')).catch(
      (e: { status?: number }) => e,
    );
    expect(nowhere).toMatchObject({ status: 404 });
    await alive();
  });

  it('never lets a client read a topic outside the allow-list', async () => {
    const { brokers, registryUrl } = inject('kafka');
    const kafka = new KafkaConnection({ brokers, registryUrl, topicPrefix: prefix });
    await kafka.serde.registerAll(['anomalies', 'deadletter', 'orchestrator.actions']);
    const escapes = [
      'deadletter',
      'orchestrator.actions',
      'messages.high',
      'relay.routes',
      'detector.state',
      'model.registry',
      `${prefix}deadletter`,
      `${prefix}anomalies`,
      `${prefix}metrics.samples`,
      'automatrix.anomalies',
      '../deadletter',
      'anomalies/../deadletter',
      'anomalies,deadletter',
      'anomalies deadletter',
      '%2e%2e/deadletter',
      'anomalies%00',
      '*',
      '.*',
      'anomalies*',
      '^anomalies$',
      '[a-z]+',
      '__consumer_offsets',
      '_schemas',
      'kafkasql-journal',
      '__proto__',
      'constructor',
      'hasOwnProperty',
      'ANOMALIES',
      'Anomalies',
      ' anomalies',
      'anomalies ',
      'anomalies\n',
      'anomalies\u0000',
      '\u0430nomalies',
      'anomalies\u200b',
      'metrics.samples.',
      '.metrics.samples',
    ];
    const client = await TestClient.open(wsUrl());
    const replies = await exchange(
      wsUrl(),
      escapes.map((topic, i) => JSON.stringify({ type: 'subscribe', id: `x${i}`, topic, from: 'earliest' })),
    );
    for (const { frame, reply } of replies)
      expect(reply, frame).toMatchObject({ type: 'error', code: 'topic_not_allowed', field: 'topic' });
    // Records on the refused topics, then a marker on an allowed one: once the marker is here, nothing else came.
    const producer = await kafka.producer();
    const at = Date.now();
    await producer.send('deadletter', [
      {
        key: 'secret',
        value: { sourceTopic: 'x', sourcePartition: 0, sourceOffset: 0, reason: 'r', error: 'secret', failedAt: at },
      },
    ]);
    await producer.send('orchestrator.actions', [
      { key: 'secret', value: { id: 'secret', kind: 'scale', target: 't', reason: 'r', status: 'PROPOSED', at } },
    ]);
    client.send({ type: 'subscribe', id: 'ok', topic: 'anomalies', from: 'earliest' });
    await client.until((c) => c.of('subscribed').find((m) => m.id === 'ok'), 'the allowed subscription');
    await producer.send('anomalies', [
      {
        key: 'marker',
        value: {
          id: 'marker',
          service: 's',
          state: 'OPEN',
          metrics: [],
          score: 1,
          explanation: 'marker',
          startedAt: at,
          at,
        },
      },
    ]);
    await client.until((c) => c.records('ok').find((r) => r.key === 'marker'), 'the marker');
    expect(client.of('data').every((m) => m.sub === 'ok' && m.topic === 'anomalies')).toBe(true);
    expect(JSON.stringify(client.messages)).not.toContain('secret');
    client.close();
    await kafka.close();
    await alive();
  });
});
