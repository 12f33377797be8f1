import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { MetricSampleInput } from '../../schemas/types.ts';
import { KafkaConnection } from '../../src/kafka/index.ts';
import {
  byPartition,
  dropTopics,
  type GatewayApp,
  gatewayForSuite,
  startGateway,
  subscribed,
} from '../helpers/gateway.ts';
import { uniquePrefix } from '../helpers/kafka.ts';
import { TestClient } from '../helpers/ws.ts';

const sample = (i: number): MetricSampleInput => ({
  service: `svc-${i % 13}`,
  timestamp: Date.now(),
  cpu_usage: i % 100,
  memory_usage: 50,
  network_latency: 10,
  error_rate: 0,
  request_count: i,
});
const samples = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({ key: `svc-${(from + i) % 13}`, value: sample(from + i) }));

/** Every partition's offsets arrive in order, each once, from `start` up to the partition's end. */
function expectContiguous(
  records: { partition: number; offset: string }[],
  ends: Map<number, bigint>,
  start = (_p: number) => 0n,
) {
  const seen = byPartition(records);
  for (const [p, end] of ends) {
    const offsets = seen.get(p) ?? [];
    const want = Array.from({ length: Number(end - start(p)) }, (_, i) => start(p) + BigInt(i));
    expect(offsets, `partition ${p}`).toEqual(want);
  }
}

async function partitionEnds(app: GatewayApp, topic: 'metrics.samples' | 'anomalies'): Promise<Map<number, bigint>> {
  const ranges = await (await app.runtime.kafka.admin()).offsets(app.runtime.kafka.catalog.name(topic));
  return new Map(ranges.map((r) => [r.partition, BigInt(r.high)]));
}

describe('coalesced frames', () => {
  const suite = gatewayForSuite({ GATEWAY_FRAME_MS: '20', GATEWAY_HEARTBEAT_MS: '600000' });

  it('keep per-partition order with no gap or duplicate across replay -> live, in frames of many records', async () => {
    const producer = await suite.app.runtime.kafka.producer();
    for (let i = 0; i < 3000; i += 500) await producer.send('metrics.samples', samples(i, 500));
    // One client starts live while records keep coming; the other replays everything and joins it under that traffic.
    const live = await TestClient.open(`${suite.app.ws}/api/v2/ws`);
    live.send({ type: 'subscribe', id: 'm', topic: 'metrics.samples' });
    const liveAck = await live.until(subscribed('m'), 'live subscribed');
    const starts = new Map(
      (liveAck.partitions as { partition: number; start: string }[]).map((p) => [p.partition, BigInt(p.start)]),
    );
    let produced = 3000;
    const stream = (async () => {
      for (let round = 0; round < 40; round++) {
        await producer.send('metrics.samples', samples(produced, 50));
        produced += 50;
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    const replay = await TestClient.open(`${suite.app.ws}/api/v2/ws`);
    replay.send({ type: 'subscribe', id: 'm', topic: 'metrics.samples', from: 'earliest' });
    const ack = await replay.until(subscribed('m'), 'replay subscribed');
    expect((ack.partitions as { live: boolean }[]).every((p) => !p.live)).toBe(true);
    await stream;
    await replay.until((c) => c.of('caught_up')[0], 'caught_up', 60_000);
    const total = produced;
    await replay.until((c) => c.records('m').length >= total, `${total} records on the replaying client`, 60_000);
    await live.until((c) => c.records('m').length >= total - 3000, 'the live records', 60_000);
    const ends = await partitionEnds(suite.app, 'metrics.samples');
    expect([...ends.values()].reduce((a, b) => a + b, 0n)).toBe(BigInt(total));
    expectContiguous(replay.records('m'), ends);
    expectContiguous(live.records('m'), ends, (p) => starts.get(p)!);
    // Every record of a subscription is in order after its `subscribed`, and `caught_up` comes after the replayed ones.
    const types = replay.messages.map((m) => m.type);
    expect(types.indexOf('subscribed')).toBeLessThan(types.indexOf('data'));
    // Coalesced: far fewer frames than records (a data message per partition batch, many per frame).
    const dataFrames = replay.frames.length;
    expect(replay.records('m').length / dataFrames).toBeGreaterThan(10);
    replay.close();
    live.close();
  }, 120_000);
});

describe('partitions added to a mirrored topic', () => {
  const suite = gatewayForSuite({ GATEWAY_PARTITION_CHECK_MS: '1000', GATEWAY_HEARTBEAT_MS: '600000' });

  it('reach subscribed clients without a restart, from their first record; later subscribers see them too', async () => {
    const client = await TestClient.open(`${suite.app.ws}/api/v2/ws`);
    client.send({ type: 'subscribe', id: 'a', topic: 'anomalies' });
    const ack = await client.until(subscribed('a'), 'subscribed');
    expect((ack.partitions as unknown[]).length).toBe(3);
    const real = suite.app.runtime.kafka.catalog.name('anomalies');
    const admin = await suite.app.runtime.kafka.admin();
    await admin.addPartitions(real, 5);
    // A producer of its own knows the new partitions at once (the app's may hold older metadata).
    const { brokers, registryUrl } = inject('kafka');
    const other = new KafkaConnection({ brokers, registryUrl, topicPrefix: suite.app.runtime.kafka.catalog.prefix });
    try {
      const anomaly = (n: number, partition: number) => ({
        key: `svc-${n}`,
        partition,
        value: {
          id: `inc-${n}`,
          service: `svc-${n}`,
          state: 'OPEN' as const,
          metrics: ['cpu_usage'],
          score: 0.9,
          explanation: `incident ${n}`,
          startedAt: n,
          at: n,
        },
      });
      // Written right after the partitions appear, before the gateway can have noticed them.
      await other.serde.register('anomalies');
      const producer = await other.producer();
      await producer.send('anomalies', [anomaly(1, 3), anomaly(2, 4), anomaly(3, 3)]);
      const added = await client.until((c) => c.of('partitions_added')[0], 'partitions_added', 30_000);
      expect(added).toMatchObject({
        id: 'a',
        topic: 'anomalies',
        partitions: [
          { partition: 3, start: '0', live: true },
          { partition: 4, start: '0', live: true },
        ],
      });
      await producer.send('anomalies', [anomaly(4, 4), anomaly(5, 0)]);
      const got = await client.until(
        (c) => (c.records('a').length >= 5 ? c.records('a') : undefined),
        'the five anomalies',
        30_000,
      );
      expect(got.map((r) => `${r.partition}/${r.offset}/${r.value!.id}`).sort()).toEqual(
        ['3/0/inc-1', '4/0/inc-2', '3/1/inc-3', '4/1/inc-4', `0/0/inc-5`].sort(),
      );
      // A client that subscribes afterwards sees five partitions.
      const late = await TestClient.open(`${suite.app.ws}/api/v2/ws`);
      late.send({ type: 'subscribe', id: 'a', topic: 'anomalies', from: 'earliest' });
      const lateAck = await late.until(subscribed('a'), 'late subscribed');
      expect((lateAck.partitions as { partition: number }[]).map((p) => p.partition)).toEqual([0, 1, 2, 3, 4]);
      await late.until((c) => c.records('a').length >= 5, 'all five replayed');
      late.close();
    } finally {
      await other.close();
    }
    client.close();
  }, 90_000);
});

describe('several gateway instances on one deployment', () => {
  const prefix = uniquePrefix('gw-scale');
  let a: GatewayApp;
  let b: GatewayApp;
  beforeAll(async () => {
    a = await startGateway({ GATEWAY_HEARTBEAT_MS: '600000' }, prefix);
    b = await startGateway({ GATEWAY_HEARTBEAT_MS: '600000' }, prefix);
  });
  afterAll(async () => {
    await a.runtime.stop();
    await b.runtime.stop();
    await dropTopics(a.runtime);
  });

  it('each serve their own clients everything, and a client moving between them (no sticky sessions) resumes exactly', async () => {
    const onA = await TestClient.open(`${a.ws}/api/v2/ws`);
    const onB = await TestClient.open(`${b.ws}/api/v2/ws`);
    for (const c of [onA, onB]) c.send({ type: 'subscribe', id: 'm', topic: 'metrics.samples' });
    const ackA = await onA.until(subscribed('m'), 'subscribed on A');
    await onB.until(subscribed('m'), 'subscribed on B');
    const producer = await a.runtime.kafka.producer();
    await producer.send('metrics.samples', samples(0, 300));
    await onA.until((c) => c.records('m').length >= 300, '300 on A');
    await onB.until((c) => c.records('m').length >= 300, '300 on B');
    const key = (r: { partition: number; offset: string }) => `${r.partition}/${r.offset}`;
    expect(new Set(onA.records('m').map(key))).toEqual(new Set(onB.records('m').map(key)));
    // The client on A leaves after reading 300; 200 more are written while it is away; it comes back on B.
    const next = new Map(
      (ackA.partitions as { partition: number; start: string }[]).map((p) => [String(p.partition), p.start]),
    );
    for (const r of onA.records('m')) next.set(String(r.partition), (BigInt(r.offset) + 1n).toString());
    onA.close();
    await producer.send('metrics.samples', samples(300, 200));
    const moved = await TestClient.open(`${b.ws}/api/v2/ws`);
    moved.send({ type: 'subscribe', id: 'm', topic: 'metrics.samples', from: { offsets: Object.fromEntries(next) } });
    await moved.until((c) => c.records('m').length >= 200, 'the 200 missed', 30_000);
    await producer.send('metrics.samples', samples(500, 1));
    const rest = await moved.until((c) => (c.records('m').length >= 201 ? c.records('m') : undefined), 'the live one');
    expect(new Set(rest.map(key)).size).toBe(201);
    expect(rest.map((r) => r.value!.request_count as number).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 201 }, (_, i) => 300 + i),
    );
    moved.close();
    onB.close();
  }, 90_000);
});
