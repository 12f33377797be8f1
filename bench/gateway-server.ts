/**
 * Child process of bench/gateway.ts: one server under test, alone in its process.
 *
 * - `gateway`: the real gateway (COMPONENTS=gateway), its topic on the allow-list, default frame
 *   settings;
 * - `bare-naive`: a plain `ws` WebSocketServer and a Kafka reader, one frame per record (the record
 *   serialised once into one Buffer, sent to every client), as a first version of a broadcast would;
 * - `bare-coalesced`: the same server, with the gateway's coalescing: records of a tick (same
 *   GATEWAY_FRAME_MS, GATEWAY_FRAME_BYTES) go out as one shared frame in the gateway's format.
 *
 * The bare servers have none of the gateway's per-client machinery: no subscriptions, filters,
 * replay, slow-client policy (a slow client's frames pile up in its socket buffer), auth or metrics.
 * Answers `{port}` on IPC once it listens.
 */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { startRuntime } from '../src/app/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { createGateway } from '../src/gateway/index.ts';
import { KafkaConnection } from '../src/kafka/index.ts';
import { freePort } from '../test/helpers/process.ts';

export type ServerKind = 'gateway' | 'bare-naive' | 'bare-coalesced';

const [kind, brokers, registryUrl, prefix, topic, clients] = process.argv.slice(2) as [
  ServerKind,
  string,
  string,
  string,
  string,
  string,
];

/** GATEWAY_FRAME_MS and GATEWAY_FRAME_BYTES if the bench run sets them (the defaults otherwise). */
function frameEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['GATEWAY_FRAME_MS', 'GATEWAY_FRAME_BYTES']) if (process.env[name]) env[name] = process.env[name]!;
  return env;
}

async function gateway(port: number): Promise<() => Promise<void>> {
  const config = loadConfig({
    KAFKA_BROKERS: brokers,
    SCHEMA_REGISTRY_URL: registryUrl,
    KAFKA_TOPIC_PREFIX: prefix,
    PORT: String(port),
    HOST: '127.0.0.1',
    COMPONENTS: 'gateway',
    LOG_LEVEL: 'warn',
    GATEWAY_TOPICS: topic,
    GATEWAY_MAX_CLIENTS: String(Number(clients) * 2),
    ...frameEnv(),
  });
  const runtime = await startRuntime(config, { gateway: createGateway });
  return () => runtime.stop();
}

async function bare(port: number, coalesce: boolean): Promise<() => Promise<void>> {
  // The gateway's settings, so the coalesced variant batches exactly as the gateway does.
  const { GATEWAY_FRAME_MS: tickMs, GATEWAY_FRAME_BYTES: maxBytes } = loadConfig(frameEnv());
  const server = createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const kafka = new KafkaConnection({ brokers: brokers.split(','), registryUrl, topicPrefix: prefix });
  const admin = await kafka.admin();
  const ranges = await admin.offsets(topic);
  let pending: string[] = [];
  let bytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    const frame = Buffer.from(
      `[{"type":"data","sub":"b","topic":${JSON.stringify(topic)},"records":[${pending.join(',')}]}]`,
    );
    pending = [];
    bytes = 0;
    for (const ws of wss.clients) ws.send(frame);
  };
  const reader = kafka.reader({
    topic,
    start: new Map(ranges.map((r) => [r.partition, r.high])),
    maxWaitTimeMs: 20,
    onBatch: (partition, records) => {
      for (const r of records) {
        // The record as the gateway sends it, by concatenation of the raw JSON value (no decoding).
        const json = `{"partition":${partition},"offset":"${r.offset}","timestamp":${r.timestamp},"key":${JSON.stringify(r.key?.toString() ?? null)},"value":${r.value!.toString()}}`;
        if (!coalesce) {
          const frame = Buffer.from(json);
          for (const ws of wss.clients) ws.send(frame);
          continue;
        }
        pending.push(json);
        bytes += json.length;
        if (bytes >= maxBytes) flush();
        else timer ??= setTimeout(flush, tickMs);
      }
    },
  });
  await reader.start();
  return async () => {
    await reader.stop();
    for (const ws of wss.clients) ws.terminate();
    await new Promise((r) => server.close(r));
    await kafka.close();
  };
}

/** BENCH_DEBUG=1: once a second, the event loop's delay, CPU and (gateway) frames and records sent. */
async function debug(): Promise<void> {
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const { metricsRegistry } = await import('../src/api/index.ts');
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  let cpu = process.cpuUsage();
  let last = { frames: 0, records: 0 };
  setInterval(async () => {
    const used = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    const metrics = await metricsRegistry.getMetricsAsJSON();
    const value = (name: string) =>
      (metrics.find((m) => m.name === name) as { values?: { value: number }[] } | undefined)?.values?.[0]?.value ?? 0;
    const now = {
      frames: value('automatrix_gateway_frames_sent_total'),
      records: value('automatrix_gateway_records_sent_total'),
    };
    console.error(
      `${kind}: loop p50 ${(loop.percentile(50) / 1e6).toFixed(0)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(0)} ms, cpu ${((used.user + used.system) / 1e4).toFixed(0)}%, frames ${now.frames - last.frames}/s, records ${now.records - last.records}/s`,
    );
    last = now;
    loop.reset();
  }, 1000).unref();
}

async function main(): Promise<void> {
  if (process.env.BENCH_DEBUG) await debug();
  const port = await freePort();
  const stop = kind === 'gateway' ? await gateway(port) : await bare(port, kind === 'bare-coalesced');
  process.on('message', (msg: { cmd: string }) => {
    if (msg.cmd === 'exit') void stop().finally(() => process.exit(0));
  });
  process.send!({ port });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
