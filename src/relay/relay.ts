/** RelayCore as a component: routes store, delivery engine, orchestrator actions, outcome watcher, model. */
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { DeliveryOutcome, Route } from '../../schemas/types.js';
import type { Component, ComponentContext, ComponentHealth } from '../app/component.js';
import type { EcosystemEventSpec } from '../app/events.js';
import type { ApiInstance } from '../api/server.js';
import { replayWindow } from '../kafka/index.js';
import { ActionApplier } from './actions.js';
import { registerRelayApi } from './api.js';
import { TIERS, type Tier } from './config.js';
import { RelayEngine } from './engine.js';
import { routingModel, type EpochLog, type RoutingHyperparameters, type RoutingMetrics } from './learned/index.js';
import { redactTarget } from './redact.js';
import { readRoutesFile, RouteStore } from './routes.js';
import type { Fate } from './watcher.js';
import { OutcomeWatcher } from './watcher.js';

export interface SendOptions {
  id?: string;
  route?: string;
  type?: string;
  payload: string;
  contentType?: string;
  headers?: Record<string, string>;
  key?: string;
  priority?: Tier;
}

export interface Sent {
  id: string;
  topic: string;
  priority: Tier;
  partition: number;
  offset: string;
}

export interface OptimizeResult {
  version: string;
  previousVersion: string | null;
  rows: number;
  skipped: number;
  window: { from: number; to: number };
  metrics: RoutingMetrics;
  previousMetrics: RoutingMetrics | null;
  epochs: EpochLog[];
  trainingMs: number;
  savedTo: string;
  routesUsingLearned: string[];
}

export class OptimizeError extends Error {}

export class RelayCore implements Component {
  readonly name = 'relay';
  readonly store: RouteStore;
  readonly engine: RelayEngine;
  readonly actions: ActionApplier;
  readonly watcher: OutcomeWatcher;
  private started = false;
  private optimizing = false;
  private modelMetrics: RoutingMetrics | null = null;
  private readonly modelRoot: string;

  constructor(private readonly ctx: ComponentContext) {
    const c = ctx.config;
    const publish = (e: EcosystemEventSpec) => void ctx.events.publish(e);
    this.store = new RouteStore(ctx.kafka, ctx.log);
    this.engine = new RelayEngine(
      ctx.kafka,
      {
        groupId: c.RELAY_GROUP_ID,
        maxInflight: c.RELAY_MAX_INFLIGHT,
        maxUncommitted: c.RELAY_MAX_UNCOMMITTED,
        tierWeights: c.RELAY_TIER_WEIGHTS,
        defaultRoutes: c.RELAY_DEFAULT_ROUTES,
        retryBackoffMs: c.RELAY_RETRY_BACKOFF_MS,
        exploration: c.RELAY_EXPLORATION,
        shedThreshold: c.RELAY_SHED_THRESHOLD,
        httpConnections: c.RELAY_HTTP_CONNECTIONS,
      },
      ctx.log,
      publish,
    );
    this.actions = new ActionApplier(ctx.kafka, this.engine, ctx.log, publish);
    this.watcher = new OutcomeWatcher(ctx.kafka, ctx.log);
    this.store.onChange((name, route) => this.engine.setRoute(name, route));
    this.modelRoot = resolve(c.MODEL_SAVE_PATH, routingModel.name);
  }

  async start(): Promise<void> {
    if (this.started) return;
    const seed = this.ctx.config.ROUTES_FILE ? readRoutesFile(this.ctx.config.ROUTES_FILE) : [];
    await this.store.start(seed);
    await Promise.all([this.actions.start(), this.watcher.start(), this.loadLatestModel()]);
    this.started = true;
    if (this.ctx.config.RELAY_AUTOSTART) await this.engine.start();
    this.ctx.log.info({ routes: this.store.all().map((r) => r.name), model: this.engine.scorerVersion() }, 'RelayCore ready');
  }

  private async loadLatestModel(): Promise<void> {
    const version = await routingModel.latestVersion(this.modelRoot);
    if (!version) return;
    try {
      const scorer = await routingModel.load(join(this.modelRoot, version), version);
      this.modelMetrics = scorer.metrics;
      this.engine.setScorer(scorer);
    } catch (err) {
      this.ctx.log.warn({ version, err: (err as Error).message }, 'could not load the latest routing model; learned routes use p2c-peak-ewma');
    }
  }

  async stop(): Promise<void> {
    await this.engine.close();
    await Promise.allSettled([this.actions.stop(), this.watcher.stop(), this.store.stop()]);
    this.started = false;
  }

  health(): ComponentHealth {
    if (!this.started) return { status: 'stopped', detail: 'not started' };
    if (!this.engine.isRunning()) return { status: 'stopped', detail: 'consumption stopped (POST /api/v2/relaycore/start)' };
    if (!this.store.all().length) return { status: 'ok', detail: 'no routes yet (ROUTES_FILE or POST /api/v2/relaycore/routes)' };
    const now = Date.now();
    const down = [...this.engine.routes.values()].filter((rt) => !rt.endpoints.some((e) => e.available(now))).map((rt) => rt.route.name);
    return down.length ? { status: 'degraded', detail: `no endpoint available on ${down.join(', ')}` } : { status: 'ok' };
  }

  routes(api: ApiInstance): void {
    registerRelayApi(api, this);
  }

  config() {
    return this.ctx.config;
  }

  /** Produces a message to its priority tier; the caller may then wait for its fate. */
  async send(opts: SendOptions): Promise<Sent> {
    const priority = opts.priority ?? 'normal';
    const id = opts.id ?? randomUUID();
    const producer = await this.ctx.kafka.producer();
    const [res] = await producer.send(`messages.${priority}`, [
      {
        key: opts.key ?? null,
        value: { id, route: opts.route ?? null, type: opts.type ?? 'default', payload: opts.payload, contentType: opts.contentType ?? 'application/json', headers: opts.headers ?? {}, createdAt: Date.now() },
      },
    ]);
    return { id, topic: res!.topic, priority, partition: res!.partition, offset: res!.baseOffset };
  }

  defaultRoute(priority: Tier): string | undefined {
    return this.ctx.config.RELAY_DEFAULT_ROUTES[priority];
  }

  waitFor(id: string, timeoutMs: number): { fate: Promise<Fate | undefined>; cancel: () => void } {
    return this.watcher.wait(id, timeoutMs);
  }

  async putRoute(route: Route): Promise<Route> {
    return this.store.put(route);
  }

  /** Refits the routing model on the outcomes of the last `windowMs`, saves it as a new version and serves it. */
  async optimize(windowMs: number, hyperparameters: Partial<RoutingHyperparameters> = {}): Promise<OptimizeResult> {
    if (!this.ctx.config.ENABLE_ML_TRAINING) throw new OptimizeError('training is disabled (ENABLE_ML_TRAINING=false)');
    if (this.optimizing) throw new OptimizeError('an optimization is already running');
    this.optimizing = true;
    try {
      const to = Date.now();
      const from = to - windowMs;
      const outcomes: DeliveryOutcome[] = [];
      await replayWindow(this.ctx.kafka, {
        topic: this.ctx.kafka.catalog.name('delivery.outcomes'),
        from,
        to,
        onRecords: async (records) => {
          for (const r of records) {
            try {
              outcomes.push((await this.ctx.kafka.serde.decode('delivery.outcomes', r.value)).value as DeliveryOutcome);
            } catch {
              /* an undecodable outcome is no training row */
            }
          }
        },
      });
      const examples = routingModel.examplesFromOutcomes(outcomes);
      const started = performance.now();
      const epochs: EpochLog[] = [];
      let trained;
      try {
        trained = await routingModel.train(examples, hyperparameters, (e) => epochs.push(e));
      } catch (err) {
        throw new OptimizeError((err as Error).message);
      }
      const trainingMs = performance.now() - started;
      const version = routingModel.newVersion();
      const dir = join(this.modelRoot, version);
      await routingModel.save(trained, dir);
      trained.model.dispose();
      const scorer = await routingModel.load(dir, version);
      const previousVersion = this.engine.scorerVersion();
      const previousMetrics = this.modelMetrics;
      this.engine.setScorer(scorer);
      this.modelMetrics = scorer.metrics;
      const routesUsingLearned = this.store.all().filter((r) => r.policy === 'learned').map((r) => r.name);
      this.ctx.events.publish({
        component: 'relay',
        kind: 'training',
        severity: 'INFO',
        subject: `routing/${version}`,
        message: `routing model ${version} trained on ${examples.count} outcomes and now serving ${routesUsingLearned.length} learned route(s)`,
        data: { version, rows: String(examples.count), valFailureLogLoss: scorer.metrics.valFailureLogLoss.toFixed(4), valLatencyMaeLog: scorer.metrics.valLatencyMaeLog.toFixed(4) },
      });
      return { version, previousVersion, rows: examples.count, skipped: examples.skipped, window: { from, to }, metrics: scorer.metrics, previousMetrics, epochs, trainingMs, savedTo: dir, routesUsingLearned };
    } finally {
      this.optimizing = false;
    }
  }

  async status() {
    const now = Date.now();
    const admin = await this.ctx.kafka.admin();
    const lag = Object.fromEntries(
      await Promise.all(
        TIERS.map(async (tier) => {
          const rows = await admin.lag(this.engine.tierGroup(tier), [this.ctx.kafka.catalog.name(`messages.${tier}`)]).catch(() => []);
          return [tier, { total: rows.reduce((n, r) => n + r.lag, 0), partitions: rows.map((r) => ({ partition: r.partition, committed: r.committed, high: r.high, lag: r.lag })) }] as const;
        }),
      ),
    );
    const gate = this.engine.gate;
    return {
      running: this.engine.isRunning(),
      groupId: this.ctx.config.RELAY_GROUP_ID,
      slots: { capacity: gate.capacity, inUse: gate.inUse(), waiting: { high: gate.waiting('high'), normal: gate.waiting('normal'), low: gate.waiting('low') }, granted: { ...gate.granted } },
      uncommitted: { capacity: this.engine.window.capacity, inUse: this.engine.window.inUse(), waiting: this.engine.window.waiting() },
      counters: { ...this.engine.counters },
      model: { version: this.engine.scorerVersion(), metrics: this.modelMetrics },
      lag,
      routes: this.store.all().map((route) => {
        const rt = this.engine.routes.get(route.name);
        return {
          name: route.name,
          policy: route.policy,
          maxAttempts: route.maxAttempts,
          settings: route.settings,
          updatedAt: route.updatedAt,
          decisions: rt?.decisions ?? 0,
          decisionUs: rt && rt.decisions ? Math.round((rt.decisionMs / rt.decisions) * 1000 * 100) / 100 : null,
          endpoints: (rt?.endpoints ?? []).map((e) => ({
            id: e.endpoint.id,
            kind: e.endpoint.kind,
            target: redactTarget(e.endpoint.target),
            weight: e.endpoint.weight,
            effectiveWeight: e.weight,
            state: e.state(now),
            breaker: e.breakerState(),
            shedding: e.shedding,
            controls: { drained: e.controls.drained, weightFactor: e.controls.weightFactor, forcedOpenUntil: e.controls.forcedOpenUntil || null, actions: [...e.controls.actions] },
            stats: e.stats.snapshot(now),
          })),
        };
      }),
      recentActions: [...this.actions.recent],
    };
  }
}
