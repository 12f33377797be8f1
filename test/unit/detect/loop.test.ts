/** The processor's delivery rule, on a fake connection (the Kafka path itself is covered by integration tests). */
import { describe, expect, it } from 'vitest';
import type { AnomalyInput, MetricSample } from '../../../schemas/types.ts';
import { DEFAULT_ENGINE } from '../../../src/detect/engine.ts';
import { DetectLoop } from '../../../src/detect/loop.ts';
import type { ConsumedBatch, ConsumedRecord, KafkaConnection } from '../../../src/kafka/index.ts';
import { logger } from '../../../src/log/index.ts';
import { Random } from '../../../src/timeseries/random.ts';

const T0 = Date.UTC(2026, 0, 5);

function fakeKafka(failures: number) {
  const sent: AnomalyInput[] = [];
  let left = failures;
  const producer = {
    async send(topic: string, records: { value: unknown }[]) {
      if (topic !== 'anomalies') return [];
      if (left-- > 0) throw new Error('broker unavailable');
      sent.push(...records.map((r) => r.value as AnomalyInput));
      return [];
    },
  };
  const kafka = {
    serde: { decode: async (_k: string, buf: Buffer) => ({ value: JSON.parse(buf.toString()) as MetricSample }) },
    producer: async () => producer,
    catalog: { name: (k: string) => k },
  };
  return { kafka: kafka as unknown as KafkaConnection, sent };
}

function batch(from: number, to: number, latency: (i: number) => number): ConsumedBatch {
  const records: ConsumedRecord[] = [];
  for (let i = from; i < to; i++) {
    const sample: MetricSample = {
      service: 'svc',
      timestamp: T0 + i * 60_000,
      cpu_usage: 40 + Math.sin(i / 5),
      memory_usage: 50,
      network_latency: latency(i),
      error_rate: 0.5,
      request_count: 1000 + 10 * Math.sin(i / 7),
      performance_score: null,
      replicas: null,
      extra: {},
    };
    records.push({
      topic: 'metrics.samples',
      partition: 0,
      offset: String(i),
      key: Buffer.from('svc'),
      value: Buffer.from(JSON.stringify(sample)),
      headers: {},
      timestamp: sample.timestamp,
    });
  }
  return {
    topic: 'metrics.samples',
    partition: 0,
    records,
    highWatermark: String(to),
    resolve: () => undefined,
    commit: async () => undefined,
    heartbeat: async () => undefined,
    isRunning: () => true,
    isStale: () => false,
  };
}

describe('the detect processor', () => {
  it('produces an anomaly whose first produce failed when the batch is fetched again, exactly once', async () => {
    const { kafka, sent } = fakeKafka(1);
    const p = new DetectLoop(kafka, logger('test'), {
      ...DEFAULT_ENGINE,
      groupId: 'g',
      snapshotIntervalMs: 3_600_000,
      maxServices: 10,
    });
    const handle = (b: ConsumedBatch) => (p as unknown as { handle(b: ConsumedBatch): Promise<void> }).handle(b);
    const rng = new Random(7);
    const noise = Array.from({ length: 300 }, () => rng.normal());
    await handle(batch(0, 300, (i) => 80 + noise[i]!));
    const incident = batch(300, 301, () => 900);
    await expect(handle(incident)).rejects.toThrow('broker unavailable');
    expect(sent).toHaveLength(0);
    // The same batch again (the consumer did not commit): its sample is already in the state, the anomaly is not lost.
    await handle(incident);
    expect(sent.filter((a) => a.state === 'OPEN')).toHaveLength(1);
    expect(sent[0]!.metrics[0]).toBe('network_latency');
    expect(p.samplesOf('svc')).toBe(301);
  });
});
