/** The detector's state survives a restart through the compacted detector.state topic. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Anomaly, DetectorState, MetricSampleInput } from '../../schemas/types.ts';
import { DEFAULT_ENGINE } from '../../src/detect/engine.ts';
import { DetectLoop } from '../../src/detect/loop.ts';
import { partitionForKey } from '../../src/kafka/index.ts';
import { logger } from '../../src/log/index.ts';
import { type TestKafka, testKafka } from '../helpers/kafka.ts';
import { poll } from '../helpers/poll.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5);

const sample = (service: string, i: number, latency = 80): MetricSampleInput => ({
  service,
  timestamp: T0 + i * MIN,
  cpu_usage: 40 + Math.sin(i / 9),
  memory_usage: 50,
  network_latency: latency + 3 * Math.sin(i / 7),
  error_rate: 0.5,
  request_count: 1000 + 50 * Math.sin(i / 11),
});

describe('detector state across restarts', () => {
  let t: TestKafka;
  const group = `detect-${randomBytes(4).toString('hex')}`;
  const processor = () =>
    new DetectLoop(t.kafka, logger('test'), {
      ...DEFAULT_ENGINE,
      groupId: group,
      snapshotIntervalMs: 1000,
      maxServices: 100,
    });

  beforeAll(async () => {
    t = await testKafka(
      ['metrics.samples', 'anomalies', 'detector.state', 'deadletter', 'ecosystem.events'],
      'restart',
    );
  });
  afterAll(async () => t?.cleanup());

  it('resumes a service from its snapshot: a new instance scores at once instead of warming up again', async () => {
    const producer = await t.kafka.producer();
    const first = processor();
    await first.start();
    await producer.send(
      'metrics.samples',
      Array.from({ length: 200 }, (_, i) => ({ key: 'payments', value: sample('payments', i) })),
    );
    await poll(async () => (first.samplesOf('payments') === 200 ? true : undefined));
    await first.stop();

    // The snapshot on the compacted topic covers all 200 samples, on the samples' partition.
    const snaps: DetectorState[] = [];
    const { replayWindow } = await import('../../src/kafka/index.ts');
    await replayWindow(t.kafka, {
      topic: t.kafka.catalog.name('detector.state'),
      onRecords: async (rs) => {
        for (const r of rs) snaps.push((await t.kafka.serde.decode('detector.state', r.value)).value);
      },
    });
    const last = snaps.filter((s) => s.service === 'payments').at(-1)!;
    expect(last.sourcePartition).toBe(partitionForKey('payments', 6));
    expect(last.sourceOffset).toBeGreaterThanOrEqual(199);

    // A fresh detector would be warming up (score 0) for 30 samples; the restored one flags this jump at once.
    const second = processor();
    await second.start();
    await producer.send('metrics.samples', [{ key: 'payments', value: sample('payments', 200, 800) }]);
    const anomalies: Anomaly[] = [];
    await poll(async () => (second.samplesOf('payments') === 201 ? true : undefined));
    await second.stop();
    const { consumeN } = await import('../helpers/kafka.ts');
    for (const r of await consumeN(t.kafka, t.kafka.catalog.name('anomalies'), 1))
      anomalies.push((await t.kafka.serde.decode('anomalies', r.value)).value);
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]).toMatchObject({ service: 'payments', state: 'OPEN', startedAt: T0 + 200 * MIN });
    expect(anomalies[0]!.metrics[0]).toBe('network_latency');
  }, 180_000);

  it('places keys on the partitions the broker does', async () => {
    const producer = await t.kafka.producer();
    const keys = Array.from({ length: 20 }, (_, i) => `svc-${i}`);
    const results = await Promise.all(
      keys.map((k) => producer.send('metrics.samples', [{ key: k, value: sample(k, 0) }])),
    );
    results.forEach((r, i) => {
      expect(r[0]!.partition).toBe(partitionForKey(keys[i]!, 6));
    });
  });
});
