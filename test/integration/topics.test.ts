import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KafkaConnection } from '../../src/kafka/index.ts';
import { logger } from '../../src/log/index.ts';
import { TOPIC_KEYS } from '../../topics/index.ts';
import { consumeN, uniquePrefix } from '../helpers/kafka.ts';

describe('topics as code', () => {
  let kafka: KafkaConnection;
  beforeAll(() => {
    const { brokers, registryUrl } = inject('kafka');
    kafka = new KafkaConnection({ brokers, registryUrl, topicPrefix: uniquePrefix('topics'), log: logger('test') });
  });
  afterAll(async () => {
    const admin = await kafka.admin();
    await admin.deleteTopics((await admin.listTopics()).filter((t) => t.startsWith(kafka.catalog.prefix)));
    await kafka.close();
  });

  it('creates every declared topic, then finds them with no drift', async () => {
    const admin = await kafka.admin();
    const first = await admin.ensureTopics();
    expect(first.created).toHaveLength(TOPIC_KEYS.length);
    const second = await admin.ensureTopics();
    expect(second.created).toEqual([]);
    expect(second.existing).toHaveLength(TOPIC_KEYS.length);
    expect(second.drift).toEqual([]);
    expect(await admin.partitionCount(kafka.catalog.name('messages.high'))).toBe(6);
  });

  it('reports drift of an existing topic without touching its data', async () => {
    const admin = await kafka.admin();
    const prefix = uniquePrefix('drift');
    const other = new KafkaConnection({ ...kafka.options, topicPrefix: prefix });
    const otherAdmin = await other.admin();
    const name = other.catalog.name('anomalies');
    await otherAdmin.createTopic(name, 1, { 'retention.ms': '60000' });
    const producer = await other.producer();
    await producer.sendRaw(name, [{ key: 'k', value: 'keep me' }]);

    const report = await otherAdmin.ensureTopics(['anomalies']);
    expect(report.created).toEqual([]);
    expect(report.drift).toEqual(
      expect.arrayContaining([
        { topic: name, field: 'partitions', declared: '3', actual: '1' },
        { topic: name, field: 'retention.ms', declared: String(30 * 86_400_000), actual: '60000' },
      ]),
    );
    expect(await otherAdmin.partitionCount(name)).toBe(1);
    const [kept] = await consumeN(other, name, 1);
    expect(kept?.value?.toString()).toBe('keep me');
    await admin.deleteTopics([name]);
    await other.close();
  });
});
