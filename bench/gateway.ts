/**
 * `npm run bench:gateway`: 1,000 WebSocket clients on one topic, records produced at rising rates,
 * three servers side by side in one run:
 *
 * - gateway: the real gateway (bench/gateway-server.ts `gateway`);
 * - bare naive: a plain `ws` broadcast, one frame per record (`bare-naive`);
 * - bare coalesced: the same broadcast with the gateway's coalescing (`bare-coalesced`), so the
 *   gain of coalescing and the cost of the gateway's own machinery can be told apart.
 *
 * Every server, the client processes and the producer are separate processes. With 2+ cores the
 * servers are pinned to core 0 and the clients and producer to the others (taskset), so the load
 * generator cannot starve the server under test; BENCH_PIN=0 turns that off. Only one server is
 * fed at a time (each has its own topic); the others idle.
 *
 * Each step: connect the clients, produce at the rate for BENCH_STEP_S seconds, then wait for the
 * clients to stop receiving (at most BENCH_DRAIN_S). Reported per step: the real produced rate
 * (records over the producer's own window, first send to last ack), the share of records x clients
 * delivered, p50/p99 from the producer's timestamp to client receipt (every record at every
 * client), CPU and peak RSS of every process. A side sustains a rate with p99 <= 250 ms and
 * >= 99.9% delivered in one of BENCH_TRIES (2) tries (the best try is kept); it stops after two
 * failed rates in a row. Headline: the highest sustained rate of each side at 1,000 clients.
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { KafkaConnection } from '../src/kafka/index.ts';
import type { ServerKind } from './gateway-server.ts';
import { table, writeResult } from './lib/result.ts';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 1000);
const RATES = (process.env.BENCH_RATES ?? '10,25,50,100,200,400,700,1000,1400,2000,2800,4000,5600,8000,11000,16000')
  .split(',')
  .map(Number);
const STEP_S = Number(process.env.BENCH_STEP_S ?? 5);
const DRAIN_S = Number(process.env.BENCH_DRAIN_S ?? 10);
const CLIENT_PROCS = Number(process.env.BENCH_CLIENT_PROCS ?? 2);
const PIN = process.env.BENCH_PIN !== '0' && cpus().length >= 2;
const P99_LIMIT_MS = 250;
/** Tries per side and rate: noise on a shared machine only ever makes a step worse, so a rate counts as sustained if one try meets the criterion. */
const TRIES = Number(process.env.BENCH_TRIES ?? 2);
const DELIVERED_MIN = 0.999;
const BROKERS = process.env.KAFKA_BROKERS || 'localhost:9092';
const REGISTRY = process.env.SCHEMA_REGISTRY_URL || 'http://localhost:8081/apis/ccompat/v7';
const SIDES = (process.env.BENCH_SIDES ?? 'gateway,bare-naive,bare-coalesced').split(',') as ServerKind[];
/** e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`: Node options of the server processes only. */
const SERVER_NODE_OPTIONS = process.env.BENCH_SERVER_NODE_OPTIONS?.split(' ').filter(Boolean) ?? [];

let nextId = 1;
/** One request to a child and its answer (matched by id: children answer out of order). */
function ask<T = Record<string, unknown>>(proc: ChildProcess, msg: Record<string, unknown>): Promise<T> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const onMessage = (reply: { id?: number }) => {
      if (reply.id !== id) return;
      proc.off('message', onMessage);
      proc.off('exit', onExit);
      resolve(reply as T);
    };
    const onExit = (code: number | null) => reject(new Error(`child exited (${code}) before answering ${msg.cmd}`));
    proc.on('message', onMessage);
    proc.once('exit', onExit);
    proc.send({ ...msg, id });
  });
}

function child(file: string, args: string[], cores: string | undefined, execArgv: string[] = []): ChildProcess {
  const proc = fork(new URL(file, import.meta.url).pathname, args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [...process.execArgv, ...execArgv],
  });
  if (cores && proc.pid) execFileSync('taskset', ['-a', '-cp', cores, String(proc.pid)], { stdio: 'ignore' });
  return proc;
}

function stopChild(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve();
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.send({ cmd: 'exit' });
  });
}

/** RSS (MB) and CPU seconds so far of a process, from /proc. */
function usage(pid: number): { rssMb: number; cpuS: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { rssMb: rssKb / 1024, cpuS: ticks / 100 };
  } catch {
    return { rssMb: 0, cpuS: 0 };
  }
}

/** The better of two tries: sustained first, then more delivered, then the lower p99. */
function better(a: StepResult, b: StepResult): boolean {
  if (a.sustained !== b.sustained) return a.sustained;
  if (a.delivered !== b.delivered) return a.delivered > b.delivered;
  return a.p99 < b.p99;
}

/** Percentile from sparse [ms, count] pairs. */
function percentileOf(hist: Map<number, number>, p: number): number {
  const total = [...hist.values()].reduce((a, b) => a + b, 0);
  if (!total) return Number.NaN;
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (const ms of [...hist.keys()].sort((a, b) => a - b)) {
    seen += hist.get(ms)!;
    if (seen >= rank) return ms;
  }
  return Number.NaN;
}

interface StepResult {
  side: ServerKind;
  rate: number;
  producedRate: number;
  delivered: number;
  /** Frames with records, per client per second of the producer's window. */
  framesPerClientS: number;
  p50: number;
  p99: number;
  sustained: boolean;
  serverCpu: number;
  clientCpu: number;
  serverRssMb: number;
}

async function main(): Promise<void> {
  const prefix = `bench-gw-${randomBytes(3).toString('hex')}.`;
  const kafka = new KafkaConnection({ brokers: BROKERS.split(','), registryUrl: REGISTRY, topicPrefix: prefix });
  const admin = await kafka.admin();
  const topics = Object.fromEntries(SIDES.map((s) => [s, `${prefix}bench.${s}`])) as Record<ServerKind, string>;
  for (const t of Object.values(topics)) await admin.createTopic(t, 6);
  for (const t of Object.values(topics)) await admin.offsets(t);

  const cores = { servers: PIN ? '0' : undefined, load: PIN ? `1-${cpus().length - 1}` : undefined };
  console.log(
    `bench:gateway: ${CLIENTS} clients in ${CLIENT_PROCS} processes; ${PIN ? `servers pinned to core ${cores.servers}, clients and producer to ${cores.load}` : 'no pinning'}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const servers = {} as Record<ServerKind, { proc: ChildProcess; url: string }>;
  for (const side of SIDES) {
    const proc = child(
      './gateway-server.ts',
      [side, BROKERS, REGISTRY, prefix, topics[side], String(CLIENTS)],
      cores.servers,
      SERVER_NODE_OPTIONS,
    );
    const { port } = await new Promise<{ port: number }>((resolve, reject) => {
      proc.once('message', (m) => resolve(m as { port: number }));
      proc.once('exit', (code) => reject(new Error(`${side} server exited (${code})`)));
    });
    servers[side] = { proc, url: side === 'gateway' ? `ws://127.0.0.1:${port}/api/v2/ws` : `ws://127.0.0.1:${port}/` };
  }
  const clientProcs = Array.from({ length: CLIENT_PROCS }, () => child('./gateway-clients.ts', [], cores.load));
  const producer = child('./gateway-producer.ts', [BROKERS, REGISTRY, prefix], cores.load);
  await ask(producer, { cmd: 'ready' });
  const share = (count: number, i: number) => Math.floor(count / CLIENT_PROCS) + (i < count % CLIENT_PROCS ? 1 : 0);
  const clients = {
    connect: (side: ServerKind, count: number) =>
      Promise.all(
        clientProcs.map((p, i) =>
          ask(p, {
            cmd: 'connect',
            url: servers[side].url,
            count: share(count, i),
            topic: side === 'gateway' ? topics[side] : undefined,
          }),
        ),
      ),
    received: async (step: number) =>
      (await Promise.all(clientProcs.map((p) => ask<{ count: number }>(p, { cmd: 'progress', step })))).reduce(
        (n, r) => n + r.count,
        0,
      ),
    collect: async (step: number) => {
      const parts = await Promise.all(
        clientProcs.map((p) =>
          ask<{ count: number; frames: number; histogram: [number, number][] }>(p, { cmd: 'collect', step }),
        ),
      );
      const hist = new Map<number, number>();
      for (const part of parts) for (const [ms, n] of part.histogram) hist.set(ms, (hist.get(ms) ?? 0) + n);
      return {
        count: parts.reduce((n, p) => n + p.count, 0),
        frames: parts.reduce((n, p) => n + p.frames, 0),
        hist,
      };
    },
    disconnect: () => Promise.all(clientProcs.map((p) => ask(p, { cmd: 'disconnect' }))),
  };
  const peakRss = new Map<string, number>();
  const pids = (): [string, number][] => [
    ...SIDES.map((s): [string, number] => [s, servers[s].proc.pid!]),
    ...clientProcs.map((p, i): [string, number] => [`clients-${i + 1}`, p.pid!]),
    ['producer', producer.pid!],
  ];

  let stepNo = 0;
  const runStep = async (side: ServerKind, rate: number, seconds = STEP_S) => {
    const step = ++stepNo;
    await clients.connect(side, CLIENTS);
    await new Promise((r) => setTimeout(r, 1000));
    const before = new Map(pids().map(([name, pid]) => [name, usage(pid)]));
    const stepRss = new Map<string, number>();
    const sample = () => {
      for (const [name, pid] of pids()) {
        const rss = usage(pid).rssMb;
        stepRss.set(name, Math.max(stepRss.get(name) ?? 0, rss));
        peakRss.set(name, Math.max(peakRss.get(name) ?? 0, rss));
      }
    };
    const sampler = setInterval(sample, 250);
    const { sent, windowMs } = await ask<{ sent: number; windowMs: number }>(producer, {
      cmd: 'produce',
      topic: topics[side],
      rate,
      seconds,
      step,
    });
    const cpuWindow = windowMs / 1000;
    const after = new Map(pids().map(([name, pid]) => [name, usage(pid)]));
    // Drain: until every record reached every client, or nothing arrived for 2 s, or DRAIN_S.
    const expected = sent * CLIENTS;
    const drainEnd = Date.now() + DRAIN_S * 1000;
    let last = -1;
    let still = Date.now();
    for (;;) {
      const got = await clients.received(step);
      if (got >= expected || Date.now() > drainEnd) break;
      if (got !== last) {
        last = got;
        still = Date.now();
      } else if (Date.now() - still > 2000) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    clearInterval(sampler);
    sample();
    const got = await clients.collect(step);
    await clients.disconnect();
    await new Promise((r) => setTimeout(r, 500));
    const cpu = (name: string) => (after.get(name)!.cpuS - before.get(name)!.cpuS) / cpuWindow;
    const clientCpu = clientProcs.reduce((n, _, i) => n + cpu(`clients-${i + 1}`), 0);
    const delivered = got.count / expected;
    const p50 = percentileOf(got.hist, 50);
    const p99 = percentileOf(got.hist, 99);
    return {
      side,
      rate,
      producedRate: sent / cpuWindow,
      delivered,
      framesPerClientS: got.frames / CLIENTS / cpuWindow,
      p50,
      p99,
      sustained: delivered >= DELIVERED_MIN && p99 <= P99_LIMIT_MS,
      serverCpu: cpu(side),
      clientCpu,
      serverRssMb: Math.round(stepRss.get(side) ?? 0),
    } satisfies StepResult;
  };

  // Warm-up, not recorded: the gateway's reader of its topic starts with its first subscriber.
  for (const side of SIDES) await runStep(side, 100, 2);
  peakRss.clear();

  const results: StepResult[] = [];
  const failures = new Map<ServerKind, number>(SIDES.map((s) => [s, 0]));
  const tries: StepResult[] = [];
  for (const [i, rate] of RATES.entries()) {
    let pending = SIDES.filter((s) => failures.get(s)! < 2);
    if (!pending.length) break;
    const best = new Map<ServerKind, StepResult>();
    for (let t = 0; t < TRIES && pending.length; t++) {
      // Rotate who goes first, so no side always meets the machine in the same state.
      const order = pending.map((_, j) => pending[(i + t + j) % pending.length]!);
      for (const side of order) {
        const r = await runStep(side, rate);
        tries.push(r);
        console.log(
          `${side.padEnd(14)} ${String(rate).padStart(6)} msgs/s: produced ${r.producedRate.toFixed(0)}/s, delivered ${(100 * r.delivered).toFixed(2)}%, ${r.framesPerClientS.toFixed(0)} frames/client/s, p50 ${r.p50} ms, p99 ${r.p99} ms, server CPU ${(100 * r.serverCpu).toFixed(0)}%, clients CPU ${(100 * r.clientCpu).toFixed(0)}% ${r.sustained ? 'ok' : 'NOT sustained'}`,
        );
        const seen = best.get(side);
        if (!seen || better(r, seen)) best.set(side, r);
      }
      // A side that met the criterion needs no other try at this rate.
      pending = pending.filter((s) => !best.get(s)!.sustained);
    }
    for (const [side, r] of best) {
      results.push(r);
      failures.set(side, r.sustained ? 0 : failures.get(side)! + 1);
    }
  }
  const load = loadavg();

  const rows = RATES.filter((rate) => results.some((r) => r.rate === rate)).map((rate) => {
    const row: Record<string, string | number> = { 'rate msgs/s': rate };
    for (const side of SIDES) {
      const r = results.find((x) => x.rate === rate && x.side === side);
      const tag = side === 'gateway' ? 'gw' : side === 'bare-naive' ? 'naive' : 'coal';
      row[`${tag} produced/s`] = r ? Math.round(r.producedRate) : '-';
      row[`${tag} delivered %`] = r ? (100 * r.delivered).toFixed(2) : '-';
      row[`${tag} p50`] = r ? r.p50 : '-';
      row[`${tag} p99`] = r ? `${r.p99}${r.sustained ? '' : '*'}` : '-';
    }
    return row;
  });
  const maxRate = (side: ServerKind) =>
    Math.max(0, ...results.filter((r) => r.side === side && r.sustained).map((r) => Math.round(r.producedRate)));
  const gw = maxRate('gateway');
  const naive = maxRate('bare-naive');
  const coalesced = maxRate('bare-coalesced');
  console.log(`\n${table(rows)}\n(* not sustained: p99 > ${P99_LIMIT_MS} ms or < ${DELIVERED_MIN * 100}% delivered)\n`);
  console.log(
    `highest sustained rate at ${CLIENTS} clients: gateway ${gw}, bare naive ${naive}, bare coalesced ${coalesced} msgs/s; gateway / bare naive = ${(gw / Math.max(1, naive)).toFixed(1)}x`,
  );
  console.log(
    `peak RSS (MB): ${[...peakRss]
      .map(([name, mb]) => `${name} ${mb.toFixed(0)}`)
      .join(', ')}; load average at the end ${load.map((l) => l.toFixed(2)).join(' ')}`,
  );

  writeResult(
    'gateway',
    {
      clients: CLIENTS,
      gateway_max_rate: gw,
      bare_max_rate: naive,
      bare_coalesced_max_rate: coalesced,
      ratio: Math.round((gw / Math.max(1, naive)) * 10) / 10,
      rss_mb_gateway: Math.round(peakRss.get('gateway') ?? 0),
    },
    {
      criterion: `p99 <= ${P99_LIMIT_MS} ms and >= ${DELIVERED_MIN * 100}% of records x clients delivered; rates are records produced / the producer's real window`,
      clientProcesses: CLIENT_PROCS,
      pinned: PIN ? cores : false,
      stepSeconds: STEP_S,
      tries: TRIES,
      loadAverageEnd: load,
      peakRssMb: Object.fromEntries([...peakRss].map(([k, v]) => [k, Math.round(v)])),
      steps: results,
      everyTry: tries,
    },
  );

  await Promise.all([producer, ...clientProcs, ...SIDES.map((s) => servers[s].proc)].map((p) => stopChild(p)));
  // The gateway's runtime created the declared topics under the prefix too.
  await admin.deleteTopics((await admin.listTopics()).filter((t) => t.startsWith(prefix)));
  await kafka.close();
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
