/**
 * Issue 16, item 6: keyed records land on the partition Kafka's Java client gives them (murmur2),
 * from every producer of the product (the kafkajs and the @platformatic/kafka transports), so
 * per-key order holds across mixed producers. The Java side is Kafka's own console producer.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KafkaConnection, partitionForKey } from '../../src/kafka/index.ts';
import { logger } from '../../src/log/index.ts';
import { consumeN, deleteTopicsWithPrefix, uniquePrefix } from '../helpers/kafka.ts';
import { runCli } from '../helpers/process.ts';

const PARTITIONS = 6;
const KEYS = [
  'checkout',
  'payments',
  'customer-42',
  'ü-ñícode',
  ...Array.from({ length: 196 }, () => randomBytes(5).toString('hex')),
];

describe('keyed records land where the Java client puts them', () => {
  const { brokers, registryUrl } = inject('kafka');
  const prefix = uniquePrefix('partitioner');
  const env = { KAFKA_BROKERS: brokers.join(','), SCHEMA_REGISTRY_URL: registryUrl };
  const connections: KafkaConnection[] = [];
  const connect = (client: 'kafkajs' | 'platformatic') => {
    const c = new KafkaConnection({ brokers, registryUrl, topicPrefix: prefix, client, log: logger('test') });
    connections.push(c);
    return c;
  };
  let kafka: KafkaConnection;
  beforeAll(async () => {
    kafka = connect('kafkajs');
  });
  afterAll(async () => {
    await deleteTopicsWithPrefix(kafka, prefix);
    for (const c of connections) await c.close();
  });

  /** Key -> partition, as read back from the topic. */
  const placement = async (topic: string): Promise<Map<string, number>> => {
    const records = await consumeN(kafka, topic, KEYS.length);
    return new Map(records.map((r) => [r.key!.toString('utf8'), r.partition]));
  };

  it('the Java console producer, kafkajs and @platformatic/kafka agree on every key, and with partitionForKey', async () => {
    const admin = await kafka.admin();
    const topics = { java: `${prefix}java`, kafkajs: `${prefix}kafkajs`, platformatic: `${prefix}platformatic` };
    for (const t of Object.values(topics)) await admin.createTopic(t, PARTITIONS);

    const java = await runCli(
      [
        'kafka-console',
        'producer',
        '--topic',
        topics.java,
        '--property',
        'parse.key=true',
        '--property',
        'key.separator=\t',
      ],
      env,
      180_000,
      `${KEYS.map((k) => `${k}\tv`).join('\n')}\n`,
    );
    expect(java.code).toBe(0);
    for (const client of ['kafkajs', 'platformatic'] as const) {
      const producer = await connect(client).newProducer();
      await producer.sendRaw(
        topics[client],
        KEYS.map((key) => ({ key, value: 'v' })),
      );
    }

    const byJava = await placement(topics.java);
    expect(byJava.size).toBe(KEYS.length);
    expect(await placement(topics.kafkajs)).toEqual(byJava);
    expect(await placement(topics.platformatic)).toEqual(byJava);
    for (const key of KEYS) expect(partitionForKey(key, PARTITIONS)).toBe(byJava.get(key));
    // Keys spread: a constant partitioner would also "agree".
    expect(new Set(byJava.values()).size).toBe(PARTITIONS);
    console.log(
      `"checkout" is on partition ${byJava.get('checkout')} of ${PARTITIONS} from Java, kafkajs and @platformatic/kafka`,
    );
  }, 240_000);
});
