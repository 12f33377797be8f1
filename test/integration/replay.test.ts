import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReplay } from '../../src/cli/replay.ts';
import { type ConsumedRecord, replayWindow } from '../../src/kafka/index.ts';
import { type TestKafka, testKafka } from '../helpers/kafka.ts';

const T0 = Date.parse('2026-11-01T00:00:00Z');
const MIN = 60_000;

describe('replaying a time window', () => {
  let t: TestKafka;
  beforeAll(async () => {
    t = await testKafka(['metrics.samples'], 'replay');
    const producer = await t.kafka.producer();
    // 3 services x 60 minutes, one sample per minute, produced in time order with the record timestamp = sample time.
    const records = Array.from({ length: 60 }, (_, i) =>
      ['a', 'b', 'c'].map((service) => ({
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
      })),
    ).flat();
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
