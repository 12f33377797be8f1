/**
 * The BatchConsumer contract, on whichever client KAFKA_CLIENT picks (kafkajs by default): commits
 * only what was handled, reads again what a failed handler did not resolve, seeks, pauses and resumes
 * one partition. Run it with KAFKA_CLIENT=platformatic to check the emulated seek and pause there.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchConsumer, ConsumedRecord, KafkaAdmin, TypedProducer } from '../../src/kafka/index.ts';
import { type TestKafka, testKafka } from '../helpers/kafka.ts';
import { poll } from '../helpers/poll.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('BatchConsumer contract', () => {
  let t: TestKafka;
  let admin: KafkaAdmin;
  let producer: TypedProducer;
  const consumers: BatchConsumer[] = [];

  beforeAll(async () => {
    t = await testKafka([], 'batchconsumer');
    admin = await t.kafka.admin();
    producer = await t.kafka.producer();
  });
  afterAll(async () => {
    await Promise.allSettled(consumers.map((c) => c.disconnect()));
    await t?.cleanup();
  });

  async function topicWith(partitions: number, count: number): Promise<string> {
    const topic = `${t.prefix}bc-${randomBytes(3).toString('hex')}`;
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.createTopic(topic, partitions);
        break;
      } catch (err) {
        if (attempt >= 5) throw err;
        await sleep(500);
      }
    }
    await produce(topic, 0, count);
    return topic;
  }

  async function produce(topic: string, from: number, count: number, partition?: number): Promise<void> {
    await producer.sendRaw(
      topic,
      Array.from({ length: count }, (_, i) => ({
        key: `k${(from + i) % 7}`,
        value: `v${from + i}`,
        headers: { n: String(from + i) },
        partition,
      })),
    );
  }

  function consumer(): BatchConsumer {
    const c = t.kafka.consumer({ groupId: `${t.prefix}g-${randomBytes(3).toString('hex')}`, maxWaitTimeMs: 100 });
    consumers.push(c);
    return c;
  }

  const committed = async (c: BatchConsumer, topic: string) =>
    (await admin.lag(c.groupId, [topic])).map((r) => [r.partition, r.committed] as const).sort((a, b) => a[0] - b[0]);
  const highs = async (topic: string) => (await admin.offsets(topic)).map((r) => [r.partition, r.high] as const);

  it('commits a batch only once handled, and reads again what a failed handler did not resolve', async () => {
    const topic = await topicWith(3, 90);
    const c = consumer();
    const got: ConsumedRecord[] = [];
    let failed = false;
    await c.subscribe([topic], { fromBeginning: true });
    await c.run(
      async (batch) => {
        if (!failed && batch.records.length >= 2) {
          failed = true;
          got.push(batch.records[0]!);
          batch.resolve(batch.records[0]!.offset);
          throw new Error('handler failed after the first record');
        }
        got.push(...batch.records);
      },
      { partitionsConcurrently: 3 },
    );
    await poll(async () => (new Set(got.map((r) => r.headers.n)).size >= 90 ? true : undefined), 60_000, 100);
    await poll(
      async () => (JSON.stringify(await committed(c, topic)) === JSON.stringify(await highs(topic)) ? true : undefined),
      30_000,
    );
    expect(failed).toBe(true);
    // Every record handed over at least once, and every offset of every partition.
    const byN = new Map<string, number>();
    for (const r of got) byN.set(r.headers.n!, (byN.get(r.headers.n!) ?? 0) + 1);
    expect(byN.size).toBe(90);
    for (const p of [0, 1, 2]) {
      const offsets = got.filter((r) => r.partition === p).map((r) => Number(r.offset));
      expect(new Set(offsets).size).toBe(Number((await highs(topic)).find(([q]) => q === p)![1]));
    }
  }, 90_000);

  it('seeks one partition back and forward; a seek right after run() starts there', async () => {
    const topic = await topicWith(1, 50);
    const c = consumer();
    const got: ConsumedRecord[] = [];
    await c.subscribe([topic], { fromBeginning: true });
    await c.run(async (batch) => void got.push(...batch.records));
    c.seek(topic, 0, '30');
    await poll(async () => (got.some((r) => r.offset === '49') ? true : undefined), 30_000, 50);
    expect(got[0]!.offset).toBe('30');
    expect(got.map((r) => Number(r.offset))).toEqual(Array.from({ length: 20 }, (_, i) => 30 + i));

    got.length = 0;
    c.seek(topic, 0, '10');
    await poll(async () => (got.some((r) => r.offset === '49') ? true : undefined), 30_000, 50);
    expect(got.map((r) => Number(r.offset))).toEqual(Array.from({ length: 40 }, (_, i) => 10 + i));

    got.length = 0;
    c.seek(topic, 0, '50');
    await produce(topic, 50, 5);
    await poll(async () => (got.some((r) => r.offset === '54') ? true : undefined), 30_000, 50);
    expect(got.map((r) => Number(r.offset))).toEqual([50, 51, 52, 53, 54]);
  }, 90_000);

  it('pauses one partition (nothing of it is handed over) and resumes where it stopped', async () => {
    const topic = await topicWith(2, 0);
    const c = consumer();
    const got: ConsumedRecord[] = [];
    await c.subscribe([topic], { fromBeginning: true });
    await c.run(async (batch) => void got.push(...batch.records), { partitionsConcurrently: 2 });
    await poll(async () => (c.assigned()[topic]?.length === 2 ? true : undefined), 30_000, 50);
    await produce(topic, 0, 10, 0);
    await produce(topic, 100, 10, 1);
    await poll(async () => (got.length >= 20 ? true : undefined), 30_000, 50);

    c.pause(topic, [1]);
    expect(c.isPaused(topic, 1)).toBe(true);
    expect(c.isPaused(topic, 0)).toBe(false);
    await produce(topic, 10, 10, 0);
    await produce(topic, 110, 10, 1);
    await poll(async () => (got.filter((r) => r.partition === 0).length >= 20 ? true : undefined), 30_000, 50);
    await sleep(1000);
    expect(got.filter((r) => r.partition === 1)).toHaveLength(10);

    c.resume(topic, [1]);
    expect(c.isPaused(topic, 1)).toBe(false);
    await poll(async () => (got.filter((r) => r.partition === 1).length >= 20 ? true : undefined), 30_000, 50);
    await sleep(300);
    expect(got.filter((r) => r.partition === 1).map((r) => Number(r.offset))).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    expect(got.filter((r) => r.partition === 0).map((r) => Number(r.offset))).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
  }, 90_000);
});
