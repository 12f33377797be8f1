/** RelayCore test harness: a runtime under a fresh topic prefix, and HTTP endpoints that record what they receive. */

import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { type Runtime, startRuntime } from '../../src/app/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { createGateway } from '../../src/gateway/index.ts';
import { type ConsumedRecord, KafkaConnection } from '../../src/kafka/index.ts';
import { createNeuroWeaver } from '../../src/ml/index.ts';
import { createRelay, type RelayCore } from '../../src/relay/index.ts';
import type { TopicKey } from '../../topics/index.ts';
import { deleteTopicsWithPrefix, testClient, uniquePrefix } from './kafka.ts';
import { freePort } from './process.ts';

export interface RelayHarness extends AppHarness {
  relay: RelayCore;
}

/** Environment for a RelayCore process on the test broker under `prefix`. */
export function relayEnv(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  const { brokers, registryUrl } = inject('kafka');
  return {
    KAFKA_BROKERS: brokers.join(','),
    SCHEMA_REGISTRY_URL: registryUrl,
    KAFKA_TOPIC_PREFIX: prefix,
    HOST: '127.0.0.1',
    COMPONENTS: 'relay',
    MODEL_SAVE_PATH: mkdtempSync(join(tmpdir(), 'am-relay-models-')),
    RELAY_RETRY_BACKOFF_MS: '5',
    KAFKA_CLIENT: testClient(),
    ...extra,
  };
}

export async function startRelay(extra: Record<string, string> = {}, label = 'relay'): Promise<RelayHarness> {
  const app = await startApp({ prefix: uniquePrefix(label), components: ['relay'], env: extra });
  return { ...app, relay: app.runtime.components[0] as RelayCore };
}

export interface AppHarness {
  runtime: Runtime;
  kafka: KafkaConnection;
  base: string;
  prefix: string;
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Stops the process's components (another one on the prefix may go on). */
  stop(): Promise<void>;
  /** Stops, then deletes every topic of the prefix. */
  close(): Promise<void>;
}

/** An AutoMatrix runtime with the given components on a topic prefix (several may share one), serving its API on a free port. */
export async function startApp(opts: {
  prefix: string;
  components: ('relay' | 'neuroweaver' | 'gateway')[];
  env?: Record<string, string>;
}): Promise<AppHarness> {
  const port = await freePort();
  const config = loadConfig({
    ...relayEnv(opts.prefix, opts.env),
    COMPONENTS: opts.components.join(','),
    PORT: String(port),
  });
  const runtime = await startRuntime(config, {
    relay: createRelay,
    neuroweaver: createNeuroWeaver,
    gateway: createGateway,
  });
  const base = `http://127.0.0.1:${port}/api/v2`;
  const stop = () => runtime.stop();
  return {
    runtime,
    kafka: runtime.kafka,
    base,
    prefix: opts.prefix,
    async api<T>(method: string, path: string, body?: unknown) {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
    },
    stop,
    async close() {
      await stop();
      const { brokers, registryUrl } = inject('kafka');
      const cleaner = new KafkaConnection({ brokers, registryUrl, topicPrefix: opts.prefix });
      await deleteTopicsWithPrefix(cleaner, opts.prefix);
      await cleaner.close();
    },
  };
}

export interface Hit {
  id: string;
  body: string;
  headers: IncomingMessage['headers'];
  at: number;
  /** Arrival order across every test endpoint of the process (milliseconds tie). */
  order: number;
  status: number;
}

let arrivals = 0;

export interface TestEndpoint {
  url: string;
  hits: Hit[];
  /** Ids answered with 2xx, in arrival order. */
  delivered(): string[];
  respond: (hit: Hit) => { status: number; delayMs?: number };
  close(): Promise<void>;
}

/** An HTTP endpoint on a free local port; `respond` decides status and delay per request. */
export async function testEndpoint(respond: TestEndpoint['respond'] = () => ({ status: 200 })): Promise<TestEndpoint> {
  const port = await freePort();
  const ep: TestEndpoint = {
    url: `http://127.0.0.1:${port}/in`,
    hits: [],
    delivered: () => ep.hits.filter((h) => h.status < 300).map((h) => h.id),
    respond,
    close: () => new Promise((r) => server.close(() => r())),
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const hit: Hit = {
        id: String(req.headers['idempotency-key']),
        body,
        headers: req.headers,
        at: Date.now(),
        order: arrivals++,
        status: 0,
      };
      const { status, delayMs } = ep.respond(hit);
      const answer = () => {
        hit.status = status;
        ep.hits.push(hit);
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'nope');
      };
      if (delayMs) setTimeout(answer, delayMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return ep;
}

/** Polls until `check` is true (tests wait for asynchronous delivery; no assertion is timed). */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Records of a topic key under the harness prefix, read from the beginning into a growing array. */
export async function follow(
  kafka: KafkaConnection,
  key: TopicKey,
): Promise<{ records: ConsumedRecord[]; stop: () => Promise<void> }> {
  const records: ConsumedRecord[] = [];
  const consumer = kafka.privateConsumer('test-follow', { maxWaitTimeMs: 50 });
  await consumer.subscribe([kafka.catalog.name(key)], { fromBeginning: true });
  await consumer.run(async (batch) => {
    records.push(...batch.records);
  });
  return { records, stop: () => consumer.disconnect() };
}
