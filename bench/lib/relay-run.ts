/** Runs RelayCore in this process against the real broker, under a fresh topic prefix. */
import { randomBytes } from 'node:crypto';
import { EcosystemEvents } from '../../src/app/events.ts';
import { resolveEndpoints } from '../../src/app/runtime.ts';
import { type Config, loadConfig } from '../../src/config/index.ts';
import { KafkaConnection, probeBroker, replayWindow } from '../../src/kafka/index.ts';
import { logger } from '../../src/log/index.ts';
import { RelayCore } from '../../src/relay/index.ts';
import { stackEndpoints, stackSettings } from '../../src/stack/index.ts';
import type { TopicKey } from '../../topics/index.ts';

export const RELAY_TOPICS: TopicKey[] = [
  'messages.high',
  'messages.normal',
  'messages.low',
  'delivery.outcomes',
  'deadletter',
  'ecosystem.events',
  'relay.routes',
  'orchestrator.actions',
  'model.registry',
  'model.artifacts',
  'training.events',
  'retrain.requests',
  'retrain.replies',
  'action.results',
];

let endpoints: Promise<{ brokers: string[]; registryUrl: string }> | undefined;

/** KAFKA_BROKERS/SCHEMA_REGISTRY_URL, else a stack already answering on the default ports, else the local stack (started). */
export function broker(): Promise<{ brokers: string[]; registryUrl: string }> {
  endpoints ??= (async () => {
    const config = loadConfig();
    if (!config.KAFKA_BROKERS.length) {
      const running = stackEndpoints(stackSettings(config));
      if ((await probeBroker(running.brokers, 2000)).ok) return running;
    }
    return resolveEndpoints(config, logger('bench'));
  })();
  return endpoints;
}

export interface Bench {
  /** On kafkajs: the bench's own reads, writes and admin. */
  kafka: KafkaConnection;
  /** On KAFKA_CLIENT (one per bench): what RelayCore runs on, and what a baseline that must use the same client runs on. */
  client(): Promise<KafkaConnection>;
  prefix: string;
  /** The configuration of a component on this bench's prefix. */
  config(env?: Record<string, string>): Config;
  relay(env?: Record<string, string>): Promise<RelayCore>;
  /** Decoded values of a topic (from `from`, epoch ms, if given). */
  readAll<T>(key: TopicKey, from?: number): Promise<T[]>;
  close(): Promise<void>;
}

/** A connection under a fresh prefix with RelayCore's topics created and their schemas registered. */
export async function bench(label: string, extraTopics: { name: string; partitions: number }[] = []): Promise<Bench> {
  const { brokers, registryUrl } = await broker();
  const prefix = `bench-${label}-${randomBytes(3).toString('hex')}.`;
  const kafka = new KafkaConnection({
    brokers,
    registryUrl,
    topicPrefix: prefix,
    clientId: 'automatrix-bench',
    log: logger('bench'),
  });
  const admin = await kafka.admin();
  // Right after other topics were deleted the broker may briefly answer metadata with UNKNOWN_TOPIC: try again.
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.ensureTopics(RELAY_TOPICS);
      for (const t of extraTopics)
        if (!(await admin.listTopics()).includes(`${prefix}${t.name}`))
          await admin.createTopic(`${prefix}${t.name}`, t.partitions);
      break;
    } catch (err) {
      if (attempt >= 5) throw err;
      await sleep(1000 * attempt);
    }
  }
  await kafka.serde.registerAll(RELAY_TOPICS);
  const relays: RelayCore[] = [];
  let onClient: Promise<KafkaConnection> | undefined;
  const config = (env: Record<string, string> = {}) =>
    loadConfig({
      ...process.env,
      KAFKA_BROKERS: brokers.join(','),
      SCHEMA_REGISTRY_URL: registryUrl,
      KAFKA_TOPIC_PREFIX: prefix,
      RELAY_GROUP_ID: `${prefix}relay-${relays.length}`,
      ...env,
    });
  const client = () => {
    const name = config().KAFKA_CLIENT;
    onClient ??=
      name === 'kafkajs'
        ? Promise.resolve(kafka)
        : (async () => {
            const c = new KafkaConnection({
              brokers,
              registryUrl,
              topicPrefix: prefix,
              clientId: 'automatrix-bench',
              log: logger('bench'),
              client: name,
            });
            await c.serde.registerAll(RELAY_TOPICS);
            return c;
          })();
    return onClient;
  };
  return {
    kafka,
    prefix,
    config,
    client,
    async relay(env = {}) {
      const relayConfig = config(env);
      // RelayCore runs on KAFKA_CLIENT; `kafka` (the bench's own reads) stays on kafkajs.
      const relayKafka = relayConfig.KAFKA_CLIENT === config().KAFKA_CLIENT ? await client() : kafka;
      const relay = new RelayCore({
        config: relayConfig,
        kafka: relayKafka,
        log: logger('relay'),
        events: new EcosystemEvents(relayKafka, logger('events')),
      });
      relays.push(relay);
      await relay.start();
      return relay;
    },
    async readAll<T>(key: TopicKey, from?: number) {
      const out: T[] = [];
      await replayWindow(kafka, {
        topic: kafka.catalog.name(key),
        from,
        onRecords: async (records) => {
          for (const r of records) out.push((await kafka.serde.decode(key, r.value)).value as T);
        },
      });
      return out;
    },
    async close() {
      await Promise.allSettled(relays.map((r) => r.stop()));
      const own = await onClient;
      if (own && own !== kafka) await own.close();
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
      await admin.deleteTopics(topics).catch(() => undefined);
      await kafka.close();
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}
