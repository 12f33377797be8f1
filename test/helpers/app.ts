import { inject } from 'vitest';
import { type ComponentFactory, type Runtime, startRuntime } from '../../src/app/index.ts';
import { COMPONENT_FACTORIES } from '../../src/components.ts';
import { type ComponentName, loadConfig } from '../../src/config/index.ts';
import { deleteTopicsWithPrefix, uniquePrefix } from './kafka.ts';
import { freePort } from './process.ts';

export interface TestApp {
  runtime: Runtime;
  base: string;
  /** Stops the app and deletes its topics. */
  close(): Promise<void>;
}

/** The whole app (every component of this build unless `factories` says otherwise) on a free port and a fresh topic prefix. */
export async function startTestApp(
  env: Record<string, string> = {},
  factories: Partial<Record<ComponentName, ComponentFactory>> = COMPONENT_FACTORIES,
): Promise<TestApp> {
  const { brokers, registryUrl } = inject('kafka');
  const port = await freePort();
  const config = loadConfig({
    KAFKA_BROKERS: brokers.join(','),
    SCHEMA_REGISTRY_URL: registryUrl,
    KAFKA_TOPIC_PREFIX: uniquePrefix('app'),
    PORT: String(port),
    HOST: '127.0.0.1',
    ...env,
  });
  const runtime = await startRuntime(config, factories);
  return {
    runtime,
    base: `http://127.0.0.1:${port}`,
    async close() {
      const prefix = runtime.kafka.catalog.prefix;
      await runtime.stop();
      const { KafkaConnection } = await import('../../src/kafka/index.ts');
      const cleaner = new KafkaConnection({ brokers, registryUrl });
      await deleteTopicsWithPrefix(cleaner, prefix);
      await cleaner.close();
    },
  };
}
