/**
 * `npm run soak [-- --minutes N]`: the whole app (every component, one process) under a steady load
 * for N minutes (default 30): messages through RelayCore to two local HTTP endpoints (one answers
 * 503 now and then, so retries run), metric samples through detection and the orchestrator,
 * WebSocket clients on the gateway, and API reads. The app samples its RSS, heap and event-loop
 * delay (perf_hooks monitorEventLoopDelay) every 5 s; after a warm-up, each series' least-squares
 * slope per hour says whether it is flat. At the end every message must be delivered.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { KafkaConnection } from '../src/kafka/index.ts';
import { logger } from '../src/log/index.ts';
import { type AppProcess, startApp } from './lib/app-process.ts';
import type { ProcessSample } from './lib/app-runner.ts';
import { broker } from './lib/relay-run.ts';
import { table, writeResult } from './lib/result.ts';
import { duplicates, type Sink, startSink } from './lib/sink.ts';
import { isFlat, type Trend, trend } from './lib/stats.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

const MINUTES = arg('minutes', 30);
const MSG_RATE = arg('rate', 100);
const SAMPLE_RATE = arg('samples', 20);
const CLIENTS = arg('clients', 10);
const SERVICES = 20;
/**
 * ORCH_HORIZON_MINUTES of the app. The failure model's label queue keeps each service's samples for
 * the horizon (60 min by default, a row of a few hundred bytes per sample: ~20 MB for 20 services): a heap that grows for the first hour
 * and then stays, which a 30-minute run cannot tell from a leak. A short horizon fills it during the warm-up.
 */
const HORIZON_MIN = arg('horizon', 3);
const WARMUP_MS = Math.min(5 * 60_000, MINUTES * 60_000 * 0.25);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Load {
  produced: number;
  samples: number;
  wsRecords: number;
  wsErrors: number;
  apiErrors: number;
}

function metricSample(service: number, t: number) {
  const phase = (t / 60_000) * Math.PI * 2 + service;
  const spike = Math.random() < 0.001 ? 40 : 0;
  return {
    service: `svc-${service}`,
    timestamp: t,
    cpu_usage: 40 + 10 * Math.sin(phase) + Math.random() * 3 + spike,
    memory_usage: 55 + 5 * Math.sin(phase / 3) + Math.random(),
    network_latency: 20 + 4 * Math.random(),
    error_rate: Math.random() * 0.5,
    request_count: Math.round(200 + 50 * Math.sin(phase) + Math.random() * 10),
  };
}

function openClients(app: AppProcess, load: Load, stopped: { v: boolean }): WebSocket[] {
  const topics = ['metrics.samples', 'delivery.outcomes', 'anomalies', 'ecosystem.events'];
  const clients: WebSocket[] = [];
  const open = (i: number) => {
    const ws = new WebSocket(`${app.base.replace('http', 'ws')}/api/v2/ws`);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', id: 's', topic: topics[i % topics.length] })));
    ws.on('message', (data) => {
      // A frame is a JSON array of messages (docs/gateway.md).
      for (const m of JSON.parse(data.toString()) as { type: string; records?: unknown[] }[]) {
        if (m.type === 'data') load.wsRecords += m.records!.length;
        if (m.type === 'error') load.wsErrors++;
      }
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      if (!stopped.v) {
        load.wsErrors++;
        setTimeout(() => (clients[i] = open(i)), 1000);
      }
    });
    return ws;
  };
  for (let i = 0; i < CLIENTS; i++) clients.push(open(i));
  return clients;
}

async function pollApi(app: AppProcess, load: Load): Promise<void> {
  for (const path of [
    '/health',
    '/api/v2/relaycore/status',
    '/api/v2/analytics/performance',
    '/api/v2/ecosystem/status',
  ]) {
    const res = await fetch(`${app.base}${path}`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
    if (!res || res.status >= 500) load.apiErrors++;
    await res?.arrayBuffer().catch(() => undefined);
  }
}

function analyse(samples: ProcessSample[], start: number) {
  const steady = samples.filter((s) => s.at >= start + WARMUP_MS);
  const series = (pick: (s: ProcessSample) => number | undefined) =>
    trend(steady.flatMap((s) => (pick(s) === undefined ? [] : [{ t: s.at, y: pick(s)! }])));
  return {
    rss: series((s) => s.rssMb),
    heap: series((s) => s.heapUsedMb),
    heapAfterGc: series((s) => s.heapAfterGcMb),
    lagP99: series((s) => s.lagP99Ms),
    lagP50: series((s) => s.lagP50Ms),
    handles: series((s) => s.handles),
  };
}

async function main(): Promise<void> {
  const { brokers, registryUrl } = await broker();
  const prefix = `soak-${randomBytes(3).toString('hex')}.`;
  const sinks: Sink[] = [
    await startSink(() => ({ status: 200, delayMs: 2 + Math.random() * 8 })),
    await startSink(() => (Math.random() < 0.03 ? { status: 503 } : { status: 200, delayMs: 5 })),
  ];
  const dir = mkdtempSync(join(tmpdir(), 'am-soak-'));
  const routesFile = join(dir, 'routes.json');
  writeFileSync(
    routesFile,
    JSON.stringify({
      routes: [
        {
          name: 'default',
          policy: 'p2c-peak-ewma',
          endpoints: sinks.map((s, i) => ({ id: `e${i}`, kind: 'HTTP', target: s.url, timeoutMs: 2000 })),
        },
      ],
    }),
  );
  const app = await startApp(
    {
      KAFKA_BROKERS: brokers.join(','),
      SCHEMA_REGISTRY_URL: registryUrl,
      KAFKA_TOPIC_PREFIX: prefix,
      ROUTES_FILE: routesFile,
      RELAY_GROUP_ID: `${prefix}relay`,
      MODEL_SAVE_PATH: join(dir, 'models'),
      DETECT_SNAPSHOT_INTERVAL_MS: '60000',
      ORCH_HORIZON_MINUTES: String(HORIZON_MIN),
    },
    { exposeGc: true },
  );
  const kafka = new KafkaConnection({
    brokers,
    registryUrl,
    topicPrefix: prefix,
    clientId: 'automatrix-soak',
    log: logger('soak'),
  });
  await kafka.serde.registerAll(['messages.normal', 'metrics.samples']);
  const producer = await kafka.producer();
  const load: Load = { produced: 0, samples: 0, wsRecords: 0, wsErrors: 0, apiErrors: 0 };
  const stopped = { v: false };
  const clients = openClients(app, load, stopped);
  const start = Date.now();
  const end = start + MINUTES * 60_000;
  console.log(
    `soak: ${MINUTES} min, ${MSG_RATE} msgs/s through RelayCore, ${SAMPLE_RATE} metric samples/s, ${CLIENTS} WebSocket clients, ORCH_HORIZON_MINUTES=${HORIZON_MIN}; prefix ${prefix}`,
  );
  let lastReport = start;
  let lastPoll = start;
  for (let tick = 0; Date.now() < end; tick++) {
    const due = start + tick * 100;
    if (due > Date.now()) await sleep(due - Date.now());
    const now = Date.now();
    const messages = Math.round((MSG_RATE * (tick + 1)) / 10) - Math.round((MSG_RATE * tick) / 10);
    const samples = Math.round((SAMPLE_RATE * (tick + 1)) / 10) - Math.round((SAMPLE_RATE * tick) / 10);
    const ids = Array.from({ length: messages }, (_, i) => `m-${load.produced + i}`);
    await Promise.all([
      messages
        ? producer.send(
            'messages.normal',
            ids.map((id, i) => ({
              key: `k${(load.produced + i) % 100}`,
              value: { id, payload: JSON.stringify({ id, at: now }) },
            })),
          )
        : undefined,
      samples
        ? producer.send(
            'metrics.samples',
            Array.from({ length: samples }, (_, i) => {
              const s = metricSample((load.samples + i) % SERVICES, now);
              return { key: s.service, value: s };
            }),
          )
        : undefined,
    ]);
    load.produced += messages;
    load.samples += samples;
    if (now - lastPoll >= 10_000) {
      lastPoll = now;
      void pollApi(app, load);
    }
    if (now - lastReport >= 60_000) {
      lastReport = now;
      const s = app.samples.at(-1);
      console.log(
        `${Math.round((now - start) / 60_000)} min: produced ${load.produced}, delivered ${duplicates(sinks).unique.size}, ws records ${load.wsRecords}, rss ${s?.rssMb.toFixed(0)} MB, heap ${s?.heapUsedMb.toFixed(0)} MB, lag p99 ${s?.lagP99Ms.toFixed(1)} ms`,
      );
    }
  }
  const drainStart = Date.now();
  while (duplicates(sinks).unique.size < load.produced && Date.now() - drainStart < 120_000) await sleep(500);
  const { unique, duplicates: dup } = duplicates(sinks);
  const lost = Array.from({ length: load.produced }, (_, i) => `m-${i}`).filter((id) => !unique.has(id)).length;
  stopped.v = true;
  for (const ws of clients) ws.close();
  const samples = [...app.samples];
  await app.stop();
  await kafka.close();
  await Promise.all(sinks.map((s) => s.close()));
  await deleteTopics(brokers, registryUrl, prefix);

  const t = analyse(samples, start);
  const flat = {
    rss: isFlat(t.rss, 0.05, 5),
    heap: isFlat(t.heap, 0.05, 5),
    heapAfterGc: isFlat(t.heapAfterGc, 0.05, 5),
    lagP99: isFlat(t.lagP99, 0.1, 2),
    lagP50: isFlat(t.lagP50, 0.1, 1),
    handles: isFlat(t.handles, 0.05, 5),
  };
  const row = (name: string, unit: string, tr: Trend, ok: boolean) => ({
    series: name,
    unit,
    samples: tr.n,
    first: tr.first,
    last: tr.last,
    mean: tr.mean,
    slope_per_h: tr.slopePerHour,
    stderr_per_h: tr.slopeStdErr,
    flat: ok ? 'yes' : 'NO',
  });
  console.log(
    `\nsteady state after a ${Math.round(WARMUP_MS / 60_000)} min warm-up (least squares; flat: an hour adds at most 5% of the mean, 10% for lag, or the slope is within 2 standard errors of 0; falling counts as flat)`,
  );
  console.log(
    table([
      row('RSS', 'MB', t.rss, flat.rss),
      row('heap used', 'MB', t.heap, flat.heap),
      row('heap after GC', 'MB', t.heapAfterGc, flat.heapAfterGc),
      row('event-loop delay p99', 'ms', t.lagP99, flat.lagP99),
      row('event-loop delay p50', 'ms', t.lagP50, flat.lagP50),
      row('active handles', 'n', t.handles, flat.handles),
    ]),
  );
  console.log(
    `\nmessages: produced ${load.produced}, delivered ${unique.size}, lost ${lost}, duplicates ${dup}; metric samples ${load.samples}; WebSocket records ${load.wsRecords}, reconnects/errors ${load.wsErrors}; API 5xx or failures ${load.apiErrors}`,
  );
  const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;
  writeResult(
    'soak',
    {
      minutes: MINUTES,
      messages: load.produced,
      delivered: unique.size,
      lost,
      duplicates: dup,
      metric_samples: load.samples,
      ws_records: load.wsRecords,
      rss_mb_mean: round(t.rss.mean, 1),
      rss_slope_mb_per_h: round(t.rss.slopePerHour),
      heap_slope_mb_per_h: round(t.heap.slopePerHour),
      heap_after_gc_slope_mb_per_h: round(t.heapAfterGc.slopePerHour),
      lag_p99_ms_mean: round(t.lagP99.mean),
      lag_p99_slope_ms_per_h: round(t.lagP99.slopePerHour),
      flat: Object.values(flat).every(Boolean),
    },
    {
      warmupMs: WARMUP_MS,
      orchHorizonMinutes: HORIZON_MIN,
      rates: { messages: MSG_RATE, samples: SAMPLE_RATE, clients: CLIENTS },
      trends: t,
      flat,
      load,
      samples,
    },
  );
  if (lost) process.exitCode = 1;
}

async function deleteTopics(brokers: string[], registryUrl: string, prefix: string): Promise<void> {
  const cleaner = new KafkaConnection({ brokers, registryUrl });
  const admin = await cleaner.admin();
  await admin.deleteTopics((await admin.listTopics()).filter((t) => t.startsWith(prefix))).catch(() => undefined);
  await cleaner.close();
}

main().then(
  () => process.exit(),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
