/**
 * The gateway component: a WebSocket (and SSE) mirror of allowed Kafka topics, the ecosystem feed
 * and status, delivery analytics, and the dashboard. Protocol: docs/gateway.md.
 */

import type { ApiInstance } from '../api/index.ts';
import type { Component, ComponentContext, ComponentHealth } from '../app/component.ts';
import { PerformanceAnalytics } from './analytics.ts';
import { dashboardRoutes } from './dashboard/routes.ts';
import { EcosystemTracker } from './ecosystem.ts';
import { Gateway } from './gateway.ts';
import type { SubscriptionTarget } from './hub.ts';
import { apiRoutes, type GatewayParts, rootRoutes } from './routes.ts';

export { PerformanceAnalytics } from './analytics.ts';
export { DEFAULT_GATEWAY_TOPICS, GATEWAY_ENV } from './config.ts';
export { CLOSE, ECOSYSTEM_TOPICS, Gateway, WS_ECOSYSTEM_PATH, WS_PATH } from './gateway.ts';

const FEED_HISTORY = '-1h';
const RETRY_MS = 10_000;

export function createGateway(ctx: ComponentContext): Component {
  const gateway = new Gateway(ctx.config, ctx.kafka, ctx.log);
  const analytics = new PerformanceAnalytics();
  const ecosystem = new EcosystemTracker();
  let running = false;
  let root: ApiInstance | undefined;
  const retries = new Set<NodeJS.Timeout>();

  /** Follows a topic into an in-process digest, starting an hour back; retries while the topic cannot be read. */
  const follow = (topic: 'delivery.outcomes' | 'ecosystem.events', target: SubscriptionTarget) => {
    const attempt = () => {
      if (!running) return;
      gateway.hub
        .subscribe({
          id: `internal:${topic}`,
          topic: gateway.topic(topic),
          from: { kind: 'timestamp', timestamp: Date.now() - 3_600_000 },
          filter: {},
          target,
        })
        .catch((err: unknown) => {
          ctx.log.warn({ topic, err: (err as Error).message }, `cannot follow ${topic} yet; retrying`);
          const t = setTimeout(() => {
            retries.delete(t);
            attempt();
          }, RETRY_MS);
          retries.add(t);
        });
    };
    attempt();
  };

  const health = (): ComponentHealth => {
    if (!running) return { status: 'stopped' };
    const stats = gateway.hub.statsNow();
    const failing = stats.filter((m) => !m.ok);
    if (failing.length)
      return {
        status: 'degraded',
        detail: `not reading ${failing.map((m) => `${m.topic} (${m.detail ?? 'reconnecting'})`).join(', ')}`,
      };
    return { status: 'ok' };
  };

  const parts: GatewayParts = { gateway, analytics, ecosystem, health };

  return {
    name: 'gateway',
    async start() {
      running = true;
      gateway.start();
      follow('delivery.outcomes', analytics);
      follow('ecosystem.events', ecosystem);
      ctx.log.info({ topics: gateway.allowedTopics, history: FEED_HISTORY }, 'gateway started');
    },
    async stop() {
      running = false;
      for (const t of retries) clearTimeout(t);
      await gateway.stop();
    },
    health,
    routes(api) {
      gateway.attach(api.server);
      api.addHook('preClose', async () => gateway.closeClients());
      apiRoutes(api, () => root ?? api, parts);
    },
    rootRoutes(app) {
      root = app;
      rootRoutes(app, parts);
      dashboardRoutes(app, { cacheFiles: ctx.config.ENVIRONMENT === 'production' });
    },
  };
}
