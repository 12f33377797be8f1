import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { type ConsumedRecord, KafkaConnection } from '../../src/kafka/index.ts';
import { logger } from '../../src/log/index.ts';
import type { TopicKey } from '../../topics/index.ts';

/** The client under producers and consumers in tests: KAFKA_CLIENT of the test run (kafkajs when unset). */
export const testClient = () =>
  (process.env.KAFKA_CLIENT === 'platformatic' ? 'platformatic' : 'kafkajs') as 'kafkajs' | 'platformatic';

/** A unique topic prefix, so test files (and parallel runs) never see each other's records. */
export const uniquePrefix = (label = 'test') => `t-${label}-${randomBytes(4).toString('hex')}.`;

export interface TestKafka {
  kafka: KafkaConnection;
  prefix: string;
  /** Deletes the topics this test created and disconnects. */
  cleanup(): Promise<void>;
}

/** A connection to the test broker under a fresh prefix, with the given topics created and their schemas registered. */
export async function testKafka(keys: readonly TopicKey[], label?: string): Promise<TestKafka> {
  const { brokers, registryUrl } = inject('kafka');
  const prefix = uniquePrefix(label);
  const kafka = new KafkaConnection({
    brokers,
    registryUrl,
    topicPrefix: prefix,
    clientId: 'automatrix-test',
    log: logger('test'),
    client: testClient(),
  });
  const admin = await kafka.admin();
  await admin.ensureTopics(keys);
  await kafka.serde.registerAll(keys);
  return {
    kafka,
    prefix,
    async cleanup() {
      await deleteTopicsWithPrefix(kafka, prefix);
      await kafka.close();
    },
  };
}

/** Deletes every topic, idle consumer group and value schema under a test's prefix (best effort: cleanup must not fail a test). */
export async function deleteTopicsWithPrefix(kafka: KafkaConnection, prefix: string): Promise<void> {
  const admin = await kafka.admin();
  await admin.deleteTopics((await admin.listTopics()).filter((t) => t.startsWith(prefix))).catch(() => undefined);
  const groups = await admin.groups(prefix).catch(() => []);
  await admin.deleteEmptyGroups(groups.map((g) => g.groupId)).catch(() => undefined);
  for (const key of kafka.catalog.keys()) {
    const subject = `${prefix}${key}-value`;
    if (await kafka.serde.hasSubject(subject).catch(() => false))
      await kafka.serde.deleteSubject(subject).catch(() => undefined);
  }
}

/** Consumes `count` records of a topic from the beginning in a private group (deleted after). */
export async function consumeN(kafka: KafkaConnection, topic: string, count: number): Promise<ConsumedRecord[]> {
  const consumer = kafka.privateConsumer('test-consume', { maxWaitTimeMs: 100 });
  const got: ConsumedRecord[] = [];
  await consumer.subscribe([topic], { fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run(async (batch) => {
      got.push(...batch.records);
      if (got.length >= count) resolve();
    });
  });
  await consumer.disconnect();
  return got;
}
