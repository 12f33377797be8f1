/**
 * The delivery engine: one consumer per priority tier, weighted delivery slots across tiers,
 * per-key order within a partition, a policy per route, retries on another endpoint with
 * backoff, outcomes for every attempt, and the dead-letter topic for what cannot be delivered.
 * Each record completes on its own inside its partition's uncommitted window (window.ts): a slow
 * delivery holds back only the later records of its key, and the committed offset never passes a
 * record that is not delivered or dead-lettered (at-least-once). A route without an available
 * endpoint makes its messages wait (outage.ts) rather than dead-letter them.
 */
import type {
  DeadLetterInput,
  DeadLetterReason,
  DeliveryOutcomeInput,
  RelayMessage,
  Route,
} from '../../schemas/types.ts';
import type { EcosystemEventSpec } from '../app/events.ts';
import {
  type BatchConsumer,
  type ConsumedBatch,
  type ConsumedRecord,
  DecodeError,
  deadLetterOf,
  type KafkaConnection,
  type TypedProducer,
} from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import { TIERS, type Tier } from './config.ts';
import {
  type AttemptOutcome,
  type EndpointControls,
  EndpointRuntime,
  freshControls,
  type Senders,
} from './endpoint.ts';
import { WeightedGate } from './gate.ts';
import { FEATURE_VERSION, featureValues } from './learned/features.ts';
import { LearnedPolicy, type RoutingScorer } from './learned/policy.ts';
import { RouteOutages } from './outage.ts';
import { LeastInflight, P2cPeakEwma, RoundRobin, type RoutedMessage, type RoutingPolicy } from './policies.ts';
import { Coalescer, type DeliveryRequest, HttpSender, KafkaSender } from './senders.ts';
import { type PolicyName, setting } from './store.ts';
import { PartitionWindow, type WindowEntry } from './window.ts';

export interface RelayLoopOptions {
  groupId: string;
  maxInflight: number;
  maxUncommitted: number;
  tierWeights: Record<Tier, number>;
  defaultRoutes: Partial<Record<Tier, string>>;
  retryBackoffMs: number;
  exploration: number;
  shedThreshold: number;
  httpConnections: number;
  /** Longest a message waits for its route to have an available endpoint before it is dead-lettered (no_endpoint). */
  noEndpointMaxWaitMs: number;
}

/** A message on its way: what the policies see, and what the endpoint is sent (one object per message). */
interface Pending extends RoutedMessage, DeliveryRequest {
  record: ConsumedRecord;
  tier: Tier;
  message: RelayMessage;
  route: string;
  /** It waits (or waited) for its route to have an endpoint: its partition is paused until it is done. */
  holding: boolean;
}

export interface RouteRuntime {
  route: Route;
  endpoints: EndpointRuntime[];
  policy: RoutingPolicy;
  decisions: number;
  decisionMs: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Thrown out of a delivery when consumption stops or its partition goes elsewhere: it stays uncommitted. */
class Stopping extends Error {}

/** A record that did not decode: dead-lettered in its turn (`failure`), or parked until the registry answers (null). */
interface Undecoded {
  tier: Tier;
  failure: unknown;
}

/** What the window holds for a record. */
type Item = Pending | Undecoded;

export class RelayLoop {
  readonly routes = new Map<string, RouteRuntime>();
  private readonly controls = new Map<string, EndpointControls>();
  readonly gate: WeightedGate;
  /** Units of RELAY_MAX_UNCOMMITTED (window.ts). */
  readonly window: WeightedGate;
  private readonly senders: Senders;
  private consumers: BatchConsumer[] = [];
  /** Uncommitted windows by `topic:partition`. */
  private readonly windows = new Map<string, PartitionWindow<Item>>();
  /** Records being completed now. */
  private active = 0;
  private idleWaiters: (() => void)[] = [];
  /** Wake-ups of records sleeping (a backoff, a parked decode), called when consumption stops. */
  private readonly parked = new Set<() => void>();
  readonly outages: RouteOutages;
  private running = false;
  private stopping = false;
  private deliveryProducer?: Promise<TypedProducer>;
  private readonly outcomes: Coalescer<DeliveryOutcomeInput>;
  private readonly deadLetters: Coalescer<{ messageId: string | null; value: DeadLetterInput }>;
  private scorer: RoutingScorer | null = null;
  private readonly fallbackPolicy = new P2cPeakEwma();
  /** `outcomes`: DeliveryOutcome records the broker acknowledged (one per attempt, once written). */
  readonly counters = { consumed: 0, delivered: 0, deadLettered: 0, attempts: 0, retries: 0, outcomes: 0 };

  private readonly kafka: KafkaConnection;
  private readonly options: RelayLoopOptions;
  private readonly log: Logger;
  private readonly publish: (e: EcosystemEventSpec) => void;

  constructor(
    kafka: KafkaConnection,
    options: RelayLoopOptions,
    log: Logger,
    publish: (e: EcosystemEventSpec) => void,
  ) {
    this.kafka = kafka;
    this.options = options;
    this.log = log;
    this.publish = publish;
    this.gate = new WeightedGate(options.maxInflight, options.tierWeights);
    this.window = new WeightedGate(options.maxUncommitted, options.tierWeights);
    this.outages = new RouteOutages((name) => this.outageRoute(name), publish, log);
    this.deliveryProducer = kafka.newProducer();
    this.deliveryProducer.catch(() => undefined);
    this.senders = { http: new HttpSender(options.httpConnections), kafka: new KafkaSender(this.deliveryProducer) };
    this.outcomes = new Coalescer(async (items) => {
      try {
        await (await kafka.producer()).send(
          'delivery.outcomes',
          items.map((o) => ({ key: o.endpoint, value: o, headers: { 'message-id': o.messageId } })),
        );
        this.counters.outcomes += items.length;
      } catch (err) {
        this.log.warn({ err: (err as Error).message, records: items.length }, 'could not write delivery outcomes');
      }
    }, 5000);
    this.deadLetters = new Coalescer(async (items) => {
      await (await kafka.producer()).send(
        'deadletter',
        items.map((i) => ({
          key: i.value.key ?? null,
          value: i.value,
          headers: i.messageId ? { 'message-id': i.messageId } : undefined,
        })),
      );
    });
  }

  // ---- routes, endpoints and controls -------------------------------------------------

  controlsOf(route: string, endpoint: string): EndpointControls {
    const key = `${route}/${endpoint}`;
    let c = this.controls.get(key);
    if (!c) {
      c = freshControls();
      this.controls.set(key, c);
    }
    return c;
  }

  endpoint(route: string, endpoint: string): EndpointRuntime | undefined {
    return this.routes.get(route)?.endpoints.find((e) => e.endpoint.id === endpoint);
  }

  /** Applies a route from the store: endpoints whose definition did not change keep their statistics and breaker. */
  setRoute(name: string, route: Route | null): void {
    const old = this.routes.get(name);
    if (!route) {
      old?.endpoints.forEach((e) => {
        e.dispose();
      });
      this.routes.delete(name);
      return;
    }
    const sameBreaker = old && JSON.stringify(old.route.settings) === JSON.stringify(route.settings);
    const endpoints = route.endpoints.map((ep) => {
      const prev = old?.endpoints.find((e) => e.endpoint.id === ep.id);
      if (prev && sameBreaker && JSON.stringify(prev.endpoint) === JSON.stringify(ep)) return prev;
      return new EndpointRuntime(route, ep, this.senders, this.controlsOf(name, ep.id), this.publish);
    });
    old?.endpoints
      .filter((e) => !endpoints.includes(e))
      .forEach((e) => {
        e.dispose();
      });
    const policy =
      old && old.route.policy === route.policy ? old.policy : this.makePolicy(route.policy as PolicyName, name);
    this.routes.set(name, {
      route,
      endpoints,
      policy,
      decisions: old?.decisions ?? 0,
      decisionMs: old?.decisionMs ?? 0,
    });
  }

  private makePolicy(name: PolicyName, routeName: string): RoutingPolicy {
    switch (name) {
      case 'round-robin':
        return new RoundRobin();
      case 'least-inflight':
        return new LeastInflight();
      case 'learned':
        return new LearnedPolicy(
          () => this.scorer,
          () => {
            const route = this.routes.get(routeName)?.route;
            return {
              exploration: route ? setting(route, 'exploration', this.options.exploration) : this.options.exploration,
              shedThreshold: route
                ? setting(route, 'shedThreshold', this.options.shedThreshold)
                : this.options.shedThreshold,
              probeIntervalMs: route ? setting(route, 'probeIntervalMs') : 2000,
              retryBackoffMs: route
                ? setting(route, 'retryBackoffMs', this.options.retryBackoffMs)
                : this.options.retryBackoffMs,
              failureCostMs: route ? setting(route, 'failureCostMs') : 250,
              loadScale: route ? setting(route, 'loadScale') : 4,
              onShed: (e, shed, failure) =>
                this.publish({
                  component: 'relay',
                  kind: 'endpoint_shed',
                  severity: shed ? 'WARNING' : 'INFO',
                  subject: e.key,
                  message: shed
                    ? `shedding ${e.key}: predicted failure probability ${failure.toFixed(2)}`
                    : `${e.key} no longer shed (predicted failure ${failure.toFixed(2)})`,
                  data: { route: e.route, endpoint: e.endpoint.id, shed: String(shed), failure: failure.toFixed(3) },
                }),
            };
          },
        );
      default:
        return new P2cPeakEwma();
    }
  }

  private outageRoute(name: string) {
    const rt = this.routes.get(name);
    return rt ? { name, endpoints: rt.endpoints } : undefined;
  }

  setScorer(scorer: RoutingScorer | null): void {
    const old = this.scorer;
    this.scorer = scorer;
    if (old && old !== scorer) old.dispose();
  }

  scorerVersion(): string | null {
    return this.scorer?.version ?? null;
  }

  // ---- consuming -----------------------------------------------------------------------

  isRunning(): boolean {
    return this.running;
  }

  tierGroup(tier: Tier): string {
    return `${this.options.groupId}.${tier}`;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.stopping = false;
    this.running = true;
    for (const tier of TIERS) {
      const consumer = this.kafka.consumer({
        groupId: this.tierGroup(tier),
        maxWaitTimeMs: 100,
        maxBytesPerPartition: 512 * 1024,
      });
      consumer.onCrash((error, restarting) => {
        this.log.error({ tier, err: error.message, restarting }, 'tier consumer crashed');
        if (!restarting) this.restartSoon();
      });
      consumer.onGroupJoin((assignment) => this.assigned(consumer, assignment));
      await consumer.subscribe([this.kafka.catalog.name(`messages.${tier}`)], { fromBeginning: true });
      await consumer.run((batch) => this.take(tier, consumer, batch), {
        partitionsConcurrently: 6,
        commits: 'by-caller',
      });
      this.consumers.push(consumer);
    }
    this.log.info({ group: this.options.groupId }, 'relay consuming');
  }

  private restarting = false;

  /** A consumer kafkajs will not restart: restart consumption (uncommitted records are fetched again). */
  private restartSoon(): void {
    if (this.restarting || this.stopping) return;
    this.restarting = true;
    setTimeout(() => {
      void (async () => {
        try {
          await this.stop();
          await this.start();
          this.log.warn('relay consumption restarted after a crash');
        } catch (err) {
          this.log.error({ err: (err as Error).message }, 'could not restart consumption');
        } finally {
          this.restarting = false;
        }
      })();
    }, 2000).unref();
  }

  /**
   * Stops intake: nothing new starts, waits end (their records stay uncommitted), deliveries in flight
   * finish and their offsets are committed; the rest is left for the next owner of the partition.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
    this.outages.stopAll();
    for (const wake of [...this.parked]) wake();
    await this.idle();
    const windows = [...this.windows.values()];
    this.windows.clear();
    await Promise.allSettled(windows.map((w) => w.flush()));
    for (const w of windows) w.abandon();
    const consumers = this.consumers.splice(0);
    await Promise.allSettled(consumers.map((c) => c.disconnect()));
    this.running = false;
    this.log.info('relay stopped consuming');
  }

  async close(): Promise<void> {
    await this.stop();
    await this.flush();
    await this.senders.http.close();
    for (const rt of this.routes.values())
      rt.endpoints.forEach((e) => {
        e.dispose();
      });
  }

  /** The HTTP connection pools, per origin. */
  httpConnections(): ReturnType<HttpSender['poolStats']> {
    return this.senders.http.poolStats();
  }

  /** Waits for outcome records written so far. */
  async flush(): Promise<void> {
    await Promise.all([this.outcomes.settled(), this.deadLetters.settled()]);
  }

  /** Records taken and not yet committed, and the partitions paused for a route without endpoints. */
  windowStatus(): { taken: number; pausedPartitions: { topic: string; partition: number }[] } {
    let taken = 0;
    const pausedPartitions: { topic: string; partition: number }[] = [];
    for (const w of this.windows.values()) {
      taken += w.size();
      if (w.isHeld()) pausedPartitions.push({ topic: w.topic, partition: w.partition });
    }
    return { taken, pausedPartitions };
  }

  /** A rebalance: the windows of partitions this member lost are abandoned (their records are the new owner's). */
  private assigned(consumer: BatchConsumer, assignment: Record<string, number[]>): void {
    for (const [key, w] of this.windows) {
      if (w.consumer !== consumer || assignment[w.topic]?.includes(w.partition)) continue;
      w.abandon();
      this.windows.delete(key);
      this.log.info(
        { topic: w.topic, partition: w.partition },
        'partition revoked: its uncommitted records are left to the next owner',
      );
    }
  }

  private windowOf(tier: Tier, consumer: BatchConsumer, batch: ConsumedBatch): PartitionWindow<Item> {
    const key = `${batch.topic}:${batch.partition}`;
    let w = this.windows.get(key);
    if (!w || w.consumer !== consumer || w.abandoned) {
      w = new PartitionWindow<Item>(tier, batch.topic, batch.partition, consumer, this.window, this.log);
      this.windows.set(key, w);
    }
    return w;
  }

  /**
   * A fetched batch: decodes it, scores it (batched inference), and takes its records into the
   * partition's window in offset order, each as soon as the window has room; each record then
   * completes on its own. Returns once every record is taken, so the partition is fetched on.
   */
  private async take(tier: Tier, consumer: BatchConsumer, batch: ConsumedBatch): Promise<void> {
    if (this.stopping) return;
    const w = this.windowOf(tier, consumer, batch);
    const records = batch.records.filter((r) => w.isNew(r));
    if (!records.length) return;
    this.counters.consumed += records.length;
    const items: Item[] = [];
    for (const record of records) items.push(this.decodeNow(tier, record) ?? (await this.decode(tier, record)));
    this.prepare(items.filter((i): i is Pending => 'message' in i));
    for (let i = 0; i < records.length; i++) {
      if (!this.window.tryAcquire(tier) && !(await this.admit(tier, batch, w))) return;
      if (this.stopping || w.abandoned) {
        this.window.release();
        return;
      }
      const { entry, runnable } = w.take(records[i]!, items[i]!);
      if (runnable) void this.run(w, entry);
    }
  }

  /** Waits for a unit of the window, heartbeating (a long wait must not cost the group membership). */
  private async admit(tier: Tier, batch: ConsumedBatch, w: PartitionWindow<Item>): Promise<boolean> {
    let granted = false;
    const grant = this.window.acquire(tier).then(() => {
      granted = true;
    });
    for (;;) {
      await Promise.race([grant, sleep(3000)]);
      if (granted) return true;
      if (this.stopping || w.abandoned) {
        void grant.then(() => this.window.release());
        return false;
      }
      await batch.heartbeat().catch(() => undefined);
    }
  }

  /**
   * Completes one record (delivered or dead-lettered), then starts the next record of its key. A record
   * left unfinished (consumption stopped, the partition went elsewhere) stays uncommitted.
   */
  private async run(w: PartitionWindow<Item>, entry: WindowEntry<Item>): Promise<void> {
    this.active++;
    let done = false;
    while (!done && !this.stopping && !w.abandoned) {
      try {
        const item = entry.item;
        if ('message' in item) await this.deliver(item, w);
        else if (item.failure) await this.deadLetterUndecodable(entry.record, item.failure);
        else {
          const p = await this.decodeRetrying(w, entry.record);
          if (p) await this.deliver(p, w);
        }
        done = true;
      } catch (err) {
        if (err instanceof Stopping) break;
        // A dead letter that could not be written (the broker away): try the record again.
        this.log.error({ offset: entry.record.offset, err: (err as Error).message }, 'record failed; trying again');
        await sleep(1000);
      }
    }
    this.active--;
    const next = done ? w.complete(entry) : null;
    if (next) void this.run(w, next);
    if (this.active === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private idle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private checkRunning(w: PartitionWindow<Item>): void {
    if (this.stopping || w.abandoned) throw new Stopping('relay stopping');
  }

  private prepare(pending: Pending[]): void {
    const byRoute = new Map<string, Pending[]>();
    for (const p of pending) {
      const list = byRoute.get(p.route);
      if (list) list.push(p);
      else byRoute.set(p.route, [p]);
    }
    const now = Date.now();
    for (const [name, msgs] of byRoute) {
      const rt = this.routes.get(name);
      if (!rt?.policy.prepare) continue;
      const started = performance.now();
      try {
        rt.policy.prepare(
          rt.endpoints.filter((e) => e.available(now)),
          msgs,
          now,
        );
      } catch (err) {
        this.log.error({ route: name, err: (err as Error).message }, 'batch scoring failed; picks fall back');
      }
      rt.decisionMs += performance.now() - started;
    }
  }

  /**
   * Decodes a record. An undecodable one is dead-lettered when its turn comes. One whose schema the
   * registry must supply while it is unreachable is parked: it retries on its own (holding back only
   * its key), and the rest of the window goes on.
   */
  private async decode(tier: Tier, record: ConsumedRecord): Promise<Item> {
    try {
      const { value } = await this.kafka.serde.decode(`messages.${tier}`, record.value);
      return this.pendingOf(tier, record, value as RelayMessage);
    } catch (err) {
      return this.undecoded(tier, err);
    }
  }

  /** The decode when no registry lookup is needed (the usual case), else null. */
  private decodeNow(tier: Tier, record: ConsumedRecord): Item | null {
    try {
      const decoded = this.kafka.serde.decodeNow(`messages.${tier}`, record.value);
      return decoded && this.pendingOf(tier, record, decoded.value as RelayMessage);
    } catch (err) {
      return this.undecoded(tier, err);
    }
  }

  private undecoded(tier: Tier, err: unknown): Undecoded {
    return { tier, failure: err instanceof DecodeError && err.retriable ? null : err };
  }

  /** Retries the decode of a parked record with backoff until the registry answers (undefined: dead-lettered). */
  private async decodeRetrying(w: PartitionWindow<Item>, record: ConsumedRecord): Promise<Pending | undefined> {
    for (let wait = 500; ; wait = Math.min(wait * 2, 10_000)) {
      this.checkRunning(w);
      const decoded = await this.decode(w.tier, record);
      if ('message' in decoded) return decoded;
      if (decoded.failure) {
        await this.deadLetterUndecodable(record, decoded.failure);
        return undefined;
      }
      this.log.warn({ tier: w.tier, offset: record.offset }, 'schema registry unavailable; retrying the decode');
      await this.pause(wait);
    }
  }

  /** Sleeps, unless consumption stops meanwhile. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.parked.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.parked.add(wake);
    });
  }

  private async deadLetterUndecodable(record: ConsumedRecord, err: unknown): Promise<void> {
    const reason = err instanceof DecodeError ? 'decode_error' : 'invalid_message';
    const detail = err instanceof DecodeError ? `${err.reason}: ${err.message}` : (err as Error).message;
    await this.deadLetter(record, reason, detail, { messageId: null, route: null, attempts: 0 });
  }

  private pendingOf(tier: Tier, record: ConsumedRecord, message: RelayMessage): Pending {
    const route = message.route ?? record.headers['relay-route'] ?? this.options.defaultRoutes[tier] ?? '';
    return {
      record,
      tier,
      message,
      route,
      payloadBytes: Buffer.byteLength(message.payload),
      type: message.type,
      attempt: 1,
      scoreRow: -1,
      scoreBatch: null,
      holding: false,
      id: message.id,
      key: record.key,
      payload: message.payload,
      contentType: message.contentType,
      headers: message.headers,
    };
  }

  // ---- delivering ----------------------------------------------------------------------

  private backoff(route: Route, attempt: number): number {
    const base = setting(route, 'retryBackoffMs', this.options.retryBackoffMs);
    const cap = base * 2 ** Math.min(attempt - 1, 6);
    return cap / 2 + Math.random() * (cap / 2);
  }

  /**
   * Attempts until delivered or dead-lettered. While the route has no available endpoint, the message
   * waits (outage.ts) instead of using up attempts; after such a wait it has its attempts afresh (the
   * endpoints, not the message, were at fault), and a failed half-open probe costs it no attempt.
   */
  private async deliver(p: Pending, w: PartitionWindow<Item>): Promise<void> {
    try {
      await this.attempts(p, w);
    } finally {
      if (p.holding) w.unhold();
      p.holding = false;
    }
  }

  private async attempts(p: Pending, w: PartitionWindow<Item>): Promise<void> {
    let attempts = 0;
    let rejections = 0;
    let lastError = '';
    /** When the message first found no endpoint: the longest wait counts from here (probes and all). */
    let waitingSince = 0;
    let tried: Set<EndpointRuntime> | null = null;
    for (;;) {
      this.checkRunning(w);
      const rt = this.routes.get(p.route);
      if (!rt) {
        await this.deadLetter(p.record, 'unknown_route', `route "${p.route}" does not exist`, {
          messageId: p.message.id,
          route: p.route || null,
          attempts,
        });
        return;
      }
      const now = Date.now();
      const available = rt.endpoints.filter((e) => e.available(now));
      // Attempts used up while the route still has endpoints: this message's failure. Used up as every
      // breaker opened (the endpoints went down meanwhile): an outage, which the message waits out.
      if (attempts >= rt.route.maxAttempts && available.length) break;
      if (!available.length) {
        // The message's partition is not fetched while it waits (the backlog stays in Kafka), nor until it is done.
        if (!p.holding) w.hold();
        p.holding = true;
        const again = waitingSince > 0;
        if (!again) waitingSince = now;
        const result = await this.outages.wait(
          { name: rt.route.name, endpoints: rt.endpoints },
          waitingSince + this.options.noEndpointMaxWaitMs - now,
          again,
        );
        if (result === 'stopped') throw new Stopping('relay stopping');
        if (result === 'expired') return this.noEndpoint(p, rt, waitingSince, attempts);
        attempts = 0;
        rejections = 0;
        tried = null;
        continue;
      }
      const fresh = tried ? available.filter((e) => !tried!.has(e)) : available;
      const candidates = fresh.length ? fresh : available;
      p.attempt = attempts + 1;
      const started = performance.now();
      const endpoint = this.pick(rt, candidates, p, now);
      rt.decisionMs += performance.now() - started;
      rt.decisions++;
      const probe = endpoint.breakerState() === 'half-open';
      const features = featureValues(endpoint, p, now);
      if (!this.gate.tryAcquire(p.tier)) await this.gate.acquire(p.tier);
      let outcome: AttemptOutcome;
      try {
        outcome = await endpoint.attempt(p);
      } finally {
        this.gate.release();
      }
      this.counters.attempts++;
      this.writeOutcome(p, rt, endpoint, outcome, features, now);
      if (outcome.status === 'DELIVERED') {
        this.counters.delivered++;
        return;
      }
      tried ??= new Set();
      tried.add(endpoint);
      // A breaker that opened between choice and call costs no attempt, a bounded number of times.
      if (outcome.status === 'REJECTED' && ++rejections <= rt.endpoints.length) continue;
      lastError = `${endpoint.key}: ${outcome.error ?? outcome.status}`;
      if (outcome.permanent) {
        await this.deadLetter(p.record, 'endpoint_rejected', lastError, {
          messageId: p.message.id,
          route: rt.route.name,
          attempts: attempts + 1,
        });
        return;
      }
      // A failed half-open probe is the breaker's test, not one of the message's attempts; but probing is
      // the outage going on (the route's other breakers may half-open in turn), so the longest wait bounds it.
      if (probe) {
        waitingSince ||= now;
        if (Date.now() - waitingSince >= this.options.noEndpointMaxWaitMs)
          return this.noEndpoint(p, rt, waitingSince, attempts);
        continue;
      }
      attempts++;
      if (attempts < rt.route.maxAttempts) {
        this.counters.retries++;
        await this.pause(this.backoff(rt.route, attempts));
      }
    }
    await this.deadLetter(p.record, 'max_attempts', lastError, {
      messageId: p.message.id,
      route: p.route,
      attempts,
    });
  }

  private async noEndpoint(p: Pending, rt: RouteRuntime, waitingSince: number, attempts: number): Promise<void> {
    const states = rt.endpoints.map((e) => `${e.endpoint.id}: ${e.state()}`).join(', ');
    const seconds = Math.round((Date.now() - waitingSince) / 1000);
    await this.deadLetter(
      p.record,
      'no_endpoint',
      `no endpoint of route ${rt.route.name} was available for ${seconds} s (${states})`,
      { messageId: p.message.id, route: rt.route.name, attempts },
    );
  }

  /** The route's policy's pick; a policy that fails or picks nothing falls back to p2c-peak-ewma for this decision. */
  private pick(rt: RouteRuntime, candidates: EndpointRuntime[], p: Pending, now: number): EndpointRuntime {
    try {
      const chosen = rt.policy.pick(candidates, p, now);
      if (chosen && candidates.includes(chosen)) return chosen;
      this.log.error(
        { route: rt.route.name, policy: rt.policy.name },
        'policy picked no candidate; using p2c-peak-ewma',
      );
    } catch (err) {
      this.log.error(
        { route: rt.route.name, policy: rt.policy.name, err: (err as Error).message },
        'policy failed; using p2c-peak-ewma',
      );
    }
    return this.fallbackPolicy.pick(candidates, p, now);
  }

  private writeOutcome(
    p: Pending,
    rt: RouteRuntime,
    e: EndpointRuntime,
    o: Awaited<ReturnType<EndpointRuntime['attempt']>>,
    features: number[],
    decidedAt: number,
  ): void {
    const value: DeliveryOutcomeInput = {
      messageId: p.message.id,
      route: rt.route.name,
      endpoint: e.endpoint.id,
      policy: rt.policy.name,
      attempt: p.attempt,
      status: o.status,
      httpStatus: o.httpStatus,
      latencyMs: o.latencyMs,
      error: o.error,
      messageType: p.message.type,
      payloadBytes: p.payloadBytes,
      featureVersion: FEATURE_VERSION,
      featureValues: features,
      decidedAt,
    };
    void this.outcomes.add(value);
  }

  private async deadLetter(
    record: ConsumedRecord,
    reason: DeadLetterReason,
    error: string,
    about: { messageId: string | null; route: string | null; attempts: number },
  ): Promise<void> {
    const value = deadLetterOf(record, reason, error, { component: 'relay', ...about });
    await this.deadLetters.add({ messageId: about.messageId, value });
    this.counters.deadLettered++;
    this.log.warn(
      { topic: record.topic, offset: record.offset, reason, messageId: about.messageId },
      `dead-lettered: ${error}`,
    );
  }
}
