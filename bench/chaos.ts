/**
 * `npm run chaos [-- --only crash,broker,registry,rebalance] [--messages 100000] [--stack private|shared]`
 *
 * Faults against real processes on a real broker, each run counting every message:
 *
 * - crash: a RelayCore process (bench/lib/app-runner.ts, COMPONENTS=relay) delivers `--messages`
 *   messages (default 100,000; some name a route that does not exist and some values are garbage,
 *   so both fates are exercised) to two local HTTP endpoints; it is SIGKILLed twice mid-run and
 *   restarted. Every message must be delivered or dead-lettered; duplicates are counted and compared
 *   with their bound, kills x RELAY_MAX_UNCOMMITTED.
 * - broker: the whole app under a steady load while the stack's broker is stopped and started
 *   again (`stackDown(.., 'kafka')` / `stackUp`, what `automatrix stack down kafka` / `stack up`
 *   run): /health must go degraded, then healthy by itself; every acknowledged message delivered.
 * - registry: the registry is stopped under load: values with schemas the app has seen keep
 *   flowing (relay and detection); a value naming a schema it has not seen waits, and a new
 *   registration fails with a clear error; after the registry is back, everything is delivered
 *   without a restart.
 * - rebalance: two RelayCore processes in one consumer group; one is SIGKILLed; the other takes
 *   its partitions (after the session timeout); nothing is lost.
 * - outage: every endpoint of a route goes down (one answers 503, the other resets connections) for
 *   `--outage-s` seconds (default 60) under `--rate` messages/s (default 200): the route must pause and
 *   wait, not dead-letter; once the endpoints are back every message must be delivered.
 *
 * The broker and registry runs stop and start a stack: by default a private one on free ports
 * (`--stack private`; other processes share the project's stack, and CONTRIBUTING.md forbids
 * stopping it under them), or the project's own with `--stack shared` (STACK_DIR must name the
 * folder it was started from; it is always started again). crash and rebalance use the shared broker.
 *
 * Prints a table per run and ends with `RESULT {"lost","duplicates","dead_lettered",...}` summed
 * over the runs, written to bench/results/chaos.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import avsc from 'avsc';
import type { DeadLetter } from '../schemas/types.ts';
import { loadConfig } from '../src/config/index.ts';
import { KafkaConnection, RegistryUnavailableError, replayWindow, type TypedProducer } from '../src/kafka/index.ts';
import { logger } from '../src/log/index.ts';
import {
  type StackSettings,
  stackDown,
  stackEndpoints,
  stackSettings,
  stackStatus,
  stackUp,
} from '../src/stack/index.ts';
import { type AppProcess, freePort, startApp } from './lib/app-process.ts';
import { broker } from './lib/relay-run.ts';
import { table, writeResult } from './lib/result.ts';
import { duplicates, type Sink, startSink } from './lib/sink.ts';

const T0 = Date.now();
const log = (line: string) => console.log(`[${String(Math.round((Date.now() - T0) / 1000)).padStart(4)} s] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const SCENARIOS = ['crash', 'broker', 'registry', 'rebalance', 'outage'] as const;
type Scenario = (typeof SCENARIOS)[number];
const ONLY = (arg('only')?.split(',') ?? [...SCENARIOS]) as Scenario[];
for (const s of ONLY)
  if (!SCENARIOS.includes(s)) throw new Error(`--only: unknown scenario ${s} (${SCENARIOS.join(', ')})`);
const MESSAGES = Number(arg('messages') ?? 100_000);
if (!Number.isSafeInteger(MESSAGES) || MESSAGES < 1000) throw new Error('--messages must be an integer >= 1000');
const STACK = arg('stack') ?? 'private';
if (STACK !== 'private' && STACK !== 'shared') throw new Error('--stack must be private or shared');
/** RELAY_MAX_UNCOMMITTED of every RelayCore process here: the duplicates one crash may cause. */
const WINDOW = Number(arg('window') ?? 1024);
const OUTAGE_S = Number(arg('outage-s') ?? 60);
const OUTAGE_RATE = Number(arg('rate') ?? 200);
if (!(OUTAGE_S > 0) || !(OUTAGE_RATE >= 10 && OUTAGE_RATE % 10 === 0))
  throw new Error('--outage-s must be > 0 and --rate a multiple of 10');

interface Endpoints {
  brokers: string[];
  registryUrl: string;
}

interface Run {
  scenario: Scenario;
  /** Messages that had to arrive (acknowledged by the broker). */
  messages: number;
  delivered: number;
  dead_lettered: number;
  lost: number;
  duplicates: number;
  /** Upper bound of the duplicates, when the scenario has one. */
  duplicate_bound?: number;
  [figure: string]: string | number | boolean | undefined;
}

/** A fresh topic prefix on a broker, with every declared topic created and the schemas we produce registered. */
async function space(label: string, ep: Endpoints) {
  const prefix = `chaos-${label}-${randomBytes(3).toString('hex')}.`;
  const kafka = new KafkaConnection({ ...ep, topicPrefix: prefix, clientId: 'automatrix-chaos', log: logger('chaos') });
  const admin = await kafka.admin();
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.ensureTopics();
      break;
    } catch (err) {
      if (attempt >= 5) throw err;
      await sleep(1000 * attempt);
    }
  }
  await kafka.serde.registerAll(['messages.normal', 'metrics.samples', 'deadletter']);
  const dir = mkdtempSync(join(tmpdir(), `am-chaos-${label}-`));
  return {
    prefix,
    kafka,
    dir,
    /** Environment of an app process on this prefix. */
    env(sinks: Sink[], extra: Record<string, string> = {}): Record<string, string> {
      const routesFile = join(dir, 'routes.json');
      writeFileSync(
        routesFile,
        JSON.stringify({
          routes: [
            {
              name: 'default',
              policy: 'p2c-peak-ewma',
              endpoints: sinks.map((s, i) => ({ id: `sink${i}`, kind: 'HTTP', target: s.url, timeoutMs: 5000 })),
            },
          ],
        }),
      );
      return {
        KAFKA_BROKERS: ep.brokers.join(','),
        SCHEMA_REGISTRY_URL: ep.registryUrl,
        KAFKA_TOPIC_PREFIX: prefix,
        ROUTES_FILE: routesFile,
        RELAY_GROUP_ID: `${prefix}relay`,
        RELAY_MAX_UNCOMMITTED: String(WINDOW),
        RELAY_RETRY_BACKOFF_MS: '20',
        MODEL_SAVE_PATH: join(dir, 'models'),
        COMPONENTS: 'relay',
        LOG_LEVEL: 'error',
        ...extra,
      };
    },
    /** Every dead letter so far. */
    async deadLetters(): Promise<DeadLetter[]> {
      const out: DeadLetter[] = [];
      await replayWindow(kafka, {
        topic: kafka.catalog.name('deadletter'),
        onRecords: async (records) => {
          for (const r of records) out.push((await kafka.serde.decode('deadletter', r.value)).value as DeadLetter);
        },
      });
      return out;
    },
    async close(): Promise<void> {
      await admin.deleteTopics((await admin.listTopics()).filter((t) => t.startsWith(prefix))).catch(() => undefined);
      await kafka.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Local HTTP endpoints that answer 2xx after `delayMs`, and the set of ids they were sent (kept
 * incrementally: progress checks must stay cheap, as the endpoints answer from this event loop).
 * The final accounting reads the endpoints' own counts.
 */
async function endpoints(n: number, delayMs: number): Promise<{ sinks: Sink[]; seen: Set<string> }> {
  const seen = new Set<string>();
  const sinks: Sink[] = [];
  for (let i = 0; i < n; i++)
    sinks.push(
      await startSink((id) => {
        seen.add(id);
        return { status: 200, delayMs };
      }),
    );
  return { sinks, seen };
}

const message = (id: string, route: string | null = null) => ({ id, route, payload: JSON.stringify({ id }) });

/** Counts what a run's messages became: delivered (2xx at a sink), dead-lettered, neither (lost). */
function account(ids: string[], sinks: Sink[], letters: DeadLetter[], garbage: string[] = []) {
  const { unique, duplicates: dupDelivered } = duplicates(sinks);
  const bySource = new Map<string, number>();
  for (const l of letters)
    bySource.set(
      `${l.sourceTopic}/${l.sourcePartition}/${l.sourceOffset}`,
      (bySource.get(`${l.sourceTopic}/${l.sourcePartition}/${l.sourceOffset}`) ?? 0) + 1,
    );
  const dupLetters = [...bySource.values()].reduce((n, c) => n + c - 1, 0);
  const deadIds = new Set(letters.flatMap((l) => (l.messageId ? [l.messageId] : [])));
  const deadGarbage = new Set(letters.filter((l) => l.reason === 'decode_error').map((l) => l.value?.toString() ?? ''));
  const lostIds = ids.filter((id) => !unique.has(id) && !deadIds.has(id));
  const lostGarbage = garbage.filter((g) => !deadGarbage.has(g));
  return {
    delivered: ids.filter((id) => unique.has(id)).length,
    deadLettered: bySource.size,
    lost: lostIds.length + lostGarbage.length,
    lostSample: [...lostIds, ...lostGarbage].slice(0, 5),
    duplicates: dupDelivered + dupLetters,
    /** Distinct dead-lettered records per reason. */
    /** One error text per reason. */
    examples: Object.fromEntries(letters.map((l) => [l.reason, l.error.slice(0, 200)])),
    reasons: Object.fromEntries(
      [...new Set(letters.map((l) => l.reason))].map((r) => [
        r,
        new Set(letters.filter((l) => l.reason === r).map((l) => `${l.sourcePartition}/${l.sourceOffset}`)).size,
      ]),
    ),
  };
}

/** Polls `check`; with `status`, prints it every 5 s meanwhile. */
async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  every = 100,
  status?: () => string,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let lastPrint = Date.now();
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    if (status && Date.now() - lastPrint >= 5000) {
      lastPrint = Date.now();
      log(status());
    }
    await sleep(every);
  }
  return true;
}

/** Waits for `done`, printing `status()` every 5 s; gives up after `idleMs` without progress. */
async function progress(
  label: string,
  done: () => boolean,
  status: () => string,
  measure: () => number,
  idleMs = 120_000,
): Promise<boolean> {
  let last = measure();
  let lastChange = Date.now();
  let lastPrint = Date.now();
  while (!done()) {
    await sleep(100);
    const now = measure();
    if (now !== last) {
      last = now;
      lastChange = Date.now();
    }
    if (Date.now() - lastPrint >= 5000) {
      lastPrint = Date.now();
      log(`${label}: ${status()}`);
    }
    if (Date.now() - lastChange > idleMs) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// crash

async function crash(ep: Endpoints): Promise<Run> {
  const s = await space('crash', ep);
  const { sinks, seen } = await endpoints(2, 1);
  const env = s.env(sinks, { RELAY_MAX_INFLIGHT: '256' });
  const apps: AppProcess[] = [];
  try {
    apps.push(await startApp(env));
    const producer = await s.kafka.producer();
    const ids = Array.from({ length: MESSAGES }, (_, i) => `c-${i}`);
    // One message in 200 names a route that does not exist: dead-lettered (unknown_route).
    const unrouted = new Set(ids.filter((_, i) => i % 200 === 199));
    const garbage: string[] = [];
    const topic = s.kafka.catalog.name('messages.normal');
    const producing = (async () => {
      for (let i = 0; i < MESSAGES; i += 2000) {
        const batch = ids.slice(i, i + 2000);
        await producer.send(
          'messages.normal',
          batch.map((id, j) => ({ key: `k${(i + j) % 500}`, value: message(id, unrouted.has(id) ? 'nowhere' : null) })),
        );
        const g = `garbage-${i}`;
        garbage.push(g);
        await producer.sendRaw(topic, [{ key: `k${i % 500}`, value: Buffer.from(g) }]);
      }
    })();
    const deliverable = MESSAGES - unrouted.size;
    const handled = () => seen.size;
    const downtimes: number[] = [];
    for (const share of [0.3, 0.65]) {
      if (
        !(await waitFor(
          () => handled() >= deliverable * share,
          300_000,
          20,
          () => `crash: ${handled()}/${deliverable} delivered`,
        ))
      )
        throw new Error(`crash: stuck at ${handled()} delivered`);
      const at = handled();
      await apps.at(-1)!.kill();
      const killedAt = Date.now();
      log(`crash: SIGKILL at ${at} delivered (${Math.round((at / deliverable) * 100)}%); restarting`);
      apps.push(await startApp(env));
      downtimes.push(Date.now() - killedAt);
    }
    await producing;
    await progress(
      'crash',
      () => handled() >= deliverable,
      () => `${handled()}/${deliverable} delivered`,
      handled,
    );
    // The dead letters (unrouted ids and garbage) are written by the same process: wait for them too.
    let letters: DeadLetter[] = [];
    await waitFor(
      async () => {
        letters = await s.deadLetters();
        return (
          new Set(letters.map((l) => `${l.sourcePartition}/${l.sourceOffset}`)).size >= unrouted.size + garbage.length
        );
      },
      60_000,
      1000,
    );
    const a = account(ids, sinks, letters, garbage);
    return {
      scenario: 'crash',
      messages: ids.length + garbage.length,
      delivered: a.delivered,
      dead_lettered: a.deadLettered,
      lost: a.lost,
      duplicates: a.duplicates,
      duplicate_bound: downtimes.length * WINDOW,
      kills: downtimes.length,
      restart_ready_s: Math.max(...downtimes) / 1000,
      dead_letter_reasons: JSON.stringify(a.reasons),
      ...(a.lost ? { lost_sample: a.lostSample.join(' ') } : {}),
    };
  } finally {
    for (const app of apps) await app.kill();
    await Promise.all(sinks.map((x) => x.close()));
    await s.close();
  }
}

// ---------------------------------------------------------------------------------------------
// outage

async function outage(ep: Endpoints): Promise<Run> {
  const s = await space('outage', ep);
  const { sinks, seen } = await endpoints(2, 2);
  // RELAY_NO_ENDPOINT_MAX_WAIT_MS is left at its default (5 min): longer than the outage.
  const app = await startApp(s.env(sinks, { RELAY_MAX_INFLIGHT: '256' }));
  const health = watchHealth(app);
  const producer = await s.kafka.producer();
  const events: { kind: string; at: number }[] = [];
  const load = steadyLoad(producer, 'o', OUTAGE_RATE);
  let maxUncommitted = 0;
  let pausedSeen = 0;
  let relayDetail = '';
  const sampler = setInterval(() => {
    void (async () => {
      const res = await fetch(`${app.base}/api/v2/relaycore/status`, { signal: AbortSignal.timeout(5000) }).catch(
        () => undefined,
      );
      const body = (await res?.json().catch(() => undefined)) as
        | { uncommitted: { inUse: number; pausedPartitions: unknown[] } }
        | undefined;
      if (!body) return;
      maxUncommitted = Math.max(maxUncommitted, body.uncommitted.inUse);
      pausedSeen = Math.max(pausedSeen, body.uncommitted.pausedPartitions.length);
      const h = (await (await fetch(`${app.base}/health`).catch(() => undefined))?.json().catch(() => undefined)) as
        | { components?: { relay?: { detail?: string } } }
        | undefined;
      if (h?.components?.relay?.detail?.includes('paused')) relayDetail = h.components.relay.detail;
    })();
  }, 1000);
  try {
    await sleep(10_000);
    const downAt = Date.now();
    sinks[0]!.set(() => ({ status: 503 }));
    sinks[1]!.set(() => 'reset');
    log(`outage: every endpoint down for ${OUTAGE_S} s under ${OUTAGE_RATE} msgs/s (${seen.size} delivered so far)`);
    await waitFor(
      () => Date.now() - downAt >= OUTAGE_S * 1000,
      OUTAGE_S * 1000 + 5000,
      250,
      () =>
        `outage: down ${Math.round((Date.now() - downAt) / 1000)} s, ${seen.size} delivered, ${load.acked.length} produced`,
    );
    for (const sink of sinks)
      sink.set((id) => {
        seen.add(id);
        return { status: 200, delayMs: 2 };
      });
    const upAt = Date.now();
    const producedDuringOutage = load.acked.length;
    log(`outage: endpoints back after ${Math.round((upAt - downAt) / 1000)} s`);
    await sleep(10_000);
    await load.stop();
    const ids = [...load.acked];
    const allDelivered = await progress(
      'outage',
      () => ids.every((id) => seen.has(id)),
      () => `${ids.filter((id) => seen.has(id)).length}/${ids.length} delivered`,
      () => seen.size,
    );
    const drainedAt = Date.now();
    // The route's events, from the app's ecosystem.events.
    await replayWindow(s.kafka, {
      topic: s.kafka.catalog.name('ecosystem.events'),
      onRecords: async (records) => {
        for (const r of records) {
          const e = (await s.kafka.serde.decode('ecosystem.events', r.value)).value as { kind: string; at: number };
          if (e.kind === 'route_paused' || e.kind === 'route_resumed') events.push({ kind: e.kind, at: e.at });
        }
      },
    });
    const letters = await s.deadLetters();
    const a = account(ids, sinks, letters);
    const firstPause = events.find((e) => e.kind === 'route_paused');
    const lastResume = events.filter((e) => e.kind === 'route_resumed').at(-1);
    return {
      scenario: 'outage',
      messages: ids.length,
      delivered: a.delivered,
      dead_lettered: a.deadLettered,
      lost: a.lost,
      duplicates: a.duplicates,
      outage_s: OUTAGE_S,
      rate_per_s: OUTAGE_RATE,
      produced_before_recovery: producedDuringOutage,
      all_delivered: allDelivered,
      route_paused_after_s: firstPause ? (firstPause.at - downAt) / 1000 : 'never',
      route_resumed_after_recovery_s: lastResume ? (lastResume.at - upAt) / 1000 : 'never',
      paused_resumed_events: events.map((e) => e.kind.replace('route_', '')).join('→'),
      drained_after_recovery_s: (drainedAt - upAt) / 1000,
      max_uncommitted: maxUncommitted,
      max_paused_partitions: pausedSeen,
      health: health.sequence(),
      health_detail: relayDetail.slice(0, 160),
      dead_letter_reasons: JSON.stringify(a.reasons),
      ...(a.lost ? { lost_sample: a.lostSample.join(' ') } : {}),
    };
  } finally {
    clearInterval(sampler);
    await load.stop();
    await health.stop();
    await app.kill();
    await Promise.all(sinks.map((x) => x.close()));
    await s.close();
  }
}

// ---------------------------------------------------------------------------------------------
// rebalance

async function rebalance(ep: Endpoints): Promise<Run> {
  const s = await space('rebalance', ep);
  const { sinks, seen } = await endpoints(1, 1);
  const env = s.env(sinks, { RELAY_MAX_INFLIGHT: '128' });
  const apps: AppProcess[] = [];
  const total = Math.min(MESSAGES, 30_000);
  const rate = 1000;
  try {
    apps.push(await startApp(env), await startApp(env));
    const producer = await s.kafka.producer();
    const ids = Array.from({ length: total }, (_, i) => `r-${i}`);
    const started = Date.now();
    const producing = (async () => {
      for (let i = 0; i < total; i += rate / 10) {
        const due = started + (i / rate) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
        await producer.send(
          'messages.normal',
          ids.slice(i, i + rate / 10).map((id, j) => ({ key: `k${(i + j) % 600}`, value: message(id) })),
        );
      }
    })();
    const status = async (app: AppProcess) => {
      const res = await fetch(`${app.base}/api/v2/relaycore/status`, { signal: AbortSignal.timeout(5000) }).catch(
        () => undefined,
      );
      return res?.ok ? ((await res.json()) as { counters: { consumed: number } }).counters.consumed : -1;
    };
    const handled = () => seen.size;
    // Both members consume before one dies.
    let consumed = [0, 0];
    await waitFor(
      async () => {
        consumed = await Promise.all(apps.map(status));
        return consumed.every((c) => c > 0) && handled() >= total * 0.25;
      },
      120_000,
      250,
      () => `rebalance: ${handled()}/${total} delivered`,
    );
    const admin = await s.kafka.admin();
    const group = `${s.prefix}relay.normal`;
    const topic = s.kafka.catalog.name('messages.normal');
    const atKill = new Map((await admin.lag(group, [topic])).map((p) => [p.partition, p.committed]));
    await apps[1]!.kill();
    const killedAt = Date.now();
    log(
      `rebalance: SIGKILL of the second member (it had consumed ${consumed[1]}, the first ${consumed[0]}); ${handled()}/${total} delivered`,
    );
    // For each partition, when its committed offset first moves after the kill: the dead member's
    // partitions move again only once the survivor has taken them (session timeout + rebalance).
    const resumed = new Map<number, number>();
    const watching = (async () => {
      while (resumed.size < atKill.size && Date.now() - killedAt < 180_000) {
        for (const p of await admin.lag(group, [topic]).catch(() => []))
          if (!resumed.has(p.partition) && p.committed !== atKill.get(p.partition))
            resumed.set(p.partition, Date.now() - killedAt);
        await sleep(250);
      }
    })();
    await producing;
    await progress(
      'rebalance',
      () => handled() >= total,
      () => `${handled()}/${total} delivered`,
      handled,
    );
    await watching;
    const afterKill = await status(apps[0]!);
    const a = account(ids, sinks, await s.deadLetters());
    const gaps = [...resumed.values()].sort((x, y) => x - y);
    return {
      scenario: 'rebalance',
      messages: total,
      delivered: a.delivered,
      dead_lettered: a.deadLettered,
      lost: a.lost,
      duplicates: a.duplicates,
      duplicate_bound: WINDOW,
      survivor_consumed_before: consumed[0]!,
      survivor_consumed_total: afterKill,
      partitions_resumed: `${resumed.size}/${atKill.size}`,
      takeover_s: gaps.length ? gaps.at(-1)! / 1000 : Number.NaN,
    };
  } finally {
    for (const app of apps) await app.kill();
    await Promise.all(sinks.map((x) => x.close()));
    await s.close();
  }
}

// ---------------------------------------------------------------------------------------------
// the stack that broker and registry runs stop and start

interface Stack {
  settings: StackSettings;
  endpoints: Endpoints;
  dispose(): Promise<void>;
}

async function theStack(): Promise<Stack> {
  const config = loadConfig();
  const shared = stackSettings(config);
  if (STACK === 'shared') {
    const status = await stackStatus(shared);
    if (!status.every((x) => x.pid && x.healthy))
      throw new Error(
        `--stack shared: no healthy stack started from ${shared.dir} (set STACK_DIR to the folder the running stack was started from)`,
      );
    return {
      settings: shared,
      endpoints: stackEndpoints(shared),
      dispose: async () => void (await stackUp(shared, (l) => log(`stack: ${l}`))),
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'am-chaos-stack-'));
  const settings: StackSettings = {
    dir,
    artifactsDir: resolve(config.STACK_DIR, 'artifacts'),
    kafkaPort: await freePort(),
    controllerPort: await freePort(),
    registryPort: await freePort(),
  };
  log(
    `starting a private stack in ${dir} (broker localhost:${settings.kafkaPort}, registry localhost:${settings.registryPort})`,
  );
  const endpoints = await stackUp(settings, (l) => log(`stack: ${l}`));
  return {
    settings,
    endpoints,
    async dispose() {
      await stackDown(settings, () => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface HealthPoint {
  at: number;
  status: string;
  broker?: boolean;
  registry?: boolean;
  components?: Record<string, string>;
}

/** Polls /health every 250 ms and keeps the transitions. */
function watchHealth(app: AppProcess) {
  const points: HealthPoint[] = [];
  let last: HealthPoint | undefined;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const res = await fetch(`${app.base}/health`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
      const body = res
        ? ((await res.json().catch(() => ({}))) as {
            status?: string;
            dependencies?: Record<string, { ok: boolean }>;
            components?: Record<string, { status: string }>;
          })
        : {};
      const p: HealthPoint = {
        at: Date.now(),
        status: body.status ?? 'unreachable',
        broker: body.dependencies?.broker?.ok,
        registry: body.dependencies?.registry?.ok,
        components: body.components
          ? Object.fromEntries(Object.entries(body.components).map(([k, v]) => [k, v.status]))
          : undefined,
      };
      if (!last || p.status !== last.status || p.broker !== last.broker || p.registry !== last.registry) points.push(p);
      last = p;
      await sleep(250);
    }
  })();
  return {
    points,
    last: () => last,
    sequence: () =>
      points
        .map((p) => p.status)
        .filter((st, i, all) => i === 0 || all[i - 1] !== st)
        .join('→'),
    firstAfter: (t: number, pred: (p: HealthPoint) => boolean) => points.find((p) => p.at >= t && pred(p)),
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** A producer loop at `rate` messages/s (and metric samples at rate/10) that retries a failed batch until the broker takes it. */
function steadyLoad(producer: TypedProducer, idPrefix: string, rate: number) {
  const acked: string[] = [];
  let samples = 0;
  let failures = 0;
  let stopped = false;
  let n = 0;
  const loop = (async () => {
    const start = Date.now();
    for (let tick = 0; !stopped; tick++) {
      const due = start + tick * 100;
      if (due > Date.now()) await sleep(due - Date.now());
      const batch = Array.from({ length: rate / 10 }, () => `${idPrefix}-${n++}`);
      const now = Date.now();
      const metric = Array.from({ length: Math.max(1, rate / 100) }, (_, i) => ({
        key: `svc-${i % 5}`,
        value: {
          service: `svc-${i % 5}`,
          timestamp: now,
          cpu_usage: 40 + Math.random() * 5,
          memory_usage: 50,
          network_latency: 20,
          error_rate: 0.1,
          request_count: 200,
        },
      }));
      for (;;) {
        try {
          await producer.send(
            'messages.normal',
            batch.map((id) => ({ key: id.slice(-2), value: message(id) })),
          );
          await producer.send('metrics.samples', metric);
          acked.push(...batch);
          samples += metric.length;
          break;
        } catch {
          failures++;
          if (stopped) return;
          await sleep(500);
        }
      }
    }
  })();
  return {
    acked,
    failures: () => failures,
    samples: () => samples,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// broker restart

async function brokerRestart(stack: Stack): Promise<Run> {
  const s = await space('broker', stack.endpoints);
  const { sinks, seen } = await endpoints(2, 2);
  // Every component (NeuroWeaver's training is left off; its registry and replay still run).
  const app = await startApp(
    s.env(sinks, { COMPONENTS: 'relay,detect,orchestrator,neuroweaver,gateway', ENABLE_ML_TRAINING: 'false' }),
    { readyTimeoutMs: 180_000 },
  );
  const health = watchHealth(app);
  const producer = await s.kafka.newProducer();
  const load = steadyLoad(producer, 'b', 200);
  try {
    await sleep(15_000);
    log(`broker: ${load.acked.length} acknowledged, ${seen.size} delivered; stopping the broker`);
    const downAt = Date.now();
    await stackDown(stack.settings, (l) => log(`stack: ${l}`), 'kafka');
    const degraded = await waitFor(() => Boolean(health.firstAfter(downAt, (p) => p.status === 'degraded')), 60_000);
    const degradedAfter = health.firstAfter(downAt, (p) => p.status === 'degraded');
    log(
      `broker: down; /health ${degraded ? `degraded after ${((degradedAfter!.at - downAt) / 1000).toFixed(1)} s` : 'never degraded'}`,
    );
    await sleep(10_000);
    const upAt = Date.now();
    await stackUp(stack.settings, (l) => log(`stack: ${l}`));
    const brokerBack = Date.now();
    log(`broker: up again after ${((brokerBack - downAt) / 1000).toFixed(0)} s down`);
    const healthy = await waitFor(() => Boolean(health.firstAfter(upAt, (p) => p.status === 'ok')), 180_000);
    const healthyAt = health.firstAfter(upAt, (p) => p.status === 'ok');
    await sleep(15_000);
    await load.stop();
    const acked = load.acked;
    const missing = () => acked.filter((id) => !seen.has(id)).length;
    await progress(
      'broker',
      () => missing() === 0,
      () => `${acked.length - missing()}/${acked.length} delivered`,
      () => seen.size,
    );
    const admin = await s.kafka.admin();
    let detectLag = -1;
    await waitFor(
      async () => {
        detectLag = (await admin.lag(`${s.prefix}detect`, [s.kafka.catalog.name('metrics.samples')])).reduce(
          (n, p) => n + p.lag,
          0,
        );
        return detectLag === 0;
      },
      60_000,
      1000,
    );
    const end = health.last();
    const a = account(acked, sinks, await s.deadLetters());
    return {
      scenario: 'broker',
      messages: acked.length,
      delivered: a.delivered,
      dead_lettered: a.deadLettered,
      lost: a.lost,
      duplicates: a.duplicates,
      metric_samples: load.samples(),
      producer_retries: load.failures(),
      down_s: Math.round((brokerBack - downAt) / 100) / 10,
      health: health.sequence(),
      degraded_after_s: degradedAfter ? (degradedAfter.at - downAt) / 1000 : Number.NaN,
      healthy_after_up_s: healthyAt ? (healthyAt.at - brokerBack) / 1000 : Number.NaN,
      components_ok_at_end: Boolean(end?.components && Object.values(end.components).every((c) => c === 'ok')),
      detect_lag_at_end: detectLag,
      recovered: degraded && healthy,
    };
  } finally {
    await load.stop();
    await health.stop();
    await app.stop();
    await Promise.all(sinks.map((x) => x.close()));
    await producer.disconnect().catch(() => undefined);
    await s.close();
  }
}

// ---------------------------------------------------------------------------------------------
// registry down

/** Registers a relay-message schema the app has never seen (an extra field with a default) under a subject of its own. */
async function registerNewSchema(registryUrl: string, subject: string): Promise<{ id: number; type: avsc.Type }> {
  const schema = {
    type: 'record',
    name: 'RelayMessage',
    namespace: 'dev.automatrix',
    fields: [
      { name: 'id', type: 'string' },
      { name: 'route', type: ['null', 'string'], default: null },
      { name: 'payload', type: 'string' },
      { name: 'chaosTag', type: 'string', default: '' },
    ],
  };
  const res = await fetch(`${registryUrl}/subjects/${encodeURIComponent(subject)}/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema: JSON.stringify(schema) }),
  });
  if (!res.ok) throw new Error(`registering ${subject}: HTTP ${res.status} ${await res.text()}`);
  return { id: ((await res.json()) as { id: number }).id, type: avsc.Type.forSchema(schema as avsc.Schema) };
}

async function registryDown(stack: Stack): Promise<Run> {
  const s = await space('registry', stack.endpoints);
  const { sinks, seen } = await endpoints(2, 2);
  const app = await startApp(
    s.env(sinks, { COMPONENTS: 'relay,detect', ...(process.env.CHAOS_DEBUG ? { LOG_LEVEL: 'warn' } : {}) }),
  );
  const health = watchHealth(app);
  const producer = await s.kafka.newProducer();
  const load = steadyLoad(producer, 'g', 200);
  const fresh = await registerNewSchema(stack.endpoints.registryUrl, `${s.prefix}chaos-new-value`);
  const newIds = Array.from({ length: 20 }, (_, i) => `new-${i}`);
  const delivered = (id: string) => seen.has(id);
  const detectLag = async () =>
    (await (await s.kafka.admin()).lag(`${s.prefix}detect`, [s.kafka.catalog.name('metrics.samples')])).reduce(
      (n, p) => n + p.lag,
      0,
    );
  try {
    // The app sees the known schemas before the outage.
    await waitFor(() => seen.size >= 1000, 60_000);
    const downAt = Date.now();
    await stackDown(stack.settings, (l) => log(`stack: ${l}`), 'registry');
    const phaseA = load.acked.length;
    const unhealthy = await waitFor(() => Boolean(health.firstAfter(downAt, (p) => p.registry === false)), 30_000);
    // Phase A: only values whose schemas the app has seen. They keep flowing from the serde cache.
    await sleep(15_000);
    const knownA = load.acked.slice(phaseA, load.acked.length);
    await waitFor(() => knownA.every(delivered), 30_000);
    const deliveredA = knownA.filter(delivered).length;
    const lagA = await detectLag();
    log(`registry: down; ${deliveredA}/${knownA.length} known-schema messages delivered meanwhile; detect lag ${lagA}`);
    // A schema this client has not registered: a clear error, not a hang.
    const probe = new KafkaConnection({ ...stack.endpoints, topicPrefix: s.prefix, log: logger('chaos') });
    const registration = await probe.serde.register('training.events').then(
      () => 'registered (the registry answered?)',
      (err: unknown) =>
        `${err instanceof RegistryUnavailableError ? 'RegistryUnavailableError' : (err as Error).name}: ${(err as Error).message}`,
    );
    await probe.close();
    log(`registry: registering a new schema: ${registration}`);
    // Phase B: values naming a schema id the app has not fetched: they wait for the registry.
    const phaseB = load.acked.length;
    const header = (id: number) => Buffer.from([0, (id >>> 24) & 255, (id >>> 16) & 255, (id >>> 8) & 255, id & 255]);
    await producer.sendRaw(
      s.kafka.catalog.name('messages.normal'),
      newIds.map((id) => ({
        key: `new-key-${id}`,
        value: Buffer.concat([
          header(fresh.id),
          fresh.type.toBuffer({ id, route: null, payload: JSON.stringify({ id }), chaosTag: 'new' }),
        ]),
      })),
    );
    await sleep(15_000);
    const knownB = load.acked.slice(phaseB, load.acked.length);
    const deliveredB = knownB.filter(delivered).length;
    const newDuring = newIds.filter(delivered).length;
    log(
      `registry: with unseen-schema values queued, ${deliveredB}/${knownB.length} known-schema messages delivered, ${newDuring}/${newIds.length} unseen; starting it again`,
    );
    await stackUp(stack.settings, (l) => log(`stack: ${l}`));
    const upAt = Date.now();
    await waitFor(() => newIds.every(delivered), 120_000);
    const newAfter = (Date.now() - upAt) / 1000;
    await load.stop();
    const ids = [...load.acked, ...newIds];
    await progress(
      'registry',
      () => ids.every(delivered),
      () => `${ids.filter(delivered).length}/${ids.length} delivered`,
      () => seen.size,
    );
    if (process.env.CHAOS_DEBUG)
      console.log(
        app
          .log()
          .split('\n')
          .filter((l) => !l.includes('dead-lettered'))
          .slice(-40)
          .join('\n'),
      );
    const a = account(ids, sinks, await s.deadLetters());
    return {
      scenario: 'registry',
      messages: ids.length,
      delivered: a.delivered,
      dead_lettered: a.deadLettered,
      lost: a.lost,
      duplicates: a.duplicates,
      known_schema_while_down: `${deliveredA}/${knownA.length}`,
      detect_lag_while_down: lagA,
      known_schema_behind_unseen_while_down: `${deliveredB}/${knownB.length}`,
      unseen_schema_while_down: `${newDuring}/${newIds.length}`,
      unseen_schema_delivered_after_up_s: Math.round(newAfter * 10) / 10,
      health_registry_down_seen: unhealthy,
      health: health.sequence(),
      new_registration: registration.slice(0, 160),
      ...(a.deadLettered
        ? { dead_letter_reasons: JSON.stringify(a.reasons), dead_letter_examples: JSON.stringify(a.examples) }
        : {}),
    };
  } finally {
    await load.stop();
    await health.stop();
    await app.stop();
    await Promise.all(sinks.map((x) => x.close()));
    await producer.disconnect().catch(() => undefined);
    await s.close();
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const runs: Run[] = [];
  const show = (run: Run) => {
    const { scenario, ...figures } = run;
    console.log(
      `\n${scenario}\n${table(Object.entries(figures).map(([figure, value]) => ({ figure, value: typeof value === 'boolean' ? String(value) : (value ?? '') })))}\n`,
    );
  };
  log(
    `chaos: ${ONLY.join(', ')}; ${MESSAGES} messages in the crash run; RELAY_MAX_UNCOMMITTED=${WINDOW}; ${STACK} stack for the broker and registry runs`,
  );
  if (ONLY.includes('crash') || ONLY.includes('rebalance') || ONLY.includes('outage')) {
    const ep = await broker();
    if (ONLY.includes('outage')) {
      log('outage: start');
      runs.push(await outage(ep));
      show(runs.at(-1)!);
    }
    if (ONLY.includes('crash')) {
      log('crash: start');
      runs.push(await crash(ep));
      show(runs.at(-1)!);
    }
    if (ONLY.includes('rebalance')) {
      log('rebalance: start');
      runs.push(await rebalance(ep));
      show(runs.at(-1)!);
    }
  }
  if (ONLY.includes('broker') || ONLY.includes('registry')) {
    const stack = await theStack();
    try {
      if (ONLY.includes('broker')) {
        log('broker: start');
        runs.push(await brokerRestart(stack));
        show(runs.at(-1)!);
      }
      if (ONLY.includes('registry')) {
        log('registry: start');
        runs.push(await registryDown(stack));
        show(runs.at(-1)!);
      }
    } finally {
      await stack.dispose();
    }
  }
  const sum = (k: 'lost' | 'duplicates' | 'dead_lettered' | 'messages' | 'delivered') =>
    runs.reduce((n, r) => n + r[k], 0);
  console.log(
    table(
      runs.map((r) => ({
        scenario: r.scenario,
        messages: r.messages,
        delivered: r.delivered,
        dead_lettered: r.dead_lettered,
        lost: r.lost,
        duplicates: r.duplicates,
        bound: r.duplicate_bound ?? '-',
      })),
    ),
  );
  const per = Object.fromEntries(runs.map(({ scenario, ...figures }) => [scenario, figures]));
  writeResult(
    'chaos',
    {
      lost: sum('lost'),
      duplicates: sum('duplicates'),
      dead_lettered: sum('dead_lettered'),
      messages: sum('messages'),
      delivered: sum('delivered'),
      window: WINDOW,
      stack: STACK,
      ...per,
    },
    { runs },
  );
  const outageRun = runs.find((r) => r.scenario === 'outage');
  if (
    sum('lost') ||
    runs.some((r) => r.duplicate_bound !== undefined && r.duplicates > r.duplicate_bound) ||
    (outageRun && outageRun.dead_lettered > 0)
  )
    process.exitCode = 1;
}

main().then(
  () => process.exit(),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
