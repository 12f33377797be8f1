import { KafkaConnection } from '../../../src/kafka/index.ts';
import { logger } from '../../../src/log/index.ts';
import type { ClientDriver, DriverConsumer, DriverProducer } from './types.ts';
import { packageVersion } from './version.ts';

/**
 * kafkajs as AutoMatrix runs it: through src/kafka (the only place that calls kafkajs), i.e. the
 * connection of src/kafka/client.ts, its producer's raw send (acks=all, Java-compatible partitioner)
 * and its batch consumer (manual commit of each batch once its handler returns).
 */
export function kafkajsDriver(brokers: string[]): ClientDriver {
  const kafka = new KafkaConnection({
    brokers,
    // Bytes only: nothing here is encoded or decoded, so the registry is never asked.
    registryUrl: process.env.SCHEMA_REGISTRY_URL ?? 'http://localhost:8081/apis/ccompat/v7',
    clientId: 'automatrix-bench',
    log: logger('bench-kafkajs'),
    client: 'kafkajs',
  });
  return {
    name: 'kafkajs',
    version: packageVersion('kafkajs'),
    async producer(): Promise<DriverProducer> {
      const producer = await kafka.newProducer();
      return {
        async send(topic, records) {
          await producer.sendRaw(
            topic,
            records.map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
          );
        },
        close: () => producer.disconnect(),
      };
    },
    async consume({ topic, groupId, onBatch }) {
      const consumer = kafka.consumer({ groupId, maxWaitTimeMs: 100, maxBytesPerPartition: 512 * 1024 });
      await consumer.subscribe([topic], { fromBeginning: true });
      await consumer.run(
        async (batch) => {
          if (!batch.records.length) return;
          await onBatch(
            batch.partition,
            batch.records.map((r) => ({
              partition: r.partition,
              offset: r.offset,
              key: r.key,
              value: r.value,
              headers: r.headers,
            })),
          );
        },
        { partitionsConcurrently: 6 },
      );
      return { stop: () => consumer.disconnect() } satisfies DriverConsumer;
    },
    close: () => kafka.close(),
  };
}
