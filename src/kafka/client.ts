// Before kafkajs loads: it must pick up the patched produce path (kafkajs-produce.ts).
import './kafkajs-produce.ts';
import kafkajs, { type Admin, type Kafka, type Producer } from 'kafkajs';
import { type Logger, logger as makeLogger } from '../log/index.ts';
import { KafkaAdmin } from './admin.ts';
import './kafkajs-timers.ts';
import { TopicCatalog } from './catalog.ts';
import type { KafkaClientName } from './config.ts';
import { type BatchConsumer, type ConsumerOptions, KafkajsBatchConsumer } from './consumer.ts';
import { privateGroupId, sharedGroupId } from './groups.ts';
import { PlatformaticBatchConsumer } from './platformatic/consumer.ts';
import { type PlatformaticBase, platformaticTransport } from './platformatic/producer.ts';
import { kafkajsTransport, TypedProducer } from './producer.ts';
import { type ReaderOptions, TopicReader } from './reader.ts';
import { Serde } from './serde.ts';

const { Kafka: KafkaClient, logLevel, Partitioners } = kafkajs;

const SETTLING_METADATA = /does not host this topic-partition|There is no leader for this topic-partition/;

export interface ConnectionOptions {
  brokers: string[];
  registryUrl: string;
  clientId?: string;
  topicPrefix?: string;
  log?: Logger;
  /** Milliseconds to wait for a TCP connection to a broker. */
  connectionTimeoutMs?: number;
  /** Client under producers and batch consumers (KAFKA_CLIENT); admin, readers and probes are kafkajs whatever this says. */
  client?: KafkaClientName;
}

/**
 * One connection to the Kafka cluster and its schema registry: the topic catalog, the serde,
 * a shared admin and producer, and factories for consumers. Every other component gets its
 * Kafka access from here.
 */
export class KafkaConnection {
  readonly catalog: TopicCatalog;
  readonly serde: Serde;
  readonly log: Logger;
  private readonly kafka: Kafka;
  private adminClient?: Promise<KafkaAdmin>;
  private sharedProducer?: Promise<TypedProducer>;
  /** Consumers and readers: closed first, while the admin that deletes their private groups is still connected. */
  private readonly consumerClosers = new Set<() => Promise<void>>();
  private readonly closers = new Set<() => Promise<void>>();

  readonly options: ConnectionOptions;

  constructor(options: ConnectionOptions) {
    this.options = options;
    this.log = options.log ?? makeLogger('kafka');
    this.catalog = new TopicCatalog(options.topicPrefix ?? 'automatrix.');
    this.serde = new Serde(options.registryUrl, this.catalog, this.log);
    this.kafka = new KafkaClient({
      clientId: options.clientId ?? 'automatrix',
      brokers: options.brokers,
      connectionTimeout: options.connectionTimeoutMs ?? 3000,
      requestTimeout: 30_000,
      retry: { initialRetryTime: 200, retries: 10, maxRetryTime: 5000 },
      logLevel: logLevel.WARN,
      logCreator: () => (entry) => this.forwardLog(entry),
    });
  }

  private forwardLog({ level, log }: { level: number; log: { message: string } & Record<string, unknown> }) {
    const { message, timestamp: _t, logger: _l, ...rest } = log;
    // A topic just created answers metadata requests this way until its leader settles, and kafkajs retries;
    // a failed topic creation is thrown to the caller (KafkaAdmin.create), which says why.
    const handled =
      (message.startsWith('Response Metadata') && SETTLING_METADATA.test(String(rest.error ?? ''))) ||
      message.startsWith('Response CreateTopics');
    if (handled) this.log.debug({ kafkajs: rest }, message);
    else if (level <= logLevel.ERROR) this.log.error({ kafkajs: rest }, message);
    else if (level === logLevel.WARN) this.log.warn({ kafkajs: rest }, message);
    else this.log.debug({ kafkajs: rest }, message);
  }

  admin(): Promise<KafkaAdmin> {
    this.adminClient ??= (async () => {
      const admin: Admin = this.kafka.admin();
      await admin.connect();
      const wrapped = new KafkaAdmin(admin, this.catalog);
      this.closers.add(() => wrapped.disconnect());
      return wrapped;
    })();
    return this.adminClient;
  }

  /** The process-wide producer (acks=all). */
  producer(): Promise<TypedProducer> {
    this.sharedProducer ??= this.newProducer();
    return this.sharedProducer;
  }

  /** A producer of its own, e.g. for a component that must not share batching with others. */
  async newProducer(): Promise<TypedProducer> {
    if (this.options.client === 'platformatic') {
      const wrapped = new TypedProducer(platformaticTransport(this.platformaticBase()), this.catalog, this.serde);
      this.closers.add(() => wrapped.disconnect());
      return wrapped;
    }
    const producer: Producer = this.kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 5000 },
    });
    await producer.connect();
    const wrapped = new TypedProducer(kafkajsTransport(producer), this.catalog, this.serde);
    this.closers.add(() => wrapped.disconnect());
    return wrapped;
  }

  /** The consumer group `name` of this deployment, shared by its processes (scoped by the topic prefix). */
  groupId(name: string): string {
    return sharedGroupId(this.catalog.prefix, name);
  }

  /**
   * A consumer in a group of its own (it reads the topic whole, whatever other processes do): the
   * group is named after `name` under the topic prefix and deleted when the consumer disconnects.
   */
  privateConsumer(name: string, opts: Omit<ConsumerOptions, 'groupId'> = {}): BatchConsumer {
    const groupId = privateGroupId(this.catalog.prefix, name);
    return this.newConsumer({ ...opts, groupId }, async () => (await this.admin()).deleteGroup(groupId));
  }

  /** A consumer in the group `opts.groupId`: name it with groupId(), or use privateConsumer(). */
  consumer(opts: ConsumerOptions): BatchConsumer {
    return this.newConsumer(opts);
  }

  private newConsumer(opts: ConsumerOptions, afterDisconnect?: () => Promise<void>): BatchConsumer {
    if (this.options.client === 'platformatic') {
      return this.forgetOnDisconnect(
        new PlatformaticBatchConsumer(this.platformaticBase(), opts, this.log),
        afterDisconnect,
      );
    }
    const consumer = this.kafka.consumer({
      groupId: opts.groupId,
      sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: opts.heartbeatIntervalMs ?? 3000,
      rebalanceTimeout: opts.rebalanceTimeoutMs ?? 60_000,
      maxBytesPerPartition: opts.maxBytesPerPartition ?? 1024 * 1024,
      maxWaitTimeInMs: opts.maxWaitTimeMs ?? 500,
      allowAutoTopicCreation: false,
      readUncommitted: !(opts.readCommittedOnly ?? true),
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 5000 },
    });
    return this.forgetOnDisconnect(new KafkajsBatchConsumer(consumer, opts.groupId), afterDisconnect);
  }

  /** Consumers come and go (every replay makes one): close() disconnects those still open, and forgets the others. */
  private forgetOnDisconnect(consumer: BatchConsumer, afterDisconnect?: () => Promise<void>): BatchConsumer {
    const disconnect = consumer.disconnect.bind(consumer);
    const close = async () => {
      this.consumerClosers.delete(close);
      await disconnect();
      await afterDisconnect?.().catch(() => undefined);
    };
    consumer.disconnect = close;
    this.consumerClosers.add(close);
    return consumer;
  }

  private platformaticBase(): PlatformaticBase {
    return {
      clientId: this.options.clientId ?? 'automatrix',
      bootstrapBrokers: this.options.brokers,
      connectTimeout: this.options.connectionTimeoutMs ?? 3000,
      requestTimeout: 30_000,
      retries: 10,
      retryDelay: 200,
    };
  }

  /** A reader of one topic from explicit offsets that commits nothing (mirrors, replays). Call `start()`. */
  reader(opts: ReaderOptions): TopicReader {
    const groupId = privateGroupId(this.catalog.prefix, 'reader');
    const consumer = this.kafka.consumer({
      groupId,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
      maxBytesPerPartition: opts.maxBytesPerPartition ?? 1024 * 1024,
      maxWaitTimeInMs: opts.maxWaitTimeMs ?? 100,
      allowAutoTopicCreation: false,
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 5000 },
    });
    const close = () => reader.stop();
    const reader: TopicReader = new TopicReader(consumer, groupId, opts, async (id) => {
      this.consumerClosers.delete(close);
      await (await this.admin()).deleteGroup(id);
    });
    this.consumerClosers.add(close);
    return reader;
  }

  /** Disconnects everything this connection opened. */
  async close(): Promise<void> {
    for (const set of [this.consumerClosers, this.closers]) {
      const closers = [...set].reverse();
      set.clear();
      await Promise.allSettled(closers.map((c) => c()));
    }
  }
}

/** True if a broker answers a metadata request within the timeout. */
export async function probeBroker(
  brokers: string[],
  timeoutMs = 3000,
): Promise<{ ok: true; brokers: number } | { ok: false; error: string }> {
  const kafka = new KafkaClient({
    clientId: 'automatrix-probe',
    brokers,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await withTimeout(admin.connect(), timeoutMs);
    const cluster = await withTimeout(admin.describeCluster(), timeoutMs);
    return { ok: true, brokers: cluster.brokers.length };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
