/**
 * Issue 7, bad input on Kafka: values that are garbage, truncated Avro, name a schema id the
 * registry does not know, or are JSON of the wrong shape go to the dead-letter topic with the
 * reason, their original bytes and the component that gave up on them — for RelayCore's inbound
 * messages and for anomaly detection's metric samples — and the good values around them are
 * still handled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../schemas/types.ts';
import { createDetector } from '../../src/detect/index.ts';
import type { KafkaConnection } from '../../src/kafka/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { follow, type RelayHarness, startRelay, type TestEndpoint, testEndpoint, until } from '../helpers/relay.ts';

/** A schema id no registry has handed out. */
const UNKNOWN_ID = 0x7ffffff0;

/** Bad values for a topic, each with the DecodeError reason its dead letter must name. */
function badValues(valid: Buffer): { name: string; value: Buffer; reason: string }[] {
  const body = valid.subarray(5);
  const unknownHeader = Buffer.from([
    0,
    (UNKNOWN_ID >>> 24) & 255,
    (UNKNOWN_ID >>> 16) & 255,
    (UNKNOWN_ID >>> 8) & 255,
    UNKNOWN_ID & 255,
  ]);
  return [
    { name: 'garbage-text', value: Buffer.from('this is not a value {'), reason: 'invalid_json' },
    { name: 'garbage-bytes', value: Buffer.from([0xff, 0xfe, 0x81, 0x00, 0xc3, 0x28]), reason: 'invalid_utf8' },
    { name: 'magic-only', value: Buffer.from([0, 0, 0]), reason: 'invalid_avro' },
    { name: 'truncated-avro', value: valid.subarray(0, Math.max(6, valid.length - 8)), reason: 'invalid_avro' },
    { name: 'unknown-schema-id', value: Buffer.concat([unknownHeader, body]), reason: 'unknown_schema' },
    { name: 'wrong-json', value: Buffer.from(JSON.stringify({ hello: 'world' })), reason: 'schema_mismatch' },
    { name: 'json-array', value: Buffer.from('[1,2,3]'), reason: 'schema_mismatch' },
  ];
}

async function letters(kafka: KafkaConnection, records: { value: Buffer | null }[]): Promise<DeadLetter[]> {
  return Promise.all(records.map(async (r) => (await kafka.serde.decode('deadletter', r.value)).value as DeadLetter));
}

function expectDeadLettered(
  got: DeadLetter[],
  bad: ReturnType<typeof badValues>,
  topic: string,
  component: string,
): void {
  for (const b of bad) {
    const l = got.find((x) => x.key?.toString() === `bad-${b.name}`);
    expect(l, b.name).toBeDefined();
    expect(l, b.name).toMatchObject({ reason: 'decode_error', sourceTopic: topic, component });
    // The reason names what is wrong, and the original bytes are kept for a replay.
    expect(l!.error, b.name).toMatch(new RegExp(`^${b.reason}: .+`));
    expect(Buffer.compare(l!.value!, b.value), b.name).toBe(0);
  }
  expect(got.find((x) => x.key?.toString() === 'bad-unknown-schema-id')!.error).toContain(String(UNKNOWN_ID));
}

describe('bad Kafka values', () => {
  describe('RelayCore inbound messages', () => {
    let h: RelayHarness;
    let ep: TestEndpoint;
    beforeAll(async () => {
      ep = await testEndpoint();
      h = await startRelay({}, 'badrelay');
      expect(
        (
          await h.api('POST', '/relaycore/routes', {
            name: 'default',
            policy: 'round-robin',
            endpoints: [{ id: 'sink', kind: 'HTTP', target: ep.url }],
          })
        ).status,
      ).toBe(201);
    });
    afterAll(async () => {
      await h?.close();
      await ep?.close();
    });

    it('dead-letters garbage, truncated Avro, unknown schema ids and misshapen JSON with the reason, and delivers the good messages around them', async () => {
      const dead = await follow(h.kafka, 'deadletter');
      const valid = h.kafka.serde.encode('messages.normal', { id: 'template', payload: '{"x":1}' } as never);
      const bad = badValues(valid);
      const producer = await h.kafka.producer();
      const topic = h.kafka.catalog.name('messages.normal');
      const good = (i: number) => ({
        key: `good-${i}`,
        value: h.kafka.serde.encode('messages.normal', { id: `good-${i}`, payload: JSON.stringify({ i }) } as never),
      });
      await producer.sendRaw(topic, [good(0), ...bad.map((b) => ({ key: `bad-${b.name}`, value: b.value })), good(1)]);
      await until(() => dead.records.length >= bad.length, 'a dead letter per bad value');
      await until(() => ep.delivered().length >= 2, 'the good messages');
      await dead.stop();
      expect(ep.delivered().sort()).toEqual(['good-0', 'good-1']);
      const got = await letters(h.kafka, dead.records);
      expect(got).toHaveLength(bad.length);
      expectDeadLettered(got, bad, topic, 'relay');
      expect(h.relay.loop.counters.deadLettered).toBe(bad.length);
    });
  });

  describe('anomaly detection inbound metric samples', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ COMPONENTS: 'detect' }, { detect: createDetector });
    });
    afterAll(async () => app?.close());

    it('dead-letters the same bad values with the reason (component detect), and goes on scoring', async () => {
      const kafka = app.runtime.kafka;
      const dead = await follow(kafka, 'deadletter');
      const sample = (service: string) => ({
        service,
        timestamp: Date.now(),
        cpu_usage: 10,
        memory_usage: 20,
        network_latency: 5,
        error_rate: 0,
        request_count: 100,
      });
      const valid = kafka.serde.encode('metrics.samples', sample('template'));
      const bad = badValues(valid);
      const topic = kafka.catalog.name('metrics.samples');
      const producer = await kafka.producer();
      // A good sample before and after the bad ones.
      await producer.sendRaw(topic, [{ key: 'good-a', value: valid }]);
      await producer.sendRaw(
        topic,
        bad.map((b) => ({ key: `bad-${b.name}`, value: b.value })),
      );
      await producer.send('metrics.samples', [{ key: 'good-b', value: sample('good-b') }]);
      await until(() => dead.records.length >= bad.length, 'a dead letter per bad sample');
      // The detector's group moves past every record: nothing is stuck behind a bad value.
      const admin = await kafka.admin();
      await until(
        async () =>
          (await admin.lag(`${kafka.catalog.prefix}detect`, [topic])).reduce((n, p) => n + p.lag, 0) === 0 &&
          (await admin.lag(`${kafka.catalog.prefix}detect`, [topic])).length > 0,
        'the detector to consume every sample',
      );
      await dead.stop();
      const got = await letters(kafka, dead.records);
      expect(got).toHaveLength(bad.length);
      expectDeadLettered(got, bad, topic, 'detect');
      const health = (await (await fetch(`${app.base}/health`)).json()) as {
        components: { detect: { status: string; detail?: string } };
      };
      expect(health.components.detect.status).toBe('ok');
      expect(health.components.detect.detail).toMatch(/2 services/);
    });
  });
});
