/** HTTP routes of the gateway: ecosystem status and live feed (SSE), delivery analytics, and the WebSocket endpoints' documentation. */
import { type ApiInstance, type HealthReport, HttpError, Type } from '../api/index.ts';
import type { ComponentHealth } from '../app/component.ts';
import { parseTime } from '../shared/time.ts';
import type { PerformanceAnalytics, WindowName } from './analytics.ts';
import { WINDOWS } from './analytics.ts';
import type { EcosystemTracker } from './ecosystem.ts';
import { ECOSYSTEM_TOPICS, type Gateway, WS_ECOSYSTEM_PATH, WS_PATH } from './gateway.ts';
import type { StartFrom } from './protocol.ts';

const Latency = Type.Object({
  p50: Type.Union([Type.Number(), Type.Null()]),
  p90: Type.Union([Type.Number(), Type.Null()]),
  p99: Type.Union([Type.Number(), Type.Null()]),
  max: Type.Union([Type.Number(), Type.Null()]),
  mean: Type.Union([Type.Number(), Type.Null()]),
});

const statsFields = {
  attempts: Type.Integer(),
  delivered: Type.Integer(),
  failed: Type.Integer(),
  timeouts: Type.Integer(),
  rejected: Type.Integer(),
  shed: Type.Integer(),
  successRate: Type.Union([Type.Number(), Type.Null()], { description: 'Delivered attempts over all attempts.' }),
  throughputPerS: Type.Number({ description: 'Attempts per second over the window.' }),
  latencyMs: Latency,
  lastStatus: Type.Union([Type.String(), Type.Null()]),
  lastAt: Type.Union([Type.Integer(), Type.Null()]),
};
const Stats = Type.Object(statsFields);

const exampleStats = {
  attempts: 1200,
  delivered: 1188,
  failed: 9,
  timeouts: 3,
  rejected: 0,
  shed: 0,
  successRate: 0.99,
  throughputPerS: 4,
  latencyMs: { p50: 41.2, p90: 88.5, p99: 190.1, max: 402.7, mean: 52.3 },
  lastStatus: 'DELIVERED',
  lastAt: 1764230000000,
};

const WindowReportSchema = Type.Object({
  window: Type.String(),
  seconds: Type.Integer(),
  from: Type.Integer(),
  to: Type.Integer(),
  total: Stats,
  routes: Type.Array(
    Type.Object({
      route: Type.String(),
      ...statsFields,
      endpoints: Type.Array(Type.Object({ endpoint: Type.String(), ...statsFields })),
    }),
  ),
});

const PerformanceSchema = Type.Object(
  {
    source: Type.String(),
    generatedAt: Type.Integer(),
    ready: Type.Boolean({
      description: 'False while the last hour is still being read back from Kafka after a start.',
    }),
    windows: Type.Array(WindowReportSchema),
    timeline: Type.Object({
      bucketSeconds: Type.Integer(),
      points: Type.Array(
        Type.Object({
          at: Type.Integer(),
          attempts: Type.Integer(),
          delivered: Type.Integer(),
          successRate: Type.Union([Type.Number(), Type.Null()]),
          p99LatencyMs: Type.Union([Type.Number(), Type.Null()]),
        }),
      ),
    }),
  },
  {
    examples: [
      {
        source: 'delivery.outcomes',
        generatedAt: 1764230000000,
        ready: true,
        windows: [
          {
            window: '5m',
            seconds: 300,
            from: 1764229700000,
            to: 1764230000000,
            total: exampleStats,
            routes: [{ route: 'orders', ...exampleStats, endpoints: [{ endpoint: 'orders-eu', ...exampleStats }] }],
          },
        ],
        timeline: {
          bucketSeconds: 10,
          points: [{ at: 1764229990000, attempts: 40, delivered: 40, successRate: 1, p99LatencyMs: 120.4 }],
        },
      },
    ],
  },
);

const Component = Type.Object({
  name: Type.String(),
  status: Type.String({ description: 'ok, degraded, down or stopped.' }),
  detail: Type.Optional(Type.String()),
  local: Type.Boolean({ description: 'Runs in this process (else it was seen on the ecosystem feed).' }),
  lastReport: Type.Optional(
    Type.Object({ status: Type.String(), message: Type.String(), severity: Type.String(), at: Type.Integer() }),
  ),
});

const EcosystemStatusSchema = Type.Object(
  {
    status: Type.String({ description: 'As in GET /health: ok, degraded or down.' }),
    version: Type.String(),
    uptimeS: Type.Number(),
    dependencies: Type.Record(
      Type.String(),
      Type.Object({ ok: Type.Boolean(), latencyMs: Type.Number(), detail: Type.Optional(Type.String()) }),
    ),
    components: Type.Array(Component),
    breakers: Type.Array(
      Type.Object({ subject: Type.String(), state: Type.String(), message: Type.String(), at: Type.Integer() }),
    ),
    events: Type.Object(
      { INFO: Type.Integer(), WARNING: Type.Integer(), CRITICAL: Type.Integer() },
      { description: 'Ecosystem events by severity since the feed was read (the last hour at start).' },
    ),
    recent: Type.Array(
      Type.Object(
        {
          component: Type.String(),
          kind: Type.String(),
          severity: Type.String(),
          subject: Type.Union([Type.String(), Type.Null()]),
          message: Type.String(),
          at: Type.Integer(),
        },
        { additionalProperties: true },
      ),
    ),
    gateway: Type.Object({
      websocketClients: Type.Integer(),
      sseClients: Type.Integer(),
      subscriptions: Type.Integer(),
      queuedRecords: Type.Integer(),
      socketBufferedBytes: Type.Integer(),
      connectionsTotal: Type.Integer(),
      replaysQueued: Type.Integer(),
      topics: Type.Array(Type.String()),
      mirrors: Type.Array(
        Type.Object({
          topic: Type.String(),
          partitions: Type.Integer(),
          subscribers: Type.Integer(),
          records: Type.Integer(),
          ok: Type.Boolean(),
          detail: Type.Optional(Type.String()),
        }),
      ),
    }),
  },
  {
    examples: [
      {
        status: 'ok',
        version: '0.1.0',
        uptimeS: 812.4,
        dependencies: { broker: { ok: true, latencyMs: 3 }, registry: { ok: true, latencyMs: 5 } },
        components: [
          { name: 'gateway', status: 'ok', local: true },
          {
            name: 'relay',
            status: 'ok',
            local: false,
            lastReport: { status: 'ok', message: 'relay started', severity: 'INFO', at: 1764230000000 },
          },
        ],
        breakers: [
          { subject: 'orders/orders-eu', state: 'OPEN', message: 'breaker opened after 5 failures', at: 1764230000000 },
        ],
        events: { INFO: 41, WARNING: 3, CRITICAL: 0 },
        recent: [
          {
            component: 'relay',
            kind: 'breaker_state',
            severity: 'WARNING',
            subject: 'orders/orders-eu',
            message: 'breaker opened after 5 failures',
            at: 1764230000000,
          },
        ],
        gateway: {
          websocketClients: 2,
          sseClients: 1,
          subscriptions: 9,
          queuedRecords: 0,
          socketBufferedBytes: 0,
          connectionsTotal: 14,
          replaysQueued: 0,
          topics: ['anomalies', 'metrics.samples'],
          mirrors: [{ topic: 'anomalies', partitions: 3, subscribers: 3, records: 120, ok: true }],
        },
      },
    ],
  },
);

const ErrorRef = Type.Ref('Error');

export interface GatewayParts {
  gateway: Gateway;
  analytics: PerformanceAnalytics;
  ecosystem: EcosystemTracker;
  health: () => ComponentHealth;
}

function fromQuery(value: string | undefined): StartFrom {
  if (value === undefined || value === 'latest') return { kind: 'latest' };
  if (value === 'earliest') return { kind: 'earliest' };
  try {
    return { kind: 'timestamp', timestamp: parseTime(value) };
  } catch (err) {
    throw new HttpError(400, `querystring.from ${(err as Error).message}`, 'querystring.from');
  }
}

async function ecosystemStatus(report: HealthReport, parts: GatewayParts) {
  const components = Object.entries(report.components).map(([name, h]) => ({
    name,
    status: h.status,
    ...(h.detail ? { detail: h.detail } : {}),
    local: true,
  }));
  for (const [name, last] of parts.ecosystem.componentReports()) {
    const local = components.find((c) => c.name === name);
    if (local) Object.assign(local, { lastReport: last });
    else components.push({ name, status: last.status, local: false, lastReport: last } as (typeof components)[number]);
  }
  return {
    ...report,
    components,
    breakers: parts.ecosystem.breakerReports(),
    events: parts.ecosystem.severityCounts(),
    recent: parts.ecosystem.recentEvents(),
    gateway: {
      ...parts.gateway.stats(),
      topics: parts.gateway.allowedTopics,
      mirrors: await parts.gateway.hub.stats(),
    },
  };
}

export function rootRoutes(app: ApiInstance, parts: GatewayParts): void {
  app.get(
    '/ai-ecosystem/status',
    {
      schema: {
        summary: 'The AI ecosystem: components and their health (same as /api/v2/ecosystem/status)',
        tags: ['ecosystem'],
        response: { 200: EcosystemStatusSchema },
      },
    },
    async () => ecosystemStatus(await app.healthReport(), parts),
  );
}

export function gatewayRoutes(api: ApiInstance, root: () => ApiInstance, parts: GatewayParts): void {
  const { gateway, analytics } = parts;
  api.get(
    '/ecosystem/status',
    {
      schema: {
        summary: 'Components and their health, circuit breakers, recent ecosystem events, gateway clients',
        description:
          'Components of this process report their health directly; components of other processes appear through their last `component_status` event on the ecosystem feed.',
        tags: ['ecosystem'],
        response: { 200: EcosystemStatusSchema },
      },
    },
    async () => ecosystemStatus(await root().healthReport(), parts),
  );

  api.get(
    '/ecosystem/live',
    {
      config: { access: 'stream' },
      schema: {
        summary: 'The ecosystem feed as Server-Sent Events',
        description: `Events named after their topic (${ECOSYSTEM_TOPICS.join(', ')}), each \`data\` a JSON record {topic, partition, offset, timestamp, key, value}. Each event id is a cursor: a reconnecting EventSource sends it back as Last-Event-ID and resumes exactly there. Also \`lagged\` events for a slow reader. With API tokens configured it needs one that may read these topics (\`?token=\` for EventSource).`,
        tags: ['ecosystem'],
        querystring: Type.Object(
          {
            from: Type.Optional(
              Type.String({
                description: 'Start: latest (default), earliest, epoch ms, ISO date-time, or relative like -15m.',
                examples: ['-15m'],
                maxLength: 64,
              }),
            ),
            token: Type.Optional(Type.String({ description: 'The API token, for clients that cannot set headers.' })),
          },
          { additionalProperties: false },
        ),
        headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ maxLength: 8192 })) }),
        response: {
          200: Type.String({ description: 'text/event-stream' }),
          400: ErrorRef,
          401: ErrorRef,
          403: ErrorRef,
        },
      },
    },
    async (request, reply) => {
      const principal = gateway.authenticate(request.raw);
      if (!principal)
        throw new HttpError(401, 'this stream needs an API token: Authorization: Bearer <token>, or ?token=<token>');
      const refusal = gateway.ecosystemRefusal(principal);
      if (refusal) throw new HttpError(403, refusal);
      const from = fromQuery(request.query.from);
      reply.hijack();
      gateway.openSse(request.raw, principal, reply.raw, from, request.headers['last-event-id'], reply.getHeaders());
    },
  );

  api.get(
    '/analytics/performance',
    {
      schema: {
        summary:
          'Delivery throughput, latency percentiles and success rates per route and endpoint over recent windows',
        description:
          'Computed from the delivery.outcomes topic (one record per delivery attempt by RelayCore). Latency percentiles count attempts that called the endpoint (DELIVERED, FAILED, TIMEOUT) and are within 5%. The timeline covers the last 15 minutes in 10-second buckets.',
        tags: ['analytics'],
        querystring: Type.Object(
          {
            window: Type.Optional(
              Type.Union(
                Object.keys(WINDOWS).map((w) => Type.Literal(w)),
                { description: 'One window only (default: all of 1m, 5m, 15m, 1h).', examples: ['5m'] },
              ),
            ),
            route: Type.Optional(
              Type.String({ minLength: 1, maxLength: 200, description: 'One route only.', examples: ['orders'] }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: PerformanceSchema, 400: ErrorRef },
      },
    },
    async (request) => {
      const names = request.query.window
        ? [request.query.window as WindowName]
        : (Object.keys(WINDOWS) as WindowName[]);
      return {
        source: 'delivery.outcomes',
        generatedAt: Date.now(),
        ready: analytics.caughtUp,
        windows: names.map((w) => analytics.report(w, request.query.route)),
        timeline: { bucketSeconds: 10, points: analytics.timeline(900, request.query.route) },
      };
    },
  );

  api.get(
    '/gateway/topics',
    {
      schema: {
        summary: 'Topics WebSocket clients may subscribe to, with their partitions and offsets',
        tags: ['gateway'],
        response: {
          200: Type.Array(
            Type.Object({
              topic: Type.String(),
              partitions: Type.Array(
                Type.Object({ partition: Type.Integer(), low: Type.String(), high: Type.String() }),
              ),
              error: Type.Optional(Type.String()),
            }),
            { examples: [[{ topic: 'anomalies', partitions: [{ partition: 0, low: '0', high: '42' }] }]] },
          ),
        },
      },
    },
    async () => gateway.topicOffsets(),
  );

  for (const [path, what] of [
    [WS_PATH, 'Mirror of the allowed Kafka topics: send {"type":"subscribe","topic":"anomalies","from":"-15m"}'],
    [
      WS_ECOSYSTEM_PATH,
      `The ecosystem feed (${ECOSYSTEM_TOPICS.join(', ')}), subscribed on connect; ?from= replays first`,
    ],
  ] as const) {
    api.get(
      path.slice('/api/v2'.length),
      {
        config: { access: 'stream' },
        schema: {
          summary: `WebSocket: ${what}`,
          description:
            'A WebSocket endpoint (GET with Upgrade: websocket). The JSON protocol is in docs/gateway.md. A plain GET answers 426. With API tokens configured it needs one (header or ?token=); each subscription needs a token that may read its topic.',
          tags: ['gateway'],
          response: { 426: ErrorRef },
        },
      },
      async (_req, reply) =>
        reply
          .status(426)
          .header('upgrade', 'websocket')
          .send({
            statusCode: 426,
            error: 'Upgrade Required',
            code: 'upgrade_required',
            message: `connect with a WebSocket client to ${path}`,
          }),
    );
  }
}
