/**
 * Issue 16, item 5: Avro outputs read as text. `automatrix tail` prints decoded JSON lines, and
 * `automatrix kafka-console` runs Kafka's own console consumer and producer on the broker.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Anomaly } from '../../schemas/types.ts';
import type { TopicInput } from '../../src/kafka/index.ts';
import { consumeN, type TestKafka, testKafka } from '../helpers/kafka.ts';
import { collect, runCli } from '../helpers/process.ts';

const T0 = Date.parse('2026-11-20T10:00:00Z');

const anomaly = (i: number, service: string): TopicInput<'anomalies'> => ({
  id: `inc-${i}`,
  service,
  state: 'OPEN',
  kind: 'spike',
  metrics: ['cpu_usage'],
  score: 0.9,
  contributions: [],
  explanation: `CPU of ${service} spiked`,
  startedAt: T0 + i * 1000,
  at: T0 + i * 1000,
  endedAt: null,
});

interface Line {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  encoding: string;
  value: unknown;
}
const lines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);

describe('reading Avro outputs as text', () => {
  let t: TestKafka;
  let env: Record<string, string>;
  beforeAll(async () => {
    t = await testKafka(['anomalies'], 'tail');
    const { brokers, registryUrl } = inject('kafka');
    env = { KAFKA_BROKERS: brokers.join(','), SCHEMA_REGISTRY_URL: registryUrl, KAFKA_TOPIC_PREFIX: t.prefix };
    const producer = await t.kafka.producer();
    await producer.send(
      'anomalies',
      [0, 1, 2].map((i) => ({ key: `svc-${i}`, timestamp: T0 + i * 1000, value: anomaly(i, `svc-${i}`) })),
    );
  });
  afterAll(async () => t?.cleanup());

  it('tail prints the Avro records of a window as decoded JSON lines', async () => {
    const r = await runCli(['tail', 'anomalies', '--from', String(T0), '--no-follow'], env, 60_000);
    expect(r.code).toBe(0);
    const got = lines(r.stdout);
    expect(got).toHaveLength(3);
    for (const l of got) {
      expect(l.topic).toBe(t.kafka.catalog.name('anomalies'));
      expect(l.encoding).toBe('decoded');
      expect(l.value).toMatchObject({ service: l.key, kind: 'spike', explanation: `CPU of ${l.key} spiked` });
    }
    expect(new Set(got.map((l) => l.key))).toEqual(new Set(['svc-0', 'svc-1', 'svc-2']));
    const one = await runCli(['tail', 'anomalies', '--from', String(T0), '--no-follow', '--key', 'svc-1'], env);
    expect(lines(one.stdout).map((l) => l.key)).toEqual(['svc-1']);
  });

  it('tail follows new records live and stops after --limit', async () => {
    const child = spawn(process.execPath, ['bin/automatrix.js', 'tail', 'anomalies', '--limit', '2'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const done = collect(child, 90_000);
    const producer = await t.kafka.producer();
    let i = 10;
    // It starts at the end of the topic once connected: produce until it has printed two.
    while (child.exitCode === null && i < 200) {
      await producer.send('anomalies', [{ key: 'live', value: anomaly(i++, 'live') }]);
      await new Promise((r) => setTimeout(r, 300));
    }
    const r = await done;
    expect(r.code).toBe(0);
    const got = lines(r.stdout);
    expect(got).toHaveLength(2);
    expect(got.every((l) => l.key === 'live' && (l.value as Anomaly).service === 'live')).toBe(true);
    expect(BigInt(got[1]!.offset)).toBeGreaterThan(BigInt(got[0]!.offset));
  });

  it("kafka-console runs Kafka's console producer and consumer against the broker, and tail reads their JSON", async () => {
    const topic = `${t.prefix}orders.audit`;
    const created = await runCli(['kafka-console', 'topics', '--create', '--topic', topic, '--partitions', '3'], env);
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(`Created topic ${topic}`);
    const input = ['a:{"orderId":1}', 'b:{"orderId":2}', 'a:plain text'].join('\n');
    const produced = await runCli(
      ['kafka-console', 'producer', '--topic', topic, '--property', 'parse.key=true', '--property', 'key.separator=:'],
      env,
      120_000,
      `${input}\n`,
    );
    expect(produced.code).toBe(0);
    const records = await consumeN(t.kafka, topic, 3);
    expect(records.map((r) => `${r.key}:${r.value}`).sort()).toEqual(
      ['a:{"orderId":1}', 'a:plain text', 'b:{"orderId":2}'].sort(),
    );

    const consumed = await runCli(
      [
        'kafka-console',
        'consumer',
        '--topic',
        topic,
        '--from-beginning',
        '--max-messages',
        '3',
        '--timeout-ms',
        '60000',
        '--property',
        'print.key=true',
      ],
      env,
      120_000,
    );
    expect(consumed.code).toBe(0);
    expect(consumed.stdout.trim().split('\n').sort()).toEqual(
      ['a\t{"orderId":1}', 'a\tplain text', 'b\t{"orderId":2}'].sort(),
    );

    const tailed = lines((await runCli(['tail', topic, '--from', '-1h', '--no-follow'], env)).stdout);
    const shown = tailed.map((l) => JSON.stringify([l.encoding, l.value])).sort();
    expect(shown).toEqual(['["json",{"orderId":1}]', '["json",{"orderId":2}]', '["text","plain text"]']);
  }, 240_000);
});
