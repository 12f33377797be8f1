/**
 * Acceptance on the real broker: metric samples with an injected incident become an anomaly on
 * the anomalies topic and on the API, and the orchestrator proposes a dry-run action naming it.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Anomaly, EcosystemEvent, MetricSampleInput, OrchestratorAction } from '../../schemas/types.ts';
import { type Runtime, startRuntime } from '../../src/app/index.ts';
import { COMPONENT_FACTORIES } from '../../src/components.ts';
import { loadConfig } from '../../src/config/index.ts';
import type { KafkaConnection } from '../../src/kafka/index.ts';
import type { TopicKey } from '../../topics/index.ts';
import { testKafka, uniquePrefix } from '../helpers/kafka.ts';
import { poll } from '../helpers/poll.ts';
import { freePort } from '../helpers/process.ts';

const MIN = 60_000;
const SERVICE = 'checkout';

/** 300 normal minutes of a service, then 12 minutes where latency is ten times higher, then an hour of normal again. */
function samples(end: number): MetricSampleInput[] {
  const out: MetricSampleInput[] = [];
  for (let i = 0; i < 372; i++) {
    const t = end - (372 - i) * MIN;
    const wave = Math.sin(i / 15);
    const incident = i >= 300 && i < 312;
    out.push({
      service: SERVICE,
      timestamp: t,
      cpu_usage: 40 + 5 * wave + ((i * 7919) % 13) / 13,
      memory_usage: 55 + ((i * 104729) % 7) / 7,
      network_latency: (80 + 10 * wave + ((i * 31) % 11)) * (incident ? 10 : 1),
      error_rate: 0.5 + ((i * 17) % 5) / 10,
      request_count: 3000 + 300 * wave + ((i * 13) % 17) * 5,
      replicas: 2,
    });
  }
  return out;
}

/** Reads a topic from the beginning until `match` accepts a decoded value (polls; no fixed sleep decides the outcome). */
async function waitFor<K extends TopicKey, V>(
  kafka: KafkaConnection,
  key: K,
  match: (v: V) => boolean,
  timeoutMs = 90_000,
): Promise<V> {
  const consumer = kafka.privateConsumer('test-consume', { maxWaitTimeMs: 100 });
  await consumer.subscribe([kafka.catalog.name(key)], { fromBeginning: true });
  try {
    return await new Promise<V>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching record on ${key} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      void consumer.run(async (batch) => {
        for (const r of batch.records) {
          const value = (await kafka.serde.decode(key, r.value)).value as V;
          if (match(value)) {
            clearTimeout(timer);
            resolve(value);
          }
        }
      });
    });
  } finally {
    await consumer.disconnect();
  }
}

describe('anomaly detection and the orchestrator on the real broker', () => {
  let runtime: Runtime;
  let base: string;
  let settings: Record<string, string>;
  const createdTopics: string[] = [];
  let hook: Server;
  let hookCalls = 0;
  let opened: Anomaly;

  beforeAll(async () => {
    hook = createServer((_req, res) => {
      hookCalls++;
      res.end();
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const { brokers, registryUrl } = inject('kafka');
    const port = await freePort();
    settings = {
      KAFKA_BROKERS: brokers.join(','),
      SCHEMA_REGISTRY_URL: registryUrl,
      KAFKA_TOPIC_PREFIX: uniquePrefix('detect'),
      PORT: String(port),
      HOST: '127.0.0.1',
      COMPONENTS: 'detect,orchestrator',
      DETECT_SNAPSHOT_INTERVAL_MS: '1000',
      ORCH_ENDPOINTS: `${SERVICE}=orders/checkout-eu`,
      ORCH_EVAL_INTERVAL_MS: '60000',
      ORCH_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`,
      ORCH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    };
    runtime = await startRuntime(loadConfig(settings), COMPONENT_FACTORIES);
    base = `http://127.0.0.1:${port}`;
    const producer = await runtime.kafka.producer();
    await producer.send(
      'metrics.samples',
      samples(Date.now()).map((value) => ({ key: SERVICE, value })),
    );
    opened = await waitFor<'anomalies', Anomaly>(
      runtime.kafka,
      'anomalies',
      (a) => a.service === SERVICE && a.state === 'OPEN' && a.metrics.includes('network_latency'),
    );
  }, 180_000);

  afterAll(async () => {
    const topics = createdTopics.length
      ? createdTopics
      : (await (await runtime.kafka.admin()).listTopics()).filter((t) => t.startsWith(runtime.kafka.catalog.prefix));
    await runtime.stop();
    const cleanup = await testKafka([], 'detect-cleanup');
    await (await cleanup.kafka.admin()).deleteTopics(topics).catch(() => undefined);
    await cleanup.cleanup();
    await new Promise<void>((r) => hook.close(() => r()));
  });

  it('publishes one incident for the injected latency jump, explained, with an expected range', () => {
    expect(opened.kind).not.toBe('none');
    expect(opened.score).toBeGreaterThanOrEqual(0.5);
    expect(opened.metrics[0]).toBe('network_latency');
    const latency = opened.contributions.find((c) => c.metric === 'network_latency')!;
    expect(latency.value).toBeGreaterThan(latency.expectedHigh);
    expect(opened.explanation).toContain('network_latency of checkout rose to');
  });

  it('closes the incident once under the same id, and posts digests to the ecosystem feed', async () => {
    const closed = await waitFor<'anomalies', Anomaly>(
      runtime.kafka,
      'anomalies',
      (a) => a.id === opened.id && a.state === 'CLOSED',
    );
    expect(closed.endedAt).not.toBeNull();
    const digest = await waitFor<'ecosystem.events', EcosystemEvent>(
      runtime.kafka,
      'ecosystem.events',
      (e) => e.kind === 'anomaly' && e.data.id === opened.id,
    );
    expect(digest).toMatchObject({ component: 'detect', subject: SERVICE });
  });

  it('serves the incident on GET /api/v2/ai/anomalies, filtered by service, time and score', async () => {
    const body = await poll(async () => {
      const res = await fetch(`${base}/api/v2/ai/anomalies?service=${SERVICE}&from=-1d&minScore=0.5`);
      const json = (await res.json()) as {
        count: number;
        incidents: { id: string; metrics: string[]; explanation: string }[];
      };
      return json.incidents.some((i) => i.id === opened.id) ? json : undefined;
    });
    expect(body.incidents.find((i) => i.id === opened.id)!.metrics).toContain('network_latency');
    const none = (await (await fetch(`${base}/api/v2/ai/anomalies?service=another`)).json()) as { count: number };
    expect(none.count).toBe(0);
    const bad = await fetch(`${base}/api/v2/ai/anomalies?from=yesterday-ish`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { field: string }).field).toBe('querystring.from');
  });

  it('proposes a dry-run action that names the incident, audited on orchestrator.actions', async () => {
    const action = await waitFor<'orchestrator.actions', OrchestratorAction>(
      runtime.kafka,
      'orchestrator.actions',
      (a) => a.trigger === opened.id && a.target === 'orders/checkout-eu',
    );
    expect(['downweight_endpoint', 'drain_endpoint']).toContain(action.kind);
    expect(action.dryRun).toBe(true);
    expect(action.status).toBe('PROPOSED');
    expect(action.reason).toContain(opened.id);
    expect(action.params).toMatchObject({ route: 'orders', endpoint: 'checkout-eu' });
    const webhook = await waitFor<'orchestrator.actions', OrchestratorAction>(
      runtime.kafka,
      'orchestrator.actions',
      (a) => a.trigger === opened.id && a.kind === 'webhook',
    );
    expect(webhook.status).toBe('PROPOSED');
    expect(hookCalls).toBe(0); // dry run: nothing is called
  });

  it('answers insights and capacity for a known service and 404 for an unknown one', async () => {
    const insights = await poll(async () => {
      const res = await fetch(`${base}/api/v2/ai/insights/${SERVICE}`);
      const json = (await res.json()) as {
        capacity: { requests: { forecast: unknown[] } } | null;
        failure: { drivers: unknown[] } | null;
        recentActions: unknown[];
      };
      return res.status === 200 && json.capacity && json.failure ? json : undefined;
    });
    expect(insights.capacity!.requests.forecast.length).toBeGreaterThan(0);
    expect(insights.failure!.drivers.length).toBe(3);
    const missing = await fetch(`${base}/api/v2/ai/insights/nobody`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { field: string }).field).toBe('params.service_name');
    const capacity = (await (
      await fetch(`${base}/api/v2/ai/predictive/capacity?service=${SERVICE}&horizonMinutes=120`)
    ).json()) as { horizonMinutes: number; services: { service: string; recommendation: unknown }[] };
    expect(capacity.horizonMinutes).toBe(120);
    expect(capacity.services[0]!.service).toBe(SERVICE);
  });

  it('runs the policy on request, refusing to execute on a dry-run instance', async () => {
    const live = await fetch(`${base}/api/v2/ai/autonomous-optimization`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dryRun: false }),
    });
    expect(live.status).toBe(409);
    const unknown = await fetch(`${base}/api/v2/ai/autonomous-optimization`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ services: ['nobody'] }),
    });
    expect(unknown.status).toBe(404);
    const res = await fetch(`${base}/api/v2/ai/autonomous-optimization`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ services: [SERVICE] }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { dryRun: boolean; evaluated: string[]; actions: OrchestratorAction[] };
    expect(body).toMatchObject({ dryRun: true, evaluated: [SERVICE] });
    expect(body.actions.every((a) => a.dryRun)).toBe(true);
    const docs = (await (await fetch(`${base}/docs/json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(docs.paths)).toEqual(
      expect.arrayContaining([
        '/api/v2/ai/anomalies',
        '/api/v2/ai/insights/{service_name}',
        '/api/v2/ai/predictive/capacity',
        '/api/v2/ai/autonomous-optimization',
      ]),
    );
  });

  it('rebuilds the orchestrator by replay after a restart', async () => {
    const admin = await runtime.kafka.admin();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(runtime.kafka.catalog.prefix));
    createdTopics.push(...topics);
    await runtime.stop();
    const port = await freePort();
    const second = await startRuntime(
      loadConfig({ ...settings, PORT: String(port), COMPONENTS: 'orchestrator' }),
      COMPONENT_FACTORIES,
    );
    try {
      const insights = await poll(async () => {
        const res = await fetch(`http://127.0.0.1:${port}/api/v2/ai/insights/${SERVICE}`);
        const json = (await res.json()) as {
          capacity: { requests: { forecast: unknown[] } } | null;
          openAnomalies: unknown[];
        };
        return res.status === 200 && json.capacity ? json : undefined;
      });
      expect(insights.capacity!.requests.forecast.length).toBeGreaterThan(0);
      const anomalies = (await (
        await fetch(`http://127.0.0.1:${port}/api/v2/ai/anomalies?service=${SERVICE}`)
      ).json()) as { incidents: { id: string }[] };
      expect(anomalies.incidents.map((i) => i.id)).toContain(opened.id);
    } finally {
      await second.stop();
    }
  });
});
