import type { TestProject } from 'vitest/node';
import { findBroker } from './broker.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kafka: { brokers: string[]; registryUrl: string; source: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const broker = await findBroker();
  console.log(`[test setup] Kafka ${broker.brokers.join(',')} and registry ${broker.registryUrl} (${broker.source})`);
  project.provide('kafka', { brokers: broker.brokers, registryUrl: broker.registryUrl, source: broker.source });
  return async () => {
    await broker.stop?.();
  };
}
