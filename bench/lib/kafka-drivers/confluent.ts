/**
 * @confluentinc/kafka-javascript through its KafkaJS-compatible API (what a migration from kafkajs
 * would use). It is not a dependency: its install builds librdkafka, which here only works from
 * source with `CKJS_LINKING=dynamic npm_config_nodedir=/usr` (the prebuilt binary and the static
 * build's dependencies are downloaded from GitHub). Loaded only if present.
 */
import type { ClientDriver, DriverConsumeOptions, DriverConsumer, DriverProducer } from './types.ts';
import { packageVersion } from './version.ts';

const PACKAGE = '@confluentinc/kafka-javascript';

/** The few members of the KafkaJS-compatible API used here (the package may be absent at type-check time). */
interface CompatMessage {
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}
interface CompatBatchPayload {
  batch: { topic: string; partition: number; messages: CompatMessage[]; lastOffset(): string };
  resolveOffset(offset: string): void;
  isStale(): boolean;
}
interface CompatConsumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(s: { topics: string[] }): Promise<void>;
  run(c: {
    eachBatchAutoResolve: boolean;
    partitionsConsumedConcurrently: number;
    eachBatch(p: CompatBatchPayload): Promise<void>;
  }): Promise<void>;
  commitOffsets(offsets: { topic: string; partition: number; offset: string }[]): Promise<void>;
}
interface CompatProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(r: {
    topic: string;
    messages: { key: Buffer | string | null; value: Buffer; headers: Record<string, string> }[];
  }): Promise<unknown>;
}
interface CompatKafka {
  producer(config: Record<string, unknown>): CompatProducer;
  consumer(config: Record<string, unknown>): CompatConsumer;
}
interface ConfluentModule {
  KafkaJS: { Kafka: new (config: Record<string, unknown>) => CompatKafka; logLevel: { ERROR: number } };
  librdkafkaVersion: string;
}

/** The driver, or why it cannot be had here. */
export async function confluentDriver(brokers: string[]): Promise<ClientDriver | { unavailable: string }> {
  let mod: ConfluentModule;
  try {
    const loaded = (await import(PACKAGE)) as ConfluentModule & { default?: ConfluentModule };
    mod = loaded.default ?? loaded;
  } catch (err) {
    return {
      unavailable: `${PACKAGE} is not installed or its native module does not load (${(err as Error).message.split('\n')[0]})`,
    };
  }
  const kafka = new mod.KafkaJS.Kafka({
    kafkaJS: { clientId: 'automatrix-bench', brokers, logLevel: mod.KafkaJS.logLevel.ERROR },
  });
  return {
    name: 'confluent',
    version: `${packageVersion(PACKAGE)} (librdkafka ${mod.librdkafkaVersion})`,
    async producer(): Promise<DriverProducer> {
      // librdkafka's default (consistent_random, CRC32) puts keys elsewhere than Java, kafkajs and our other producers.
      const producer = kafka.producer({
        kafkaJS: { acks: -1, allowAutoTopicCreation: false },
        partitioner: 'murmur2_random',
      });
      await producer.connect();
      return {
        async send(topic, records) {
          await producer.send({ topic, messages: records });
        },
        close: () => producer.disconnect(),
      };
    },
    async consume(opts) {
      const consumer = kafka.consumer({
        kafkaJS: {
          groupId: opts.groupId,
          fromBeginning: true,
          autoCommit: false,
          maxWaitTimeInMs: 100,
          maxBytesPerPartition: 512 * 1024,
          allowAutoTopicCreation: false,
        },
        // Its eachBatch is cut client-side, 32 records by default; kafkajs hands over whole fetches.
        'js.consumer.max.batch.size': 1000,
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [opts.topic] });
      await runBatches(consumer, opts);
      return { stop: () => consumer.disconnect() } satisfies DriverConsumer;
    },
    close: async () => undefined,
  };
}

async function runBatches(consumer: CompatConsumer, { topic, onBatch }: DriverConsumeOptions): Promise<void> {
  await consumer.run({
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 6,
    eachBatch: async ({ batch, resolveOffset, isStale }) => {
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
      await consumer.commitOffsets([{ topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
    },
  });
}

/** Header values as strings (the last value of a repeated header), as src/kafka reads them. */
function headersToStrings(headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined) {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    const last = Array.isArray(v) ? v[v.length - 1] : v;
    if (last !== undefined) out[k] = last.toString();
  }
  return out;
}
