/**
 * Every documented example runs as written against a started app (issue 16, item 7): the OpenAPI
 * examples of /docs, the shell examples (curl, npx automatrix) of README.md and docs/, and the
 * WebSocket protocol's JSON examples of docs/gateway.md.
 *
 * The app is `node src/main.ts` (what `npm start` runs) on the test broker. The examples are written
 * for a fresh `npm start`; the only changes are that deployment's own defaults: `localhost:8000`
 * becomes the app's address and the topic prefix `automatrix.` its prefix. What the examples
 * presuppose is done first, as a user's services would: labelled metric samples arrive on
 * metrics.samples. Code excerpts (ts, js), diagrams and benchmark outputs are not examples.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KafkaConnection } from '../../src/kafka/index.ts';
import { logger } from '../../src/log/index.ts';
import { syntheticSamples } from '../../src/ml/index.ts';
import { documentationFiles, fencedBlocks, REPO, runShell, shellCommands } from '../helpers/docs.ts';
import { deleteTopicsWithPrefix, uniquePrefix } from '../helpers/kafka.ts';
import { until } from '../helpers/relay.ts';
import { type AppChild, startAppProcess } from '../helpers/relay-process.ts';
import { type Msg, TestClient } from '../helpers/ws.ts';

/** Commands of the docs that install, start the app under test, or run suites and benchmarks. */
const NOT_EXAMPLES = /^(npm (ci|start|test|run)\b|docker |bash \.ci)/;
/** Commands whose point is to show records or topics: they must show some. */
const SHOWS_RECORDS = /automatrix (tail|kafka-console consumer|topics list)\b/;
const ALL_COMPONENTS = ['relay', 'detect', 'orchestrator', 'neuroweaver', 'gateway'];

interface Op {
  method: string;
  path: string;
  op: OpenApiOperation;
}
interface OpenApiParameter {
  in: string;
  name: string;
  required?: boolean;
  example?: unknown;
  schema?: { examples?: unknown[] };
}
interface OpenApiOperation {
  parameters?: OpenApiParameter[];
  requestBody?: {
    content?: Record<
      string,
      { example?: unknown; examples?: Record<string, { value: unknown }>; schema?: { examples?: unknown[] } }
    >;
  };
}
interface Answer {
  status: number;
  body: unknown;
  text: string;
}

describe('the documented examples run as written', () => {
  const { brokers, registryUrl } = inject('kafka');
  const prefix = uniquePrefix('docs');
  let app: AppChild;
  let kafka: KafkaConnection;
  let base: string;
  let env: Record<string, string>;
  /** Job ids the examples started: each must end `succeeded` (or cancelled, when an example cancels it). */
  const jobs = new Set<string>();

  const localize = (text: string) =>
    text
      .replace(/(http:\/\/)?localhost:8000/g, (_m, scheme: string | undefined) => `${scheme ?? ''}${base.slice(7)}`)
      .replace(/\bautomatrix\.(?=[a-z])/g, prefix);

  const call = async (method: string, path: string, body?: unknown): Promise<Answer> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : localize(JSON.stringify(body)),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON (metrics, HTML) */
    }
    const jobId = (parsed as { jobId?: string } | null)?.jobId;
    if (typeof jobId === 'string') jobs.add(jobId);
    return { status: res.status, body: parsed, text };
  };

  /** Training runs in the background: an example that follows one may need its result. */
  const settled = async () => {
    await until(
      async () => {
        const s = (await call('GET', '/api/v2/neuroweaver/status')).body as { job: unknown; queued: unknown[] };
        return s.job === null && s.queued.length === 0;
      },
      'NeuroWeaver to finish the jobs the examples started',
      900_000,
    );
    for (const id of jobs) {
      const job = (await call('GET', `/api/v2/neuroweaver/jobs/${id}`)).body as { state: string; error: string | null };
      expect(['succeeded', 'cancelled'], `job ${id}: ${job.error}`).toContain(job.state);
      jobs.delete(id);
    }
  };

  beforeAll(async () => {
    env = {
      KAFKA_BROKERS: brokers.join(','),
      SCHEMA_REGISTRY_URL: registryUrl,
      KAFKA_TOPIC_PREFIX: prefix,
      HOST: '127.0.0.1',
      MODEL_SAVE_PATH: mkdtempSync(join(tmpdir(), 'am-docs-models-')),
      LOG_LEVEL: 'warn',
      PATH: `${join(REPO, 'node_modules', '.bin')}:${process.env.PATH}`,
    };
    app = await startAppProcess(env, ALL_COMPONENTS, 240_000);
    base = app.base;
    kafka = new KafkaConnection({ brokers, registryUrl, topicPrefix: prefix, log: logger('test') });
    // What the services of the examples send: labelled samples of checkout, search and payments.
    const producer = await kafka.producer();
    await kafka.serde.registerAll(['metrics.samples']);
    await producer.send(
      'metrics.samples',
      syntheticSamples(1000, { seed: 3, noise: 0.005, stepMs: 600 }).map((s) => ({ key: s.service, value: s })),
    );
    await until(
      async () => (await call('GET', '/api/v2/ai/insights/checkout')).status === 200,
      'the orchestrator to see checkout',
      120_000,
    );
  }, 300_000);
  afterAll(async () => {
    await app?.kill('SIGTERM');
    if (kafka) {
      await deleteTopicsWithPrefix(kafka, prefix);
      await kafka.close();
    }
  });

  // First: its subscribe example replays the last 15 minutes, which hold the samples sent at the start.
  it("docs/gateway.md: the WebSocket protocol's JSON examples", async () => {
    const examples = fencedBlocks('docs/gateway.md')
      .filter((b) => b.lang === 'json')
      .flatMap((b) => exampleMessages(b.text));
    const client = await TestClient.open(`${base.replace('http', 'ws')}/api/v2/ws`);
    try {
      const welcome = await client.until((c) => c.of('welcome')[0], 'welcome');
      for (const { sent, shown } of examples) {
        if (!sent) {
          if (shown.type === 'welcome') expect(welcome).toEqual(shown);
          continue;
        }
        const before = client.messages.length;
        client.send(sent);
        const reply = await client.until(
          (c) => c.messages.slice(before).find((m) => m.type === (shown?.type ?? replyType(sent))),
          `the answer to ${JSON.stringify(sent)}`,
        );
        if (shown) expect(Object.keys(reply).sort()).toEqual(Object.keys(shown).sort());
        if (sent.type === 'subscribe') {
          // The subscribed example's own shape, and records as the data example shows them.
          const documented = examples.find((e) => !e.sent && e.shown.type === 'subscribed')!.shown;
          expect(Object.keys(reply).sort()).toEqual(Object.keys(documented).sort());
          const data = await client.until(
            (c) => c.messages.slice(before).find((m) => m.type === 'data' && m.sub === sent.id),
            'records of the subscription',
          );
          const shownData = examples.find((e) => !e.sent && e.shown.type === 'data')!.shown;
          expect(Object.keys(data).sort()).toEqual(Object.keys(shownData).sort());
          const record = (data.records as Record<string, unknown>[])[0]!;
          const shownRecord = (shownData.records as Record<string, unknown>[])[0]!;
          expect(Object.keys(record).sort()).toEqual(Object.keys(shownRecord).sort());
        }
      }
      // The error example: a message the server cannot act on.
      const shownError = examples.find((e) => !e.sent && e.shown.type === 'error')!.shown;
      const before = client.messages.length;
      client.send({ type: 'subscribe', topic: 'anomalies', from: { timestamp: 'yesterday-ish' } });
      const error = await client.until((c) => c.messages.slice(before).find((m) => m.type === 'error'), 'an error');
      expect(error).toMatchObject({ code: shownError.code, field: shownError.field });
    } finally {
      client.close();
    }
  });
  it('OpenAPI: every operation, with each of its examples, on a fresh start', async () => {
    const doc = (await call('GET', '/docs/json')).body as { paths: Record<string, Record<string, OpenApiOperation>> };
    const ops = new Map<string, Op>();
    for (const [path, methods] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(methods))
        ops.set(`${method.toUpperCase()} ${path}`, { method, path, op });
    const done = new Set<string>();
    const operation = (key: string): Op => {
      const op = ops.get(key);
      if (!op) throw new Error(`${key} is not in the OpenAPI document`);
      done.add(key);
      return op;
    };
    const example = (p: OpenApiParameter) => p.example ?? p.schema?.examples?.[0];
    const bodies = (o: OpenApiOperation): unknown[] => {
      const content = o.requestBody?.content?.['application/json'];
      if (!content) return [undefined];
      if (content.examples) return Object.values(content.examples).map((e) => e.value);
      if (content.example !== undefined) return [content.example];
      return content.schema?.examples ?? [undefined];
    };
    /** Runs the operation with every body example, path and query parameters from their examples or `given`. */
    const run = async (key: string, given: Record<string, string> = {}): Promise<Answer[]> => {
      const { method, path, op } = operation(key);
      const query = new URLSearchParams();
      let url = path;
      for (const p of op.parameters ?? []) {
        const value = given[p.name] ?? example(p);
        if (p.in === 'path') {
          expect(
            value,
            `${key}: path parameter ${p.name} has no example and no value from an earlier answer`,
          ).toBeDefined();
          url = url.replace(`{${p.name}}`, encodeURIComponent(String(value)));
        } else if (p.in === 'query' && value !== undefined) query.set(p.name, String(value));
      }
      const answers: Answer[] = [];
      for (const body of bodies(op)) {
        const a = await call(method.toUpperCase(), `${url}${query.size ? `?${query}` : ''}`, body);
        expect(a.status, `${key} with ${JSON.stringify(body)?.slice(0, 200)}: ${a.text.slice(0, 300)}`).toBeLessThan(
          400,
        );
        answers.push(a);
      }
      return answers;
    };

    for (const key of ['GET /health', 'GET /health/live', 'GET /metrics', 'GET /ai-ecosystem/status', 'GET /'])
      await run(key);
    await run('GET /dashboard/{file}');

    // RelayCore: the route example delivers to the built-in sink; the message example goes through it.
    await run('POST /api/v2/relaycore/routes');
    await run('GET /api/v2/relaycore/routes');
    await run('GET /api/v2/relaycore/routes/{name}');
    await run('PUT /api/v2/relaycore/routes/{name}');
    await run('PATCH /api/v2/relaycore/routes/{name}');
    const [sent] = await run('POST /api/v2/relaycore/message');
    const id = (sent!.body as { id: string }).id;
    await until(async () => {
      const sink = (await call('GET', '/api/v2/relaycore/sink')).body as { recent: { idempotencyKey: string }[] };
      return sink.recent.some((r) => r.idempotencyKey === id);
    }, 'the example message to reach the sink');
    await run('GET /api/v2/relaycore/sink');
    await run('POST /api/v2/relaycore/sink');
    // Optimizing needs traffic to learn from (ML_MIN_TRAINING_ROWS outcomes): the message example, again.
    for (let i = 0; i < 60; i++) await run('POST /api/v2/relaycore/message');
    await until(async () => {
      const s = (await call('GET', '/api/v2/relaycore/status')).body as { counters: { delivered: number } };
      return s.counters.delivered >= 61;
    }, '61 deliveries');
    const optimized = await run('POST /api/v2/relaycore/optimize');
    for (const a of optimized)
      expect(a.body).toMatchObject({ model: 'routing', candidate: { version: expect.any(String) } });
    await run('GET /api/v2/relaycore/status');
    await run('POST /api/v2/relaycore/stop');
    await run('POST /api/v2/relaycore/start');

    // The orchestrator, on the services' samples.
    await run('GET /api/v2/ai/insights/{service_name}');
    await run('GET /api/v2/ai/predictive/capacity');
    await run('GET /api/v2/ai/anomalies');
    await run('POST /api/v2/ai/autonomous-optimization');
    await run('GET /api/v2/ai/actions');

    // NeuroWeaver: both train examples (rows; a replay of the samples), then what needs a model.
    await settled();
    await run('POST /api/v2/neuroweaver/train');
    await settled();
    const models = (await call('GET', '/api/v2/neuroweaver/models?model=performance')).body as {
      champions: Record<string, string>;
      versions: { version: string; status: string }[];
    };
    expect(models.champions.performance, JSON.stringify(models.versions)).toBeDefined();
    await run('POST /api/v2/neuroweaver/predict');
    await run('GET /api/v2/neuroweaver/models');
    await run('GET /api/v2/neuroweaver/status');
    const [listed] = await run('GET /api/v2/neuroweaver/jobs');
    const aJob = (listed!.body as { jobs: { id: string }[] }).jobs[0]!.id;
    await run('GET /api/v2/neuroweaver/jobs/{id}', { id: aJob });
    const champion = models.champions.performance!;
    await run('GET /api/v2/neuroweaver/models/{model}/{version}', { version: champion });
    const other = models.versions.find((v) => v.version !== champion)!.version;
    await run('POST /api/v2/neuroweaver/models/{model}/{version}/promote', { version: other });
    await run('POST /api/v2/neuroweaver/models/{model}/rollback');
    const started = await call('POST', '/api/v2/neuroweaver/train', { from: '-24h', to: 'now' });
    await run('POST /api/v2/neuroweaver/jobs/{id}/cancel', { id: (started.body as { jobId: string }).jobId });
    await settled();

    // The gateway's HTTP side (its WebSocket examples are docs/gateway.md's, below).
    await run('GET /api/v2/ecosystem/status');
    await run('GET /api/v2/gateway/topics');
    await run('GET /api/v2/analytics/performance');
    const live = operation('GET /api/v2/ecosystem/live');
    const sse = await fetch(`${base}${live.path}?from=-15m`, { signal: AbortSignal.timeout(30_000) });
    expect(sse.status).toBe(200);
    const reader = sse.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(first).toMatch(/^(id|event|data|retry|:)/m);
    operation('GET /api/v2/ws');
    operation('GET /api/v2/ws/ecosystem');

    await run('DELETE /api/v2/relaycore/routes/{name}');
    expect(
      [...ops.keys()].filter((k) => !done.has(k)),
      'operations this test does not run',
    ).toEqual([]);
  }, 1_200_000);

  it('README.md and docs/: every shell example', async () => {
    let ran = 0;
    for (const file of documentationFiles()) {
      for (const block of fencedBlocks(file).filter((b) => b.lang === 'bash')) {
        for (const written of shellCommands(block.text)) {
          if (NOT_EXAMPLES.test(written)) continue;
          await settled();
          const curl = written.startsWith('curl ');
          // The status on a last line of its own (given first: the example may end with a comment).
          const command = localize(curl ? written.replace(/^curl /, "curl -sS -w '\\n%{http_code}' ") : written);
          const r = await runShell(command, env);
          const what = `${file}: ${written}\n${r.stderr.slice(-600)}`;
          expect(r.code, what).toBe(0);
          if (curl) {
            const lines = r.stdout.trimEnd().split('\n');
            const status = Number(lines.pop());
            const text = lines.join('\n');
            expect(status, `${what}\n${text.slice(0, 300)}`).toBeLessThan(400);
            let body: unknown;
            try {
              body = JSON.parse(text);
            } catch {
              body = text;
            }
            const jobId = (body as { jobId?: string } | null)?.jobId;
            if (typeof jobId === 'string') jobs.add(jobId);
            expect(String((body as { status?: string } | null)?.status), what).not.toMatch(/DEAD_LETTERED|PENDING/);
          } else if (SHOWS_RECORDS.test(written)) {
            expect(r.stdout.trim(), `${what}: shows nothing`).not.toBe('');
          }
          ran++;
        }
      }
    }
    await settled();
    expect(ran).toBeGreaterThan(10);
    console.log(`${ran} shell examples of README.md and docs/ ran as written`);
  }, 1_200_000);
});

/** Client messages (`{...} → {...}` pairs, or a subscribe alone) and server messages of a JSON block. */
function exampleMessages(text: string): { sent?: Msg; shown: Msg }[] {
  const out: { sent?: Msg; shown: Msg }[] = [];
  const pairs = text.split('\n').filter((l) => l.includes('→'));
  if (pairs.length) {
    for (const line of pairs) {
      const [left, right] = line.split('→').map((s) => JSON.parse(s.trim()) as Msg);
      out.push({ sent: left!, shown: right! });
    }
    return out;
  }
  const parsed = JSON.parse(text) as Msg | Msg[];
  // A server frame is a JSON array of messages; what a client sends is one message.
  if (Array.isArray(parsed)) return parsed.map((shown) => ({ shown }));
  return parsed.type === 'subscribe' ? [{ sent: parsed, shown: undefined as unknown as Msg }] : [{ shown: parsed }];
}

const replyType = (sent: Msg) =>
  ({ subscribe: 'subscribed', unsubscribe: 'unsubscribed', ping: 'pong' })[sent.type] ?? '';
