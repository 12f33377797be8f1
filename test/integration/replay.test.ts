import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runReplay } from '../../src/cli/replay.ts';
import { type ConsumedRecord, replayWindow } from '../../src/kafka/index.ts';
import { consumeN, type TestKafka, testKafka } from '../helpers/kafka.ts';
import { runCli } from '../helpers/process.ts';

const T0 = Date.parse('2026-11-01T00:00:00Z');
const MIN = 60_000;

/** Minute `i` of a service's samples, with the record timestamp the sample's own. */
const sample = (service: string, i: number) => ({
  key: service,
  timestamp: T0 + i * MIN,
  value: {
    service,
    timestamp: T0 + i * MIN,
    cpu_usage: i,
    memory_usage: 1,
    network_latency: 1,
    error_rate: 0,
    request_count: 1,
  },
});

describe('replaying a time window', () => {
  let t: TestKafka;
  beforeAll(async () => {
    t = await testKafka(['metrics.samples'], 'replay');
    const producer = await t.kafka.producer();
    // 3 services x 60 minutes, one sample per minute, produced in time order with the record timestamp = sample time.
    const records = Array.from({ length: 60 }, (_, i) => ['a', 'b', 'c'].map((service) => sample(service, i))).flat();
    await producer.send('metrics.samples', records);
  });
  afterAll(async () => t?.cleanup());

  it('reads exactly the records of the window on every partition, and stops there', async () => {
    const got: ConsumedRecord[] = [];
    const result = await replayWindow(t.kafka, {
      topic: t.kafka.catalog.name('metrics.samples'),
      from: T0 + 10 * MIN,
      to: T0 + 19 * MIN,
      onRecords: (records) => {
        got.push(...records);
      },
    });
    expect(result.records).toBe(30);
    expect(got).toHaveLength(30);
    expect(got.every((r) => r.timestamp >= T0 + 10 * MIN && r.timestamp <= T0 + 19 * MIN)).toBe(true);
    expect(new Set(got.map((r) => `${r.key}:${r.timestamp}`)).size).toBe(30);
  });

  it('writes a window to JSON lines with decoded values (the replay command)', async () => {
    const out = join(tmpdir(), `replay-${Date.now()}.jsonl`);
    const { records } = await runReplay(t.kafka, {
      topic: t.kafka.catalog.name('metrics.samples'),
      from: T0,
      to: T0 + 4 * MIN,
      out,
    });
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { encoding: string; value: { service: string } });
    rmSync(out);
    expect(records).toBe(15);
    expect(lines).toHaveLength(15);
    expect(lines.every((l) => l.encoding === 'decoded')).toBe(true);
  });
});

describe('automatrix replay --to-topic into a topic that does not exist (issue 16, item 2)', () => {
  let t: TestKafka;
  let env: Record<string, string>;
  beforeAll(async () => {
    t = await testKafka(['metrics.samples'], 'replay-target');
    const { brokers, registryUrl } = inject('kafka');
    env = { KAFKA_BROKERS: brokers.join(','), SCHEMA_REGISTRY_URL: registryUrl, KAFKA_TOPIC_PREFIX: t.prefix };
    const producer = await t.kafka.producer();
    await producer.send(
      'metrics.samples',
      Array.from({ length: 40 }, (_, i) => sample(`svc-${i % 8}`, i)),
    );
  });
  afterAll(async () => t?.cleanup());

  it('creates the target with the source partition count and copies every record, key to the same partition', async () => {
    const target = `${t.prefix}copy`;
    const r = await runCli(['replay', '--topic', 'metrics.samples', '--to-topic', target], env, 120_000);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`created topic ${target} with 6 partitions (as many as ${t.prefix}metrics.samples)`);
    const admin = await t.kafka.admin();
    expect(await admin.partitionCount(target)).toBe(6);
    const copied = await consumeN(t.kafka, target, 40);
    const source = await consumeN(t.kafka, t.kafka.catalog.name('metrics.samples'), 40);
    const place = (rs: ConsumedRecord[]) =>
      new Map(rs.map((x) => [`${x.key?.toString()}@${x.timestamp}`, x.partition] as const));
    expect(place(copied)).toEqual(place(source));
  });

  it('creates it with --partitions, and refuses in one line what it cannot do', async () => {
    const target = `${t.prefix}copy2`;
    const r = await runCli(['replay', '--topic', 'metrics.samples', '--to-topic', target, '--partitions', '2'], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`created topic ${target} with 2 partitions`);
    expect(await (await t.kafka.admin()).partitionCount(target)).toBe(2);

    const mismatch = await runCli(
      ['replay', '--topic', 'metrics.samples', '--to-topic', target, '--partitions', '4'],
      env,
    );
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr.trim().split('\n')).toEqual([
      `automatrix: --partitions 4: topic ${target} exists with 2 partitions (Kafka cannot shrink a topic; drop --partitions to replay into it as it is)`,
    ]);
    const noSource = await runCli(['replay', '--topic', `${t.prefix}nothing`, '--to-topic', `${t.prefix}x`], env);
    expect(noSource.code).toBe(1);
    expect(noSource.stderr.trim()).toBe(`automatrix: topic ${t.prefix}nothing does not exist`);
    const badName = await runCli(['replay', '--topic', 'metrics.samples', '--to-topic', 'no/such name'], env);
    expect(badName.code).toBe(1);
    expect(badName.stderr.trim().split('\n')).toHaveLength(1);
    expect(badName.stderr).toContain('could not create topic no/such name');
  });
});
