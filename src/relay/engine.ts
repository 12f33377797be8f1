/**
 * The delivery engine: one consumer per priority tier, weighted delivery slots across tiers,
 * per-key order within a partition, a policy per route, retries on another endpoint with
 * backoff, outcomes for every attempt, and the dead-letter topic for what cannot be delivered.
 * A batch handler returns only once every record in it is delivered or dead-lettered, so the
 * offsets the BatchConsumer then commits never skip a message (at-least-once).
 */
import type { DeadLetterInput, DeliveryOutcomeInput, RelayMessage, Route } from '../../schemas/types.ts';
import type { EcosystemEventSpec } from '../app/events.ts';
import {
  type BatchConsumer,
  type ConsumedBatch,
  type ConsumedRecord,
  DecodeError,
  type KafkaConnection,
  type TypedProducer,
} from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import { TIERS, type Tier } from './config.ts';
import { type EndpointControls, EndpointRuntime, freshControls, type Senders } from './endpoint.ts';
import { WeightedGate } from './gate.ts';
import { featureRecord } from './learned/features.ts';
import { LearnedPolicy, type RoutingScorer } from './learned/policy.ts';
import { LeastInflight, P2cPeakEwma, RoundRobin, type RoutedMessage, type RoutingPolicy } from './policies.ts';
import { type PolicyName, setting } from './routes.ts';
import { Coalescer, type DeliveryRequest, HttpSender, KafkaSender } from './senders.ts';
import { BatchProgress } from './window.ts';

export interface EngineOptions {
  groupId: string;
  maxInflight: number;
  maxUncommitted: number;
  tierWeights: Record<Tier, number>;
  defaultRoutes: Partial<Record<Tier, string>>;
  retryBackoffMs: number;
  exploration: number;
  shedThreshold: number;
  httpConnections: number;
}

/** A message on its way: what the policies see, plus what delivery needs. */
interface Pending extends RoutedMessage {
  record: ConsumedRecord;
  tier: Tier;
  message: RelayMessage;
  route: string;
  request: DeliveryRequest;
}

export interface RouteRuntime {
  route: Route;
  endpoints: EndpointRuntime[];
  policy: RoutingPolicy;
  decisions: number;
  decisionMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Thrown out of a batch when the engine stops mid-batch: what was done is committed, the rest is fetched again. */
class Stopping extends Error {}

/** A record of a batch on its key's chain; `pending` is null while its decode waits for the registry. */
interface ChainItem {
  record: ConsumedRecord;
  pending: Pending | null;
}

export class RelayEngine {
  readonly routes = new Map<string, RouteRuntime>();
  private readonly controls = new Map<string, EndpointControls>();
  readonly gate: WeightedGate;
  /** Units of RELAY_MAX_UNCOMMITTED (window.ts). */
  readonly window: WeightedGate;
  private readonly senders: Senders;
  private consumers: BatchConsumer[] = [];
  private running = false;
  private stopping = false;
  private deliveryProducer?: Promise<TypedProducer>;
  private readonly outcomes: Coalescer<{ key: string; messageId: string; value: DeliveryOutcomeInput }>;
  private readonly deadLetters: Coalescer<{ messageId: string | null; value: DeadLetterInput }>;
  private scorer: RoutingScorer | null = null;
  private readonly fallbackPolicy = new P2cPeakEwma();
  readonly counters = { consumed: 0, delivered: 0, deadLettered: 0, attempts: 0, retries: 0 };

  private readonly kafka: KafkaConnection;
  private readonly options: EngineOptions;
  private readonly log: Logger;
  private readonly publish: (e: EcosystemEventSpec) => void;

  constructor(kafka: KafkaConnection, options: EngineOptions, log: Logger, publish: (e: EcosystemEventSpec) => void) {
    this.kafka = kafka;
    this.options = options;
    this.log = log;
    this.publish = publish;
    this.gate = new WeightedGate(options.maxInflight, options.tierWeights);
    this.window = new WeightedGate(options.maxUncommitted, options.tierWeights);
    this.deliveryProducer = kafka.newProducer();
    this.deliveryProducer.catch(() => undefined);
    this.senders = { http: new HttpSender(options.httpConnections), kafka: new KafkaSender(this.deliveryProducer) };
    this.outcomes = new Coalescer(async (items) => {
      await (await kafka.producer()).send(
        'delivery.outcomes',
        items.map((i) => ({ key: i.key, value: i.value, headers: { 'message-id': i.messageId } })),
      );
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
      await consumer.subscribe([this.kafka.catalog.name(`messages.${tier}`)], { fromBeginning: true });
      await consumer.run((batch) => this.handleBatch(tier, batch), { partitionsConcurrently: 6 });
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

  /** Stops intake: in-flight deliveries finish, their offsets are committed, the rest is left for the next owner. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
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

  private async handleBatch(tier: Tier, batch: ConsumedBatch): Promise<void> {
    const progress = new BatchProgress(batch, tier, this.window, this.log);
    try {
      await this.deliverBatch(tier, batch, progress);
    } finally {
      await progress.close();
    }
  }

  private async deliverBatch(tier: Tier, batch: ConsumedBatch, progress: BatchProgress): Promise<void> {
    const items: ChainItem[] = [];
    for (const record of batch.records) {
      const decoded = await this.decode(tier, record);
      if (decoded === 'dead-lettered') progress.handle(record.offset);
      else items.push({ record, pending: decoded === 'deferred' ? null : decoded });
    }
    this.counters.consumed += batch.records.length;
    this.prepare(items.flatMap((i) => (i.pending ? [i.pending] : [])));
    const admissions = new Map<ChainItem, () => void>();
    const admitted = new Map(items.map((i) => [i, new Promise<void>((resolve) => admissions.set(i, resolve))]));
    const chains = new Map<string, ChainItem[]>();
    const independent: ChainItem[][] = [];
    for (const item of items) {
      if (!item.record.key?.length) {
        independent.push([item]);
        continue;
      }
      const k = item.record.key.toString('latin1');
      const chain = chains.get(k);
      if (chain) chain.push(item);
      else chains.set(k, [item]);
    }
    const abort = { stopped: false };
    // Once a chain fails (stopping, rebalance, a dead letter that could not be written), the batch is
    // handed back: every chain still waiting for the window is let go, to find that out and end.
    const abandon = (err: unknown) => {
      abort.stopped = true;
      for (const resolve of admissions.values()) resolve();
      throw err;
    };
    const running = Promise.allSettled(
      [...chains.values(), ...independent].map((chain) =>
        this.runChain(tier, chain, batch, progress, admitted, abort).catch(abandon),
      ),
    );
    // Units of the window are taken in offset order, so the oldest unhandled record always holds one.
    void (async () => {
      for (const item of items) {
        if (abort.stopped) return;
        await progress.admit(item.record.offset);
        admissions.get(item)!();
      }
    })();
    const results = await running;
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /** Delivers one key's messages in order. */
  private async runChain(
    tier: Tier,
    chain: ChainItem[],
    batch: ConsumedBatch,
    progress: BatchProgress,
    admitted: Map<ChainItem, Promise<void>>,
    abort: { stopped: boolean },
  ): Promise<void> {
    for (const item of chain) {
      await admitted.get(item);
      if (abort.stopped) throw new Stopping('batch handed back');
      this.checkRunning(batch);
      const p = item.pending ?? (await this.decodeRetrying(tier, item.record, batch));
      if (p) {
        await this.gate.acquire(tier);
        try {
          await this.deliver(p);
        } finally {
          this.gate.release();
        }
      }
      progress.handle(item.record.offset);
      await batch.heartbeat().catch(() => undefined);
    }
  }

  /** Stopping, or the partition went to another member in a rebalance: hand the rest back uncommitted. */
  private checkRunning(batch: ConsumedBatch): void {
    if (this.stopping || !batch.isRunning() || batch.isStale()) throw new Stopping('relay stopping');
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
   * Decodes a record. Undecodable ones are dead-lettered at once. One whose schema the registry
   * must supply while it is unreachable is deferred: its key's chain retries it, and other keys go on.
   */
  private async decode(tier: Tier, record: ConsumedRecord): Promise<Pending | 'deferred' | 'dead-lettered'> {
    try {
      const { value } = await this.kafka.serde.decode(`messages.${tier}`, record.value);
      return this.pendingOf(tier, record, value as RelayMessage);
    } catch (err) {
      if (err instanceof DecodeError && err.retriable) return 'deferred';
      await this.deadLetterUndecodable(record, err);
      return 'dead-lettered';
    }
  }

  /** Retries the decode of a deferred record with backoff until the registry answers (undefined: dead-lettered). */
  private async decodeRetrying(tier: Tier, record: ConsumedRecord, batch: ConsumedBatch): Promise<Pending | undefined> {
    for (let wait = 500; ; wait = Math.min(wait * 2, 10_000)) {
      const decoded = await this.decode(tier, record);
      if (decoded === 'dead-lettered') return undefined;
      if (decoded !== 'deferred') return decoded;
      this.log.warn({ tier, offset: record.offset }, 'schema registry unavailable; retrying the decode');
      await sleep(wait);
      this.checkRunning(batch);
      await batch.heartbeat().catch(() => undefined);
    }
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
      request: {
        id: message.id,
        key: record.key,
        type: message.type,
        payload: message.payload,
        contentType: message.contentType,
        headers: message.headers,
      },
    };
  }

  // ---- delivering ----------------------------------------------------------------------

  private backoff(route: Route, attempt: number): number {
    const base = setting(route, 'retryBackoffMs', this.options.retryBackoffMs);
    const cap = base * 2 ** Math.min(attempt - 1, 6);
    return cap / 2 + Math.random() * (cap / 2);
  }

  private async deliver(p: Pending): Promise<void> {
    let attempts = 0;
    let rejections = 0;
    let lastError = '';
    let reason = 'max_attempts';
    const tried = new Set<EndpointRuntime>();
    for (;;) {
      const rt = this.routes.get(p.route);
      if (!rt) {
        await this.deadLetter(p.record, 'unknown_route', `route "${p.route}" does not exist`, {
          messageId: p.message.id,
          route: p.route || null,
          attempts,
        });
        return;
      }
      if (attempts >= rt.route.maxAttempts) break;
      const now = Date.now();
      const available = rt.endpoints.filter((e) => e.available(now));
      const fresh = available.filter((e) => !tried.has(e));
      const candidates = fresh.length ? fresh : available;
      if (!candidates.length) {
        attempts++;
        reason = 'no_endpoint';
        lastError = `no endpoint of route ${rt.route.name} is available (${rt.endpoints.map((e) => `${e.endpoint.id}: ${e.state(now)}`).join(', ')})`;
        if (attempts < rt.route.maxAttempts) await sleep(this.backoff(rt.route, attempts));
        continue;
      }
      p.attempt = attempts + 1;
      const started = performance.now();
      const endpoint = this.pick(rt, candidates, p, now);
      rt.decisionMs += performance.now() - started;
      rt.decisions++;
      const features = featureRecord(endpoint, p, now);
      const outcome = await endpoint.attempt(p.request);
      this.counters.attempts++;
      this.writeOutcome(p, rt, endpoint, outcome, features, now);
      if (outcome.status === 'DELIVERED') {
        this.counters.delivered++;
        return;
      }
      tried.add(endpoint);
      // A breaker that opened between choice and call costs no attempt, a bounded number of times.
      if (outcome.status === 'REJECTED' && ++rejections <= rt.endpoints.length) continue;
      attempts++;
      lastError = `${endpoint.key}: ${outcome.error ?? outcome.status}`;
      reason = 'max_attempts';
      if (outcome.permanent) {
        await this.deadLetter(p.record, 'endpoint_rejected', lastError, {
          messageId: p.message.id,
          route: rt.route.name,
          attempts,
        });
        return;
      }
      if (attempts < rt.route.maxAttempts) {
        this.counters.retries++;
        await sleep(this.backoff(rt.route, attempts));
      }
    }
    await this.deadLetter(p.record, reason, lastError, { messageId: p.message.id, route: p.route, attempts });
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
    features: Record<string, number>,
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
      features,
      decidedAt,
    };
    this.outcomes
      .add({ key: e.endpoint.id, messageId: p.message.id, value })
      .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'could not write delivery outcomes'));
  }

  private async deadLetter(
    record: ConsumedRecord,
    reason: string,
    error: string,
    about: { messageId: string | null; route: string | null; attempts: number },
  ): Promise<void> {
    const value: DeadLetterInput = {
      sourceTopic: record.topic,
      sourcePartition: record.partition,
      sourceOffset: Number(record.offset),
      key: record.key,
      value: record.value,
      headers: record.headers,
      reason,
      error,
      component: 'relay',
      messageId: about.messageId,
      route: about.route,
      attempts: about.attempts,
      failedAt: Date.now(),
    };
    await this.deadLetters.add({ messageId: about.messageId, value });
    this.counters.deadLettered++;
    this.log.warn(
      { topic: record.topic, offset: record.offset, reason, messageId: about.messageId },
      `dead-lettered: ${error}`,
    );
  }
}
