/** The AI Orchestrator as a component: the brain, the orchestrator loop over its topics, and its HTTP routes. */
import type { ApiInstance } from '../api/server.ts';
import type { Component, ComponentContext, ComponentHealth } from '../app/component.ts';
import type { Config } from '../config/index.ts';
import { Brain, type BrainSettings } from './brain.ts';
import { OrchestratorLoop } from './loop.ts';
import { type EndpointRef, PolicyEngine } from './policy.ts';
import { orchestratorRoutes } from './routes.ts';

function pairs(items: readonly string[]): Map<string, string> {
  return new Map(items.map((i) => [i.slice(0, i.indexOf('=')), i.slice(i.indexOf('=') + 1)]));
}

/** Orchestrator settings from the (validated) configuration. */
export function brainSettings(config: Config): BrainSettings {
  const endpoints = new Map<string, EndpointRef[]>();
  for (const [service, refs] of pairs(config.ORCH_ENDPOINTS)) {
    endpoints.set(
      service,
      refs.split('|').map((r) => ({ route: r.slice(0, r.indexOf('/')), endpoint: r.slice(r.indexOf('/') + 1) })),
    );
  }
  return {
    horizonMs: config.ORCH_HORIZON_MINUTES * 60_000,
    evalIntervalMs: config.ORCH_EVAL_INTERVAL_MS,
    slo: { errorRate: config.ORCH_SLO_ERROR_RATE, latencyMs: config.ORCH_SLO_LATENCY_MS },
    defaultCapacityRps: config.ORCH_REPLICA_CAPACITY_RPS,
    capacityByService: new Map([...pairs(config.ORCH_SERVICE_CAPACITY)].map(([s, v]) => [s, Number(v)])),
    cpuSaturation: 90,
    memorySaturation: 90,
    scaling: {
      headroom: config.ORCH_HEADROOM,
      minReplicas: config.ORCH_MIN_REPLICAS,
      maxReplicas: config.ORCH_MAX_REPLICAS,
      cooldownMs: config.ORCH_SCALE_COOLDOWN_MS,
      pricePerReplicaHour: config.ORCH_REPLICA_HOUR_PRICE,
    },
    policy: {
      dryRun: config.ORCH_DRY_RUN,
      anomalyScore: config.ORCH_ANOMALY_ACTION_SCORE,
      failureProbability: config.ORCH_FAILURE_ACTION_PROBABILITY,
      breakerOpenMs: config.ORCH_BREAKER_OPEN_MS,
      perTargetPerHour: config.ORCH_ACTIONS_PER_TARGET_PER_HOUR,
      webhookConfigured: Boolean(config.ORCH_WEBHOOK_URL),
      endpoints,
    },
    anomalyWindow: config.ORCH_ANOMALY_WINDOW,
  };
}

export class OrchestratorComponent implements Component {
  readonly name = 'orchestrator';
  readonly brain: Brain;
  readonly loop: OrchestratorLoop;
  private readonly config: Config;
  // A request that asks for proposals on a live instance gets them from an engine of its own, so
  // they neither take the live decisions' ids nor count against their rate limits.
  private readonly proposals: PolicyEngine;

  constructor(ctx: ComponentContext) {
    const { config } = ctx;
    this.config = config;
    this.brain = new Brain(brainSettings(config));
    this.loop = new OrchestratorLoop(ctx.kafka, this.brain, ctx.log, ctx.events, {
      lookbackMs: config.ORCH_ANOMALY_LOOKBACK_MS,
      trainWindowMs: config.ORCH_TRAIN_WINDOW_MS,
      webhook: { url: config.ORCH_WEBHOOK_URL, allowedHosts: config.ORCH_WEBHOOK_ALLOWED_HOSTS },
      lifecycle: {
        answerTimeoutMs: config.ORCH_ACTION_ANSWER_MS,
        retrainAnswerTimeoutMs: config.ORCH_RETRAIN_ANSWER_MS,
        verifyAfterMs: config.ORCH_VERIFY_AFTER_MS,
      },
    });
    this.proposals = new PolicyEngine({ ...this.brain.settings.policy, dryRun: true });
  }

  start(): Promise<void> {
    return this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  health(): ComponentHealth {
    return this.loop.health();
  }

  routes(api: ApiInstance): void {
    const { brain, config } = this;
    orchestratorRoutes(api, {
      brain,
      dryRunOnly: config.ORCH_DRY_RUN,
      optimize: async (services, dryRun) => {
        const conditions = brain.evaluateAll(services);
        for (const s of services ?? brain.serviceNames())
          for (const inc of brain.anomalies.openFor(s)) conditions.push({ type: 'anomaly', anomaly: inc.latest });
        if (dryRun && !config.ORCH_DRY_RUN) {
          const now = Date.now();
          return this.loop.publish(conditions.flatMap((c) => this.proposals.decide(c, now)));
        }
        return this.loop.act(conditions);
      },
    });
  }
}

export function createOrchestrator(ctx: ComponentContext): Component {
  return new OrchestratorComponent(ctx);
}
