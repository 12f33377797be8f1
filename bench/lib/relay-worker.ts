/**
 * One RelayCore in a worker thread, so side-by-side lanes do not share an event loop (a lane that
 * works harder per batch would otherwise delay the others). Posts its counters every 20 ms.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EcosystemEvents } from '../../src/app/events.js';
import { loadConfig } from '../../src/config/index.js';
import { KafkaConnection } from '../../src/kafka/index.js';
import { logger } from '../../src/log/index.js';
import { RelayCore } from '../../src/relay/index.js';
import { RELAY_TOPICS } from './relay-run.js';

interface Init {
  prefix: string;
  brokers: string[];
  registryUrl: string;
  env: Record<string, string>;
}

const { prefix, brokers, registryUrl, env } = workerData as Init;
const kafka = new KafkaConnection({ brokers, registryUrl, topicPrefix: prefix, clientId: 'automatrix-bench', log: logger('bench') });
await kafka.serde.registerAll(RELAY_TOPICS);
const config = loadConfig({ ...process.env, KAFKA_BROKERS: brokers.join(','), SCHEMA_REGISTRY_URL: registryUrl, KAFKA_TOPIC_PREFIX: prefix, RELAY_GROUP_ID: `${prefix}relay`, ...env });
const relay = new RelayCore({ config, kafka, log: logger('relay'), events: new EcosystemEvents(kafka, logger('events')) });
await relay.start();
const ticker = setInterval(() => parentPort!.postMessage({ type: 'counters', counters: relay.engine.counters }), 20);
parentPort!.on('message', async (m: { type: string }) => {
  if (m.type !== 'finish') return;
  clearInterval(ticker);
  const rt = relay.engine.routes.get('bench');
  const decisionUs = rt && rt.decisions ? (rt.decisionMs / rt.decisions) * 1000 : null;
  const modelVersion = relay.engine.scorerVersion();
  await relay.engine.flush();
  const counters = { ...relay.engine.counters };
  await relay.stop();
  await kafka.close();
  parentPort!.postMessage({ type: 'done', counters, decisionUs, modelVersion });
});
parentPort!.postMessage({ type: 'ready' });
