import { afterAll, beforeAll, inject } from 'vitest';
import { type Runtime, startRuntime } from '../../src/app/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { createGateway } from '../../src/gateway/index.ts';
import { KafkaConnection } from '../../src/kafka/index.ts';
import { uniquePrefix } from './kafka.ts';
import { freePort } from './process.ts';
import type { Msg, TestClient } from './ws.ts';

export interface GatewayApp {
  runtime: Runtime;
  base: string;
  ws: string;
}

/** A process with only the gateway, on a free port; `prefix` lets several instances share one deployment's topics. */
export async function startGateway(env: Record<string, string> = {}, prefix = uniquePrefix('gw')): Promise<GatewayApp> {
  const { brokers, registryUrl } = inject('kafka');
  const port = await freePort();
  const config = loadConfig({
    KAFKA_BROKERS: brokers.join(','),
    SCHEMA_REGISTRY_URL: registryUrl,
    KAFKA_TOPIC_PREFIX: prefix,
    PORT: String(port),
    HOST: '127.0.0.1',
    COMPONENTS: 'gateway',
    ...env,
  });
  const runtime = await startRuntime(config, { gateway: createGateway });
  return { runtime, base: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}` };
}

/** Deletes a runtime's topics through a connection of its own (the runtime may be stopped already). */
export async function dropTopics(runtime: Runtime): Promise<void> {
  const { brokers, registryUrl } = inject('kafka');
  const prefix = runtime.kafka.catalog.prefix;
  const kafka = new KafkaConnection({ brokers, registryUrl, topicPrefix: prefix });
  const admin = await kafka.admin();
  await admin.deleteTopics((await admin.listTopics()).filter((t) => t.startsWith(prefix)));
  await kafka.close();
}

export const subscribed =
  (id: string) =>
  (c: TestClient): Msg | undefined =>
    c.messages.find((m) => m.type === 'subscribed' && m.id === id);

/** Offsets of records per partition, in arrival order. */
export function byPartition(records: { partition: number; offset: string }[]): Map<number, bigint[]> {
  const out = new Map<number, bigint[]>();
  for (const r of records) {
    const list = out.get(r.partition) ?? [];
    list.push(BigInt(r.offset));
    out.set(r.partition, list);
  }
  return out;
}

/** A gateway for the tests of one describe block: started before them, stopped (its topics deleted) after. */
export function gatewayForSuite(env: Record<string, string> = {}, prefix?: string): { readonly app: GatewayApp } {
  const holder = {} as { app: GatewayApp };
  beforeAll(async () => {
    holder.app = await startGateway(env, prefix);
  });
  afterAll(async () => {
    await holder.app?.runtime.stop();
    if (holder.app) await dropTopics(holder.app.runtime);
  });
  return holder;
}
