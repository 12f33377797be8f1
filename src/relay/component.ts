/** RelayCore as a component: routes store, delivery engine, orchestrator actions, outcome watcher, the routing model. */

import { randomUUID } from 'node:crypto';
import type { Evaluation, Hyperparameters, ModelVersion, Route } from '../../schemas/types.ts';
import type { ApiInstance } from '../api/server.ts';
import type { Component, ComponentContext, ComponentHealth } from '../app/component.ts';
import type { EcosystemEventSpec } from '../app/events.ts';
import { AutomatrixError } from '../errors/index.ts';
import { type ChampionFollower, followChampion, type RetrainOptions, requestRetraining } from '../shared/index.ts';
import { ActionApplier } from './actions.ts';
import { relayGroupId, TIERS, type Tier } from './config.ts';
import { routingModel } from './learned/index.ts';
import { LearnedPolicy } from './learned/policy.ts';
import { RelayLoop } from './loop.ts';
import { relayRoutes } from './routes.ts';
import { type LearnedStateBody, type RelayStatusBody, routeStatus } from './status.ts';
import { RouteStore, readRoutesFile } from './store.ts';
import type { Fate } from './watcher.ts';
import { OutcomeWatcher } from './watcher.ts';

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

export interface OptimizeRequest {
  /** Outcomes of this long ago to now are replayed. */
  windowMs: number;
  /** Longest wait for the training job once NeuroWeaver accepted it. */
  timeoutMs: number;
  budget?: RetrainOptions['budget'];
  hyperparameters?: Hyperparameters;
  /** The holdout NeuroWeaver evaluates and gates on: the newest outcomes (default) or a random sample. */
  holdout?: 'newest' | 'random';
}

export interface OptimizeResult {
  jobId: string;
  model: string;
  window: { from: number; to: number };
  promoted: boolean;
  /** The promotion gate's reason. */
  reason: string;
  candidate: {
    version: string;
    status: ModelVersion['status'];
    rows: number;
    hyperparameters: Record<string, string>;
    /** What the gate compared: the network, the baselines and the champion it was measured against (see docs/neuroweaver.md). */
    evaluation: Evaluation | null;
  };
  /** The version this instance's learned routes use now. */
  serving: string | null;
  routesUsingLearned: string[];
  /** What learned routes run on after this: the model, or p2c-peak-ewma and why (a rejected first version is not served). */
  learned: LearnedStateBody;
}

/** A condition of this instance that keeps optimize from asking NeuroWeaver. */
export class OptimizeError extends AutomatrixError {
  constructor(code: 'optimize_running' | 'unavailable', message: string) {
    super(code, message);
  }
}

/** The routing model this instance serves, as the registry describes it. */
interface ServedModel {
  version: ModelVersion | null;
  /** Why the champion is not the one serving, if it is not. */
  error: string | null;
}

const REGISTRY_WAIT_MS = 30_000;

export class RelayCore implements Component {
  readonly name = 'relay';
  readonly store: RouteStore;
  readonly loop: RelayLoop;
  readonly actions: ActionApplier;
  readonly watcher: OutcomeWatcher;
  private started = false;
  private optimizing = false;
  private follower?: ChampionFollower;
  private model: ServedModel = { version: null, error: null };

  private readonly ctx: ComponentContext;

  constructor(ctx: ComponentContext) {
    this.ctx = ctx;
    const c = ctx.config;
    const publish = (e: EcosystemEventSpec) => void ctx.events.publish(e);
    this.store = new RouteStore(ctx.kafka, ctx.log);
    this.loop = new RelayLoop(
      ctx.kafka,
      {
        groupId: relayGroupId(c),
        maxInflight: c.RELAY_MAX_INFLIGHT,
        maxUncommitted: c.RELAY_MAX_UNCOMMITTED,
        tierWeights: c.RELAY_TIER_WEIGHTS,
        defaultRoutes: c.RELAY_DEFAULT_ROUTES,
        retryBackoffMs: c.RELAY_RETRY_BACKOFF_MS,
        exploration: c.RELAY_EXPLORATION,
        shedThreshold: c.RELAY_SHED_THRESHOLD,
        httpConnections: c.RELAY_HTTP_CONNECTIONS,
        noEndpointMaxWaitMs: c.RELAY_NO_ENDPOINT_MAX_WAIT_MS,
      },
      ctx.log,
      publish,
    );
    this.actions = new ActionApplier(ctx.kafka, this.loop, ctx.log, publish);
    this.watcher = new OutcomeWatcher(ctx.kafka, ctx.log);
    this.store.onChange((name, route) => this.loop.setRoute(name, route));
  }

  async start(): Promise<void> {
    if (this.started) return;
    const seed = this.ctx.config.ROUTES_FILE ? readRoutesFile(this.ctx.config.ROUTES_FILE) : [];
    await this.store.start(seed);
    await Promise.all([this.actions.start(), this.watcher.start(), this.followModel()]);
    this.started = true;
    if (this.ctx.config.RELAY_AUTOSTART) await this.loop.start();
    this.ctx.log.info(
      { routes: this.store.all().map((r) => r.name), model: this.loop.scorerVersion() },
      'RelayCore ready',
    );
  }

  /** Serves the routing model's champion from NeuroWeaver's registry now, and every later champion as it changes. */
  private async followModel(): Promise<void> {
    try {
      this.follower = await followChampion(this.ctx.kafka, routingModel.name, (v, dir) => this.serve(v, dir), {
        saveRoot: this.ctx.config.MODEL_SAVE_PATH,
        log: this.ctx.log,
      });
    } catch (err) {
      this.model.error = `the model registry could not be read: ${(err as Error).message}`;
      this.ctx.log.error({ err }, `${this.model.error}; learned routes use p2c-peak-ewma`);
    }
  }

  /** Loads a champion's artifacts and swaps it in; if they do not load, the model serving so far stays. */
  private async serve(champion: ModelVersion, dir: string): Promise<void> {
    const previous = this.loop.scorerVersion();
    try {
      this.loop.setScorer(await routingModel.load(dir, champion.version));
    } catch (err) {
      this.model.error = `champion ${champion.version} does not load from ${dir}: ${(err as Error).message}`;
      this.ctx.log.error(
        `${this.model.error}; ${previous ? `still serving ${previous}` : 'learned routes use p2c-peak-ewma'}`,
      );
      return;
    }
    this.model = { version: champion, error: null };
    const message = `learned routes now use routing model ${champion.version}${previous ? ` instead of ${previous}` : ''}`;
    this.ctx.log.info({ version: champion.version, previous }, message);
    this.ctx.events.publish({
      component: 'relay',
      kind: 'model_changed',
      severity: 'INFO',
      subject: `routing/${champion.version}`,
      message,
      data: { version: champion.version, previous: previous ?? '', note: champion.note ?? '' },
    });
  }

  async stop(): Promise<void> {
    await this.loop.close();
    await Promise.allSettled([this.actions.stop(), this.watcher.stop(), this.store.stop(), this.follower?.stop()]);
    this.follower = undefined;
    this.started = false;
  }

  health(): ComponentHealth {
    if (!this.started) return { status: 'stopped', detail: 'not started' };
    if (!this.loop.isRunning())
      return { status: 'stopped', detail: 'consumption stopped (POST /api/v2/relaycore/start)' };
    const modelTrouble = this.model.error ?? this.follower?.failure();
    if (modelTrouble) return { status: 'degraded', detail: modelTrouble };
    if (!this.store.all().length)
      return { status: 'ok', detail: 'no routes yet (ROUTES_FILE or POST /api/v2/relaycore/routes)' };
    const now = Date.now();
    const paused = this.loop.outages.active().map((name) => {
      const o = this.loop.outages.status(name)!;
      return `route ${name} paused for ${Math.round((now - o.since) / 1000)} s (no endpoint available; ${o.waiting} messages waiting, dead-lettered after ${Math.round(this.ctx.config.RELAY_NO_ENDPOINT_MAX_WAIT_MS / 1000)} s)`;
    });
    const down = [...this.loop.routes.values()]
      .filter((rt) => !rt.endpoints.some((e) => e.available(now)) && !this.loop.outages.status(rt.route.name))
      .map((rt) => rt.route.name);
    if (down.length) paused.push(`no endpoint available on ${down.join(', ')}`);
    return paused.length ? { status: 'degraded', detail: paused.join('; ') } : { status: 'ok' };
  }

  routes(api: ApiInstance): void {
    relayRoutes(api, this);
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
        value: {
          id,
          route: opts.route ?? null,
          type: opts.type ?? 'default',
          payload: opts.payload,
          contentType: opts.contentType ?? 'application/json',
          headers: opts.headers ?? {},
          createdAt: Date.now(),
        },
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

  /**
   * Asks NeuroWeaver (through Kafka) to retrain the routing model on the outcomes of the last
   * `windowMs`, waits for the version it registers, and for this instance to serve it if it was
   * promoted. Throws OptimizeError, or NeuroWeaver's RetrainUnanswered / RetrainTimedOut / RetrainFailed.
   */
  async optimize(req: OptimizeRequest): Promise<OptimizeResult> {
    const follower = this.follower;
    if (!follower)
      throw new OptimizeError(
        'unavailable',
        this.model.error ?? 'RelayCore is not started: it does not follow the model registry yet',
      );
    if (this.optimizing)
      throw new OptimizeError('optimize_running', 'an optimization is already running on this instance');
    this.optimizing = true;
    try {
      const to = Date.now();
      const from = to - req.windowMs;
      const answer = await requestRetraining(
        this.ctx.kafka,
        routingModel.name,
        { from, to },
        {
          answerTimeoutMs: this.ctx.config.RELAY_OPTIMIZE_ANSWER_MS,
          timeoutMs: req.timeoutMs,
          requestedBy: `relaycore ${relayGroupId(this.ctx.config)}`,
          reason: `POST /api/v2/relaycore/optimize: the last ${Math.round(req.windowMs / 60_000)} min of delivery outcomes`,
          budget: req.budget,
          hyperparameters: req.hyperparameters,
          holdout: req.holdout,
        },
      );
      const record = await follower.waitFor(answer.version, REGISTRY_WAIT_MS);
      if (!record)
        throw new Error(
          `NeuroWeaver registered ${answer.version} (job ${answer.jobId}) but its record did not reach this instance's registry reader within ${REGISTRY_WAIT_MS / 1000} s`,
        );
      await follower.settled();
      return {
        jobId: answer.jobId,
        model: routingModel.name,
        window: { from, to },
        promoted: record.status === 'CHAMPION',
        reason: record.note ?? answer.message,
        candidate: {
          version: record.version,
          status: record.status,
          rows: Number(record.rows),
          hyperparameters: record.hyperparameters,
          evaluation: record.evaluation,
        },
        serving: this.loop.scorerVersion(),
        learned: this.learnedState(),
        routesUsingLearned: this.store
          .all()
          .filter((r) => r.policy === 'learned')
          .map((r) => r.name),
      };
    } finally {
      this.optimizing = false;
    }
  }

  /**
   * What `learned` routes run on now: the model serving, or the p2c-peak-ewma fallback and why (no model
   * promoted yet and what the gate said of the latest, artifacts that do not load, a registry not read,
   * or, for one route, predictions its last batches could not use).
   */
  learnedState(route?: string): LearnedStateBody {
    const serving = this.loop.scorerVersion();
    if (serving) {
      const policy = route ? this.loop.routes.get(route)?.policy : undefined;
      const f = policy instanceof LearnedPolicy ? policy.lastFallback : null;
      if (f && Date.now() - f.at < 10_000) return { model: serving, fallback: 'p2c-peak-ewma', reason: f.reason };
      return { model: serving, fallback: null, reason: null };
    }
    return { model: null, fallback: 'p2c-peak-ewma', reason: this.noModelReason() };
  }

  private noModelReason(): string {
    if (this.model.error) return this.model.error;
    const failure = this.follower?.failure();
    if (failure) return `the model registry is not read: ${failure}`;
    if (!this.follower) return 'RelayCore does not follow the model registry yet (not started)';
    const latest = this.follower.latest();
    if (!latest) return 'no routing model has been trained yet (POST /api/v2/relaycore/optimize)';
    if (latest.status === 'REJECTED')
      return `no routing model has been promoted: the latest, ${latest.version}, was not (${latest.note ?? 'rejected by the promotion gate'})`;
    return `routing model ${latest.version} is not loaded yet`;
  }

  async status(): Promise<RelayStatusBody> {
    const now = Date.now();
    const admin = await this.ctx.kafka.admin();
    const lagOf = async (tier: Tier) => {
      const rows = await admin
        .lag(this.loop.tierGroup(tier), [this.ctx.kafka.catalog.name(`messages.${tier}`)])
        .catch(() => []);
      return {
        total: rows.reduce((n, r) => n + r.lag, 0),
        partitions: rows.map((r) => ({ partition: r.partition, committed: r.committed, high: r.high, lag: r.lag })),
      };
    };
    const [high, normal, low] = await Promise.all(TIERS.map(lagOf));
    const gate = this.loop.gate;
    const served = this.model.version;
    return {
      running: this.loop.isRunning(),
      groupId: relayGroupId(this.ctx.config),
      slots: {
        capacity: gate.capacity,
        inUse: gate.inUse(),
        waiting: { high: gate.waiting('high'), normal: gate.waiting('normal'), low: gate.waiting('low') },
        granted: { ...gate.granted },
      },
      uncommitted: {
        capacity: this.loop.window.capacity,
        inUse: this.loop.window.inUse(),
        waiting: this.loop.window.waiting(),
        pausedPartitions: this.loop.windowStatus().pausedPartitions,
      },
      counters: { ...this.loop.counters },
      model: {
        version: this.loop.scorerVersion(),
        champion: this.follower?.champion()?.version ?? null,
        createdAt: served?.createdAt ?? null,
        note: served?.note ?? null,
        rows: served ? Number(served.rows) : null,
        evaluation: served?.evaluation ?? null,
        error: this.model.error ?? this.follower?.failure() ?? null,
      },
      lag: { high: high!, normal: normal!, low: low! },
      routes: this.store.all().map((route) => {
        const outage = this.loop.outages.status(route.name);
        return routeStatus(
          route,
          this.loop.routes.get(route.name),
          now,
          outage && { ...outage, maxWaitMs: this.ctx.config.RELAY_NO_ENDPOINT_MAX_WAIT_MS },
          this.learnedState(route.name),
        );
      }),
      recentActions: [...this.actions.recent],
    };
  }
}

export function createRelay(ctx: ComponentContext): Component {
  return new RelayCore(ctx);
}
