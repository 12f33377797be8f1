/**
 * The gateway as a component: the WebSocket/SSE mirror (Gateway), the digests it keeps of
 * delivery.outcomes and ecosystem.events for analytics and status, its HTTP routes and the dashboard.
 */

import type { ApiInstance } from '../api/index.ts';
import type { Component, ComponentContext, ComponentHealth } from '../app/component.ts';
import { PerformanceAnalytics } from './analytics.ts';
import { dashboardRoutes } from './dashboard/routes.ts';
import { EcosystemTracker } from './ecosystem.ts';
import { Gateway } from './gateway.ts';
import type { SubscriptionTarget } from './loop.ts';
import { type GatewayParts, gatewayRoutes, rootRoutes } from './routes.ts';

const FEED_HISTORY = '-1h';
const RETRY_MS = 10_000;

export class GatewayComponent implements Component {
  readonly name = 'gateway';
  readonly gateway: Gateway;
  private readonly ctx: ComponentContext;
  private readonly parts: GatewayParts;
  private readonly retries = new Set<NodeJS.Timeout>();
  private running = false;
  private root: ApiInstance | undefined;

  constructor(ctx: ComponentContext) {
    this.ctx = ctx;
    this.gateway = new Gateway(ctx.config, ctx.kafka, ctx.log);
    this.parts = {
      gateway: this.gateway,
      analytics: new PerformanceAnalytics(),
      ecosystem: new EcosystemTracker(),
      health: () => this.health(),
    };
  }

  async start(): Promise<void> {
    this.running = true;
    this.gateway.start();
    this.follow('delivery.outcomes', this.parts.analytics);
    this.follow('ecosystem.events', this.parts.ecosystem);
    this.ctx.log.info({ topics: this.gateway.allowedTopics, history: FEED_HISTORY }, 'gateway started');
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.retries) clearTimeout(t);
    await this.gateway.stop();
  }

  health(): ComponentHealth {
    if (!this.running) return { status: 'stopped' };
    const stats = this.gateway.hub.statsNow();
    const failing = stats.filter((m) => !m.ok);
    if (failing.length)
      return {
        status: 'degraded',
        detail: `not reading ${failing.map((m) => `${m.topic} (${m.detail ?? 'reconnecting'})`).join(', ')}`,
      };
    return { status: 'ok' };
  }

  routes(api: ApiInstance): void {
    this.gateway.attach(api.server);
    api.addHook('preClose', async () => this.gateway.closeClients());
    gatewayRoutes(api, () => this.root ?? api, this.parts);
  }

  rootRoutes(app: ApiInstance): void {
    this.root = app;
    rootRoutes(app, this.parts);
    dashboardRoutes(app, { cacheFiles: this.ctx.config.ENVIRONMENT === 'production' });
  }

  /** Follows a topic into an in-process digest, starting an hour back; retries while the topic cannot be read. */
  private follow(topic: 'delivery.outcomes' | 'ecosystem.events', target: SubscriptionTarget): void {
    const attempt = () => {
      if (!this.running) return;
      this.gateway.hub
        .subscribe({
          id: `internal:${topic}`,
          topic: this.gateway.topic(topic),
          from: { kind: 'timestamp', timestamp: Date.now() - 3_600_000 },
          filter: {},
          target,
        })
        .catch((err: unknown) => {
          this.ctx.log.warn({ topic, err: (err as Error).message }, `cannot follow ${topic} yet; retrying`);
          const t = setTimeout(() => {
            this.retries.delete(t);
            attempt();
          }, RETRY_MS);
          this.retries.add(t);
        });
    };
    attempt();
  }
}

export function createGateway(ctx: ComponentContext): Component {
  return new GatewayComponent(ctx);
}
