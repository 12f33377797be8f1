import kafkajs, { type Consumer } from 'kafkajs';
import { headersToStrings } from '../consumer.ts';
import type { ClientDriver, DriverConsumeOptions, DriverConsumer, DriverProducer } from './types.ts';
import { packageVersion } from './version.ts';

const { Kafka, logLevel, Partitioners } = kafkajs;

/** kafkajs configured as src/kafka/client.ts configures it. */
export function kafkajsDriver(brokers: string[]): ClientDriver {
  const kafka = new Kafka({
    clientId: 'automatrix-bench',
    brokers,
    logLevel: logLevel.ERROR,
    retry: { initialRetryTime: 200, retries: 10, maxRetryTime: 5000 },
  });
  return {
    name: 'kafkajs',
    version: packageVersion('kafkajs'),
    async producer(): Promise<DriverProducer> {
      const producer = kafka.producer({
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: false,
      });
      await producer.connect();
      return {
        async send(topic, records) {
          await producer.send({
            topic,
            acks: -1,
            messages: records.map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
          });
        },
        close: () => producer.disconnect(),
      };
    },
    async consume(opts) {
      const consumer = kafka.consumer({
        groupId: opts.groupId,
        maxWaitTimeInMs: 100,
        maxBytesPerPartition: 512 * 1024,
        allowAutoTopicCreation: false,
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [opts.topic], fromBeginning: true });
      await runBatches(consumer, opts);
      return { stop: () => consumer.disconnect() } satisfies DriverConsumer;
    },
    close: async () => undefined,
  };
}

async function runBatches(consumer: Consumer, { topic, onBatch }: DriverConsumeOptions): Promise<void> {
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 6,
    eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, isStale }) => {
      if (!batch.messages.length) return;
      const records = batch.messages.map((m) => ({
        partition: batch.partition,
        offset: m.offset,
        key: m.key,
        value: m.value,
        headers: headersToStrings(m.headers),
      }));
      await onBatch(batch.partition, records);
      if (isStale()) return;
      const last = batch.lastOffset();
      resolveOffset(last);
      await commitOffsetsIfNecessary({
        topics: [{ topic, partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }] }],
      });
    },
  });
}
