import {
  Consumer,
  type Message,
  type MessagesStream,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
} from '@platformatic/kafka';
import {
  platformaticDeserializers as deserializers,
  platformaticHeaders as headersToRecord,
  PartitionBatcher,
  platformaticProducer,
} from '../../../src/kafka/index.ts';
import type { ClientDriver, DriverConsumeOptions, DriverConsumer, DriverProducer, ReceivedRecord } from './types.ts';
import { packageVersion } from './version.ts';

type Received = Message<Buffer, Buffer, string, string>;

/** @platformatic/kafka: one producer per call, and a group consumer read as a stream and cut into per-partition batches. */
export function platformaticDriver(brokers: string[]): ClientDriver {
  const base = { clientId: 'automatrix-bench', bootstrapBrokers: brokers, retries: 10, retryDelay: 200 };
  return {
    name: 'platformatic',
    version: packageVersion('@platformatic/kafka'),
    async producer(): Promise<DriverProducer> {
      const producer = platformaticProducer(base);
      return {
        async send(topic, records) {
          await producer.send({
            messages: records.map((r) => ({ topic, key: r.key, value: r.value, headers: r.headers })),
          });
        },
        close: () => producer.close(),
      };
    },
    async consume(opts) {
      const consumer = new Consumer<Buffer, Buffer, string, string>({
        ...base,
        groupId: opts.groupId,
        deserializers,
        autocommit: false,
        maxWaitTime: 100,
        maxBytesPerPartition: 512 * 1024,
      });
      const stream = await consumer.consume({
        topics: [opts.topic],
        mode: MessagesStreamModes.COMMITTED,
        fallbackMode: MessagesStreamFallbackModes.EARLIEST,
        autocommit: false,
      });
      return batchLoop(consumer, stream, opts);
    },
    close: async () => undefined,
  };
}

/** Batches per partition (see PartitionBatcher), commits each batch's end once it is handled. */
function batchLoop(
  consumer: Consumer<Buffer, Buffer, string, string>,
  stream: MessagesStream<Buffer, Buffer, string, string>,
  opts: DriverConsumeOptions,
): DriverConsumer {
  let failure: Error | undefined;
  const batcher = new PartitionBatcher<Received>(
    async (_topic, partition, messages) => {
      try {
        await opts.onBatch(partition, messages.map(toReceived));
        await messages[messages.length - 1]!.commit();
      } catch (err) {
        failure ??= err as Error;
      }
    },
    {
      concurrency: 6,
      maxWaiting: 20_000,
      maxBatchBytes: 512 * 1024,
      pause: () => stream.pause(),
      resume: () => stream.resume(),
    },
  );
  stream.on('data', (m: Received) => batcher.add(m));
  stream.on('error', (err) => (failure ??= err));
  return {
    async stop() {
      stream.pause();
      await batcher.idle();
      await consumer.close(true);
      if (failure) throw failure;
    },
  };
}

function toReceived(m: Received): ReceivedRecord {
  return {
    partition: m.partition,
    offset: m.offset.toString(),
    key: m.key ?? null,
    value: m.value ?? null,
    headers: headersToRecord(m.headers),
  };
}
