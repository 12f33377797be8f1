/**
 * Routes: what they may contain, and the store every RelayCore instance keeps of them. The
 * runtime set lives in the compacted `relay.routes` topic (keyed by route name, a tombstone
 * deletes); each instance reads it whole with a group of its own, and the routes file only
 * seeds routes the topic does not have yet.
 */

import { readFileSync } from 'node:fs';
import type { Endpoint, Route } from '../../schemas/types.ts';
import { AutomatrixError } from '../errors/index.ts';
import type { BatchConsumer, KafkaConnection } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';

export const POLICIES = ['round-robin', 'least-inflight', 'p2c-peak-ewma', 'learned'] as const;
export type PolicyName = (typeof POLICIES)[number];

/** Route settings by name: breaker and policy knobs, each with its bounds and default. */
export const SETTINGS = {
  errorThresholdPercentage: {
    min: 1,
    max: 100,
    default: 50,
    doc: 'breaker opens when this % of calls in the rolling window failed',
  },
  volumeThreshold: { min: 0, max: 100_000, default: 10, doc: 'calls in the window before the breaker may open' },
  consecutiveFailures: {
    min: 0,
    max: 100_000,
    default: 10,
    doc: 'breaker opens after this many failed calls in a row, whatever the window holds (0: off)',
  },
  rollingWindowMs: { min: 100, max: 600_000, default: 10_000, doc: 'breaker statistics window' },
  resetTimeoutMs: { min: 10, max: 3_600_000, default: 5_000, doc: 'open time before a half-open probe' },
  slowCallMs: { min: 1, max: 600_000, default: 2_000, doc: 'a call slower than this counts as slow' },
  slowCallRatePercent: {
    min: 1,
    max: 100,
    default: 80,
    doc: 'breaker opens when this % of calls in the window were slow',
  },
  exploration: { min: 0, max: 0.5, default: -1, doc: 'learned: share of random decisions (default RELAY_EXPLORATION)' },
  shedThreshold: {
    min: 0.05,
    max: 1,
    default: -1,
    doc: 'learned: predicted failure probability that sheds an endpoint (default RELAY_SHED_THRESHOLD)',
  },
  probeIntervalMs: {
    min: 100,
    max: 600_000,
    default: 2_000,
    doc: 'learned: an endpoint not measured for this long gets one probe (5x longer if predicted to fail)',
  },
  failureCostMs: {
    min: 0,
    max: 600_000,
    default: 250,
    doc: 'learned: price of a failed attempt beyond its latency, in ms of delay',
  },
  loadScale: {
    min: 0.1,
    max: 100_000,
    default: 4,
    doc: "learned: requests in flight at which an endpoint's expected cost doubles (spreads bursts)",
  },
  retryBackoffMs: {
    min: 0,
    max: 60_000,
    default: -1,
    doc: 'base backoff between attempts (default RELAY_RETRY_BACKOFF_MS)',
  },
} as const;
export type SettingName = keyof typeof SETTINGS;

/** A route or endpoint that breaks a rule; `field` names where (`endpoints.1.target`). */
export class RouteError extends AutomatrixError {
  /** Where in the route (`endpoints.1.target`); `field` is the same within a request (`body.endpoints.1.target`). */
  readonly path: string;
  readonly detail: string;

  constructor(path: string, detail: string, base?: string) {
    const field = base ? `${base}.${path}` : path;
    super('route_invalid', `${field} ${detail}`, { field });
    this.path = path;
    this.detail = detail;
  }

  /** The same error about a route in a request's `base` (`body`). */
  in(base: string): RouteError {
    return new RouteError(this.path, this.detail, base);
  }
}

const NAME = /^[A-Za-z0-9._-]{1,100}$/;
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown, field: string): Record<string, string> {
  if (v === undefined) return {};
  if (!isObject(v)) throw new RouteError(field, 'must be an object of strings');
  for (const [k, x] of Object.entries(v))
    if (typeof x !== 'string') throw new RouteError(`${field}.${k}`, 'must be a string');
  return v as Record<string, string>;
}

function number(v: unknown, field: string, min: number, max: number, fallback: number, integer = false): number {
  if (v === undefined) return fallback;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new RouteError(field, `must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
  }
  return n;
}

function parseEndpoint(raw: unknown, field: string): Endpoint {
  if (!isObject(raw)) throw new RouteError(field, 'must be an object');
  const { id, kind, target } = raw;
  if (typeof id !== 'string' || !NAME.test(id))
    throw new RouteError(`${field}.id`, 'must be 1-100 letters, digits, ".", "_" or "-"');
  if (kind !== 'HTTP' && kind !== 'KAFKA') throw new RouteError(`${field}.kind`, 'must be HTTP or KAFKA');
  if (typeof target !== 'string') throw new RouteError(`${field}.target`, 'must be a string');
  if (kind === 'HTTP') {
    let url: URL | undefined;
    try {
      url = new URL(target);
    } catch {
      /* reported below */
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      throw new RouteError(`${field}.target`, 'must be an http(s) URL for an HTTP endpoint');
  } else if (!TOPIC.test(target)) {
    throw new RouteError(`${field}.target`, 'must be a Kafka topic name for a KAFKA endpoint');
  }
  return {
    id,
    kind,
    target,
    weight: number(raw.weight, `${field}.weight`, 0, 1000, 1),
    timeoutMs: number(raw.timeoutMs, `${field}.timeoutMs`, 1, 600_000, 5000, true),
    headers: stringMap(raw.headers, `${field}.headers`),
  };
}

/** Checks a route from the API, the file or the topic; returns it with defaults filled in. */
export function parseRoute(raw: unknown, field = 'route'): Route {
  if (!isObject(raw)) throw new RouteError(field, 'must be an object');
  const prefix = field ? `${field}.` : '';
  if (typeof raw.name !== 'string' || !NAME.test(raw.name))
    throw new RouteError(`${prefix}name`, 'must be 1-100 letters, digits, ".", "_" or "-"');
  const policy = raw.policy ?? 'p2c-peak-ewma';
  if (typeof policy !== 'string' || !(POLICIES as readonly string[]).includes(policy))
    throw new RouteError(`${prefix}policy`, `must be one of ${POLICIES.join(', ')}`);
  if (!Array.isArray(raw.endpoints) || raw.endpoints.length === 0)
    throw new RouteError(`${prefix}endpoints`, 'must be a non-empty array');
  const endpoints = raw.endpoints.map((e, i) => parseEndpoint(e, `${prefix}endpoints.${i}`));
  const seen = new Set<string>();
  endpoints.forEach((e, i) => {
    if (seen.has(e.id)) throw new RouteError(`${prefix}endpoints.${i}.id`, `repeats endpoint id "${e.id}"`);
    seen.add(e.id);
  });
  const settings = stringMap(raw.settings, `${prefix}settings`);
  for (const [name, value] of Object.entries(settings)) {
    const spec = SETTINGS[name as SettingName];
    if (!spec)
      throw new RouteError(
        `${prefix}settings.${name}`,
        `is not a setting (known: ${Object.keys(SETTINGS).join(', ')})`,
      );
    number(value, `${prefix}settings.${name}`, spec.min, spec.max, 0);
  }
  return {
    name: raw.name,
    policy,
    endpoints,
    maxAttempts: number(raw.maxAttempts, `${prefix}maxAttempts`, 1, 20, 3, true),
    settings,
    updatedAt: typeof raw.updatedAt === 'number' ? raw.updatedAt : Date.now(),
  };
}

/** A route setting as a number: the route's value, else the default given (or the declared one). */
export function setting(route: Route, name: SettingName, fallback?: number): number {
  const raw = route.settings[name];
  if (raw !== undefined) return Number(raw);
  return fallback ?? SETTINGS[name].default;
}

/** Reads a routes file: `{"routes": [...]}` or a bare array. Throws naming the file and the field. */
export function readRoutesFile(path: string): Route[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`routes file ${path}: ${(err as Error).message}`);
  }
  const list = Array.isArray(parsed) ? parsed : isObject(parsed) ? parsed.routes : undefined;
  if (!Array.isArray(list)) throw new Error(`routes file ${path}: must hold {"routes": [...]} or an array of routes`);
  try {
    const routes = list.map((r, i) => parseRoute(r, `routes.${i}`));
    const names = new Set<string>();
    for (const r of routes) {
      if (names.has(r.name)) throw new RouteError('routes', `declares route "${r.name}" twice`);
      names.add(r.name);
    }
    return routes;
  } catch (err) {
    throw new Error(`routes file ${path}: ${(err as Error).message}`);
  }
}

export type RouteListener = (name: string, route: Route | null) => void;

/** Every route in the `relay.routes` topic, kept current; writes go through the topic. */
export class RouteStore {
  private readonly routes = new Map<string, Route>();
  private readonly listeners: RouteListener[] = [];
  private consumer?: BatchConsumer;
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  private readonly kafka: KafkaConnection;
  private readonly log: Logger;

  constructor(kafka: KafkaConnection, log: Logger) {
    this.kafka = kafka;
    this.log = log;
  }

  onChange(listener: RouteListener): void {
    this.listeners.push(listener);
  }

  get(name: string): Route | undefined {
    return this.routes.get(name);
  }

  all(): Route[] {
    return [...this.routes.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Reads the topic up to its current end, then follows it; seeds routes from `seed` that the topic lacks. */
  async start(seed: Route[] = []): Promise<void> {
    const topic = this.kafka.catalog.name('relay.routes');
    const admin = await this.kafka.admin();
    const ends = await admin.offsets(topic);
    this.consumer = this.kafka.privateConsumer('relay-routes', { maxWaitTimeMs: 100 });
    const caughtUp = new Map(ends.map((e) => [e.partition, BigInt(e.high)]));
    const done = new Set(ends.filter((e) => e.high === e.low || e.high === '0').map((e) => e.partition));
    let markReady!: () => void;
    const ready = new Promise<void>((r) => (markReady = r));
    if (done.size === ends.length) markReady();
    await this.consumer.subscribe([topic], { fromBeginning: true });
    await this.consumer.run(async (batch) => {
      for (const rec of batch.records) await this.apply(rec.key?.toString() ?? '', rec.value);
      const end = caughtUp.get(batch.partition);
      const last = batch.records.at(-1);
      if (end !== undefined && last && BigInt(last.offset) + 1n >= end && !done.has(batch.partition)) {
        done.add(batch.partition);
        if (done.size === ends.length) markReady();
      }
    });
    // A compacted topic may have lost its last offsets; do not wait for them forever.
    const fallback = setTimeout(() => {
      this.log.warn('routes topic not read to its end within 15 s; going on with what was read');
      markReady();
    }, 15_000);
    await ready;
    clearTimeout(fallback);
    for (const route of seed) {
      if (this.routes.has(route.name)) continue;
      this.log.info({ route: route.name }, 'seeding route from the routes file');
      await this.put(route);
    }
  }

  private async apply(name: string, value: Buffer | null): Promise<void> {
    if (!name) return;
    if (value === null) {
      this.routes.delete(name);
      this.emit(name, null);
      return;
    }
    try {
      const { value: decoded } = await this.kafka.serde.decode('relay.routes', value);
      const route = parseRoute(decoded, '');
      this.routes.set(name, route);
      this.emit(name, route);
    } catch (err) {
      this.log.error(
        { route: name, err: (err as Error).message },
        'ignoring an invalid route record in the routes topic',
      );
    }
  }

  private emit(name: string, route: Route | null): void {
    for (const l of this.listeners) l(name, route);
    this.waiters = this.waiters.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  }

  private until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the routes topic did not echo the change in time')), timeoutMs);
      this.waiters.push({
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** KAFKA endpoints of a route whose topic the broker does not have (it does not create topics on demand). */
  async missingTopics(route: Route): Promise<{ index: number; topic: string }[]> {
    const kafkaEndpoints = route.endpoints.flatMap((e, index) =>
      e.kind === 'KAFKA' ? [{ index, topic: e.target }] : [],
    );
    if (!kafkaEndpoints.length) return [];
    const topics = new Set(await (await this.kafka.admin()).listTopics());
    return kafkaEndpoints.filter((e) => !topics.has(e.topic));
  }

  /** Writes a route and resolves once this instance has read it back. */
  async put(route: Route): Promise<Route> {
    const stamped = { ...route, updatedAt: Math.max(Date.now(), (this.routes.get(route.name)?.updatedAt ?? 0) + 1) };
    const producer = await this.kafka.producer();
    await producer.send('relay.routes', [{ key: stamped.name, value: stamped }]);
    await this.until(() => this.routes.get(stamped.name)?.updatedAt === stamped.updatedAt);
    return this.routes.get(stamped.name)!;
  }

  async delete(name: string): Promise<void> {
    const producer = await this.kafka.producer();
    await producer.tombstone('relay.routes', name);
    await this.until(() => !this.routes.has(name));
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
