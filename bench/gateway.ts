/**
 * `npm run bench:gateway`: 1,000 WebSocket clients on one topic, records produced at rising rates;
 * delivered records per second, produce-to-client latency (p50, p99) and the server's memory, next
 * to a bare `ws` broadcast of the same records in the same run.
 *
 * - gateway: the real gateway (Avro values decoded, per-client queues and subscriptions), fed by
 *   its shared live reader of metrics.samples;
 * - bare: a plain WebSocketServer fed by a Kafka reader of a second topic carrying the same values
 *   as JSON, sending each fetched batch as one frame, in the gateway's message format, to every
 *   client (the least a mirror can do).
 *
 * Clients (bench/gateway-clients.ts, BENCH_CLIENT_PROCS processes) and the producer
 * (bench/gateway-producer.ts) run in child processes. Steps alternate gateway and bare at each rate, so both see the same machine load.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import { WebSocketServer } from 'ws';
import { startRuntime } from '../src/app/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { createGateway } from '../src/gateway/index.ts';
import { KafkaConnection } from '../src/kafka/index.ts';
import { percentile, table, writeResult } from './lib/result.ts';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 1000);
const RATES = (process.env.BENCH_RATES ?? '250,500,1000,2000,4000').split(',').map(Number);
const STEP_S = Number(process.env.BENCH_STEP_S ?? 6);
const CLIENT_PROCS = Number(process.env.BENCH_CLIENT_PROCS ?? 2);
/** Each rate runs this many times per server, alternating which goes first, pooled: the machine is shared and noisy. */
const REPEATS = Number(process.env.BENCH_REPEATS ?? 2);
/** A last step with few clients shows the pipeline's own latency when the load generator is not the bottleneck. */
const SMALL_CLIENTS = Number(process.env.BENCH_SMALL_CLIENTS ?? 50);
const GRACE_MS = 3000;
const BROKERS = process.env.KAFKA_BROKERS || 'localhost:9092';
const REGISTRY = process.env.SCHEMA_REGISTRY_URL || 'http://localhost:8081/apis/ccompat/v7';

type Target = 'gateway' | 'bare';

function child(file: string, args: string[] = []): ChildProcess {
  return fork(new URL(file, import.meta.url).pathname, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** Asks a child to exit and waits for it (killing it after 5 s). */
function stopChild(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve();
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.send({ cmd: 'exit' });
  });
}

function ask<T = Record<string, unknown>>(proc: ChildProcess, msg: Record<string, unknown>): Promise<T> {
  return new Promise((resolve) => {
    proc.once('message', (reply) => resolve(reply as T));
    proc.send(msg);
  });
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** The baseline: Kafka batch in, one frame out to every client. */
async function bareBroadcast(kafka: KafkaConnection, topic: string, port: number) {
  const server = createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  let pending: string[] = [];
  const flush = () => {
    const frame = Buffer.from(`{"type":"data","sub":"b","topic":"metrics.samples","records":[${pending.join(',')}]}`);
    pending = [];
    for (const ws of wss.clients) ws.send(frame);
  };
  const admin = await kafka.admin();
  // A topic just created may not be in every metadata answer yet.
  let ranges = await admin.offsets(topic).catch(() => []);
  for (let i = 0; i < 50 && !ranges.length; i++) {
    await new Promise((r) => setTimeout(r, 200));
    ranges = await admin.offsets(topic).catch(() => []);
  }
  const reader = kafka.reader({
    topic,
    start: new Map(ranges.map((r) => [r.partition, r.high])),
    maxWaitTimeMs: 20,
    // The same message the gateway sends (envelope with partition, offset, timestamp, key), built
    // by string concatenation from the raw JSON value: no decoding, no per-client state. Like the
    // gateway, the batches of one fetch go out as one frame.
    onBatch: (partition, records) => {
      for (const r of records)
        pending.push(
          `{"partition":${partition},"offset":"${r.offset}","timestamp":${r.timestamp},"key":${JSON.stringify(r.key?.toString() ?? null)},"value":${r.value!.toString()}}`,
        );
      if (pending.length === records.length) setImmediate(flush);
    },
  });
  await reader.start();
  return {
    async close() {
      await reader.stop();
      for (const ws of wss.clients) ws.terminate();
      await new Promise((r) => server.close(r));
    },
  };
}

async function main(): Promise<void> {
  const prefix = `bench-gw-${randomBytes(3).toString('hex')}.`;
  const port = await freePort();
  const barePort = await freePort();
  const config = loadConfig({
    KAFKA_BROKERS: BROKERS,
    SCHEMA_REGISTRY_URL: REGISTRY,
    KAFKA_TOPIC_PREFIX: prefix,
    PORT: String(port),
    HOST: '127.0.0.1',
    COMPONENTS: 'gateway',
    LOG_LEVEL: 'warn',
    GATEWAY_MAX_CLIENTS: String(CLIENTS * 2),
  });
  const runtime = await startRuntime(config, { gateway: createGateway });
  const bareTopic = `${prefix}bench.bare`;
  const admin = await runtime.kafka.admin();
  await admin.createTopic(bareTopic, 6);
  const bare = await bareBroadcast(runtime.kafka, bareTopic, barePort);
  const clientProcs = Array.from({ length: CLIENT_PROCS }, () => child('./gateway-clients.ts'));
  const share = (count: number, i: number) => Math.floor(count / CLIENT_PROCS) + (i < count % CLIENT_PROCS ? 1 : 0);
  const clients = {
    connect: (url: string, subscribe: boolean, count: number) =>
      Promise.all(clientProcs.map((p, i) => ask(p, { cmd: 'connect', url, count: share(count, i), subscribe }))),
    collect: async (n: number) => {
      const parts = await Promise.all(
        clientProcs.map((p) => ask<{ count: number; latencies: number[] }>(p, { cmd: 'collect', step: n })),
      );
      return { count: parts.reduce((a, b) => a + b.count, 0), latencies: parts.flatMap((p) => p.latencies) };
    },
    disconnect: () => Promise.all(clientProcs.map((p) => ask(p, { cmd: 'disconnect' }))),
  };
  const producer = child('./gateway-producer.ts', [BROKERS, REGISTRY, prefix, bareTopic]);
  await ask(producer, { cmd: 'ready' });

  const urls: Record<Target, string> = {
    gateway: `ws://127.0.0.1:${port}/api/v2/ws`,
    bare: `ws://127.0.0.1:${barePort}/`,
  };
  let stepNo = 0;
  const rows: Record<string, string | number>[] = [];
  const results: {
    rate: number;
    target: Target;
    clients: number;
    delivered: number;
    expected: number;
    p50: number;
    p99: number;
    rssMb: number;
  }[] = [];

  interface Sample {
    count: number;
    expected: number;
    latencies: number[];
    rss: number;
  }
  const runStep = async (rate: number, target: Target, clientCount = CLIENTS): Promise<Sample> => {
    const n = ++stepNo;
    await clients.connect(urls[target], target === 'gateway', clientCount);
    await new Promise((r) => setTimeout(r, 1000));
    let rss = process.memoryUsage().rss;
    const sampler = setInterval(() => (rss = Math.max(rss, process.memoryUsage().rss)), 200);
    const { sent } = await ask<{ sent: number }>(producer, { cmd: 'produce', rate, seconds: STEP_S, step: n, target });
    await new Promise((r) => setTimeout(r, GRACE_MS));
    clearInterval(sampler);
    const got = await clients.collect(n);
    await clients.disconnect();
    await new Promise((r) => setTimeout(r, 500));
    return { count: got.count, expected: sent * clientCount, latencies: got.latencies, rss };
  };

  const record = (rate: number, target: Target, samples: Sample[], clientCount = CLIENTS) => {
    const count = samples.reduce((n, x) => n + x.count, 0);
    const expected = samples.reduce((n, x) => n + x.expected, 0);
    const latencies = samples.flatMap((x) => x.latencies);
    const seconds = STEP_S * samples.length;
    const res = {
      rate,
      target,
      clients: clientCount,
      delivered: count / seconds,
      expected: expected / seconds,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      rssMb: Math.round(Math.max(...samples.map((x) => x.rss)) / 2 ** 20),
    };
    results.push(res);
    const row = {
      clients: clientCount,
      'rate msgs/s': rate,
      server: target,
      'delivered msgs/s': Math.round(res.delivered),
      'delivered %': Math.round((1000 * count) / Math.max(1, expected)) / 10,
      'p50 ms': res.p50,
      'p99 ms': res.p99,
      'rss MB': res.rssMb,
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  };

  // Warm-up: the gateway's live reader of the topic starts with its first subscriber.
  await runStep(100, 'gateway');
  await runStep(100, 'bare');
  // BENCH_CPU_PROFILE=file.cpuprofile: a CPU profile of the server process over the measured steps.
  const profiler = process.env.BENCH_CPU_PROFILE ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  for (const rate of RATES) {
    const samples: Record<Target, Sample[]> = { gateway: [], bare: [] };
    for (let i = 0; i < REPEATS; i++) {
      for (const target of (i % 2 ? ['bare', 'gateway'] : ['gateway', 'bare']) as Target[])
        samples[target].push(await runStep(rate, target));
    }
    record(rate, 'gateway', samples.gateway);
    record(rate, 'bare', samples.bare);
  }
  if (SMALL_CLIENTS > 0) {
    record(2000, 'gateway', [await runStep(2000, 'gateway', SMALL_CLIENTS)], SMALL_CLIENTS);
    record(2000, 'bare', [await runStep(2000, 'bare', SMALL_CLIENTS)], SMALL_CLIENTS);
  }
  if (profiler) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(process.env.BENCH_CPU_PROFILE!, JSON.stringify(profile));
  }

  console.log(
    `\n${CLIENT_PROCS} client processes, ${REPEATS} × ${STEP_S} s per rate and server (alternating); load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
  );
  console.log(table(rows));
  const at = (rate: number, target: Target) =>
    results.find((r) => r.rate === rate && r.target === target && r.clients === CLIENTS);
  const sustained = (r: (typeof results)[number]) => r.delivered >= 0.99 * r.expected;
  const top = Math.max(...RATES);
  const ratio = (at(top, 'gateway')?.delivered ?? 0) / Math.max(1, at(top, 'bare')?.delivered ?? 0);
  const gw = results.filter((r) => r.target === 'gateway' && r.clients === CLIENTS);
  const headline = {
    p99_ms_at_2000: at(2000, 'gateway')?.p99 ?? null,
    ratio: Math.round(ratio * 1000) / 1000,
    max_rate_msgs_per_s: Math.max(0, ...gw.filter(sustained).map((r) => r.rate)),
    rss_mb: Math.max(...gw.map((r) => r.rssMb)),
  };
  writeResult('gateway', headline, {
    clients: CLIENTS,
    clientProcesses: CLIENT_PROCS,
    repeats: REPEATS,
    loadAverage: loadavg(),
    stepSeconds: STEP_S,
    ratioAt: top,
    ratioMeaning: 'gateway delivered msgs/s / bare broadcast delivered msgs/s at the top rate',
    steps: results,
  });

  await Promise.all([producer, ...clientProcs].map((p) => stopChild(p)));
  await bare.close();
  await runtime.stop();
  const cleanup = new KafkaConnection({ brokers: BROKERS.split(','), registryUrl: REGISTRY, topicPrefix: prefix });
  const a = await cleanup.admin();
  await a.deleteTopics((await a.listTopics()).filter((t) => t.startsWith(prefix)));
  await cleanup.close();
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
