/**
 * Finds a Kafka broker and schema registry for the test run, in this order:
 * 1. KAFKA_BROKERS (+ SCHEMA_REGISTRY_URL) from the environment;
 * 2. containers through testcontainers, if a container runtime answers (checked once, fast);
 * 3. the project's local stack (started if it is not running; left running afterwards).
 */
import { createServer } from 'node:net';
import { loadConfig } from '../../src/config/index.ts';
import { stackSettings, stackUp, versions } from '../../src/stack/index.ts';

export interface TestBroker {
  brokers: string[];
  registryUrl: string;
  source: 'environment' | 'testcontainers' | 'local-stack';
  stop?: () => Promise<void>;
}

export async function findBroker(): Promise<TestBroker> {
  const config = loadConfig();
  if (config.KAFKA_BROKERS.length) {
    if (!config.SCHEMA_REGISTRY_URL)
      throw new Error('KAFKA_BROKERS is set for the tests but SCHEMA_REGISTRY_URL is not');
    return { brokers: config.KAFKA_BROKERS, registryUrl: config.SCHEMA_REGISTRY_URL, source: 'environment' };
  }
  const containers = await startContainers();
  if (containers) return containers;
  // stackUp also reuses a healthy stack that another checkout started on the same ports.
  const endpoints = await stackUp(stackSettings(config), (line) => console.log(`[test setup] ${line}`));
  return { brokers: endpoints.brokers, registryUrl: endpoints.registryUrl, source: 'local-stack' };
}

async function startContainers(): Promise<TestBroker | undefined> {
  const tc = await import('testcontainers');
  try {
    await tc.getContainerRuntimeClient();
  } catch {
    return undefined;
  }
  const network = await new tc.Network().start();
  const port = await freePort();
  const kafka = await new tc.GenericContainer(`apache/kafka:${versions.KAFKA_VERSION}`)
    .withNetwork(network)
    .withNetworkAliases('kafka')
    .withExposedPorts({ container: 9092, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,INTERNAL://:19092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://localhost:${port},INTERNAL://kafka:19092`,
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'INTERNAL',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    })
    .withWaitStrategy(tc.Wait.forLogMessage(/Kafka Server started|Transitioning from RECOVERY to RUNNING/))
    .start();
  const registry = await new tc.GenericContainer(`apicurio/apicurio-registry:${versions.APICURIO_VERSION}`)
    .withNetwork(network)
    .withExposedPorts(8080)
    .withEnvironment({ APICURIO_STORAGE_KIND: 'kafkasql', APICURIO_KAFKASQL_BOOTSTRAP_SERVERS: 'kafka:19092' })
    .withWaitStrategy(tc.Wait.forHttp('/health/ready', 8080))
    .start();
  return {
    brokers: [`localhost:${port}`],
    registryUrl: `http://${registry.getHost()}:${registry.getMappedPort(8080)}/apis/ccompat/v7`,
    source: 'testcontainers',
    stop: async () => {
      await registry.stop();
      await kafka.stop();
      await network.stop();
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}
