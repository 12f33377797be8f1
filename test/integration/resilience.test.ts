import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Runtime, startRuntime } from '../../src/app/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { DecodeError, KafkaConnection, RegistryUnavailableError } from '../../src/kafka/index.ts';
import { logger } from '../../src/log/index.ts';
import { stackDown, stackEndpoints, stackUp } from '../../src/stack/index.ts';
import { freePort } from '../helpers/process.ts';
import { privateStack } from '../helpers/stack.ts';

const quiet = () => undefined;
const sample = {
  service: 's',
  timestamp: 1,
  cpu_usage: 1,
  memory_usage: 2,
  network_latency: 3,
  error_rate: 0,
  request_count: 4,
};

async function waitForHealth(
  url: string,
  status: number,
  timeoutMs: number,
): Promise<{ status: string; dependencies: Record<string, { ok: boolean }> }> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const res = await fetch(url).catch(() => undefined);
    if (res?.status === status) return (await res.json()) as never;
    last = res?.status;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`health never answered ${status} (last ${String(last)})`);
}

describe('when the registry or the broker goes away', () => {
  let stack: Awaited<ReturnType<typeof privateStack>>;
  beforeAll(async () => {
    stack = await privateStack();
    await stackUp(stack, quiet);
  });
  afterAll(async () => stack?.dispose());

  it('keeps known schemas flowing from the cache, errors clearly on new ones, and recovers without a restart', async () => {
    const endpoints = stackEndpoints(stack);
    const kafka = new KafkaConnection({ ...endpoints, topicPrefix: 'reg.', log: logger('test') });
    const other = new KafkaConnection({ ...endpoints, topicPrefix: 'reg.', log: logger('test') });
    await kafka.serde.registerAll(['metrics.samples']);
    const known = kafka.serde.encode('metrics.samples', sample);
    await kafka.serde.decode('metrics.samples', known);
    // A value whose schema this client has never seen: written by another client under another subject.
    await other.serde.registerAll(['anomalies']);
    const unseen = other.serde.encode('anomalies', {
      id: 'x',
      service: 's',
      state: 'OPEN',
      metrics: [],
      score: 1,
      explanation: 'e',
      startedAt: 1,
      at: 1,
    });

    await stackDown(stack, quiet, 'registry');
    expect((await kafka.serde.decode('metrics.samples', known)).value).toMatchObject(sample);
    expect(kafka.serde.encode('metrics.samples', sample).equals(known)).toBe(true);
    const outage = await kafka.serde.decode('anomalies', unseen).catch((e: unknown) => e);
    expect(outage).toBeInstanceOf(DecodeError);
    expect((outage as DecodeError).reason).toBe('registry_unavailable');
    expect((outage as DecodeError).retriable).toBe(true);
    const registering = await kafka.serde.register('deadletter').catch((e: unknown) => e);
    expect(registering).toBeInstanceOf(RegistryUnavailableError);
    expect((registering as Error).message).toMatch(/schema registry at .* is unreachable/);

    await stackUp(stack, quiet);
    expect((await kafka.serde.decode('anomalies', unseen)).value).toMatchObject({ id: 'x', state: 'OPEN' });
    await kafka.close();
    await other.close();
  }, 240_000);

  it('reports degraded on /health while the broker is down, then healthy again by itself', async () => {
    const endpoints = stackEndpoints(stack);
    const port = await freePort();
    const config = loadConfig({
      KAFKA_BROKERS: endpoints.brokers.join(','),
      SCHEMA_REGISTRY_URL: endpoints.registryUrl,
      KAFKA_TOPIC_PREFIX: 'health.',
      PORT: String(port),
      HOST: '127.0.0.1',
    });
    const runtime: Runtime = await startRuntime(config, {});
    const url = `http://127.0.0.1:${port}/health`;
    try {
      expect((await waitForHealth(url, 200, 10_000)).status).toBe('ok');
      await stackDown(stack, quiet, 'kafka');
      const degraded = await waitForHealth(url, 503, 30_000);
      expect(degraded.status).toBe('degraded');
      expect(degraded.dependencies.broker?.ok).toBe(false);
      await stackUp(stack, quiet);
      const healthy = await waitForHealth(url, 200, 120_000);
      expect(healthy.dependencies.broker?.ok).toBe(true);
    } finally {
      await runtime.stop();
    }
  }, 300_000);
});
