import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  LogController,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import type { ComponentHealth } from '../app/component.ts';
import type { Config } from '../config/index.ts';
import { ERROR_CODES, type ErrorCode } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';
import { type Access, AccessPolicy, mayCall, presentedToken, routeAccess } from './auth.ts';
import { errorHandler } from './errors.ts';
import { httpMetrics, metricsRegistry } from './metrics.ts';

export type ApiInstance = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface DependencyHealth {
  ok: boolean;
  latencyMs: number;
  detail?: string;
}

export interface ServerDeps {
  config: Config;
  log: Logger;
  version: string;
  /** Reachability of the broker and the registry. */
  dependencies: Record<'broker' | 'registry', () => Promise<DependencyHealth>>;
  components: {
    name: string;
    health(): ComponentHealth;
    routes?(api: ApiInstance): void | Promise<void>;
    rootRoutes?(app: ApiInstance): void | Promise<void>;
  }[];
}

export type HealthState = 'ok' | 'degraded' | 'down';

export interface HealthReport {
  status: HealthState;
  version: string;
  environment: string;
  uptimeS: number;
  dependencies: Record<string, DependencyHealth>;
  components: Record<string, ComponentHealth>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The same report as GET /health, for routes that show it (ecosystem status). */
    healthReport(): Promise<HealthReport>;
  }
}

/**
 * Degraded while the broker or the registry is unreachable (components retry on their own, so
 * this is expected to pass), or while a component is degraded; down when every component is.
 */
export function overallStatus(dependencies: DependencyHealth[], components: ComponentHealth[]): HealthState {
  if (components.length && components.every((c) => c.status === 'down' || c.status === 'stopped')) return 'down';
  if (!dependencies.every((d) => d.ok)) return 'degraded';
  // A component stopped on purpose (e.g. POST /relaycore/stop) is not a fault.
  return components.every((c) => c.status === 'ok' || c.status === 'stopped') ? 'ok' : 'degraded';
}

const HEALTH_TTL_MS = 1000;

const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  code: Type.Enum(Object.keys(ERROR_CODES) as ErrorCode[], { description: 'Stable error code (docs/errors.md).' }),
  message: Type.String(),
  field: Type.Optional(Type.String()),
});

const HealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')]),
  version: Type.String(),
  environment: Type.String(),
  uptimeS: Type.Number(),
  dependencies: Type.Record(
    Type.String(),
    Type.Object({ ok: Type.Boolean(), latencyMs: Type.Number(), detail: Type.Optional(Type.String()) }),
  ),
  components: Type.Record(Type.String(), Type.Object({ status: Type.String(), detail: Type.Optional(Type.String()) })),
});

/** The HTTP server: core routes (health, docs, metrics) plus each component's routes under /api/v2. */
export async function buildServer(deps: ServerDeps): Promise<ApiInstance> {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.log as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.BODY_LIMIT_BYTES,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    forceCloseConnections: true,
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setErrorHandler(errorHandler);
  app.addSchema({ $id: 'Error', ...ErrorSchema });
  await app.register(cors, {
    origin: config.CORS_ORIGINS.includes('*') ? true : config.CORS_ORIGINS.length ? config.CORS_ORIGINS : false,
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
  });
  const access = AccessPolicy.fromConfig(config);
  if (access.enabled) guard(app, access);
  httpMetrics(app);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'AutoMatrix API',
        version: deps.version,
        description: access.enabled
          ? 'AI-ops streaming pipeline on Apache Kafka. Operations marked with a lock need an API token (`Authorization: Bearer <token>`; the WebSockets and the SSE feed also take `?token=`); the others are open. See docs/auth.md.'
          : 'AI-ops streaming pipeline on Apache Kafka. No API token is configured on this instance, so every operation is open; with API_TOKEN (or API_TOKENS) set, the operations that change something or stream topics need one (docs/auth.md).',
      },
      components: access.enabled
        ? {
            securitySchemes: {
              bearer: { type: 'http', scheme: 'bearer', description: 'An API token (API_TOKEN, API_TOKENS).' },
              queryToken: {
                type: 'apiKey',
                in: 'query',
                name: 'token',
                description: 'The same token as ?token=, for WebSockets and EventSource, which cannot set headers.',
              },
            },
          }
        : {},
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const started = Date.now();
  // Probes are shared for a second, so a busy status page or a load test does not hammer the broker.
  let recent: { at: number; report: Promise<HealthReport> } | undefined;
  const healthReport = (): Promise<HealthReport> => {
    if (!recent || Date.now() - recent.at >= HEALTH_TTL_MS) recent = { at: Date.now(), report: probeHealth() };
    return recent.report;
  };
  const probeHealth = async (): Promise<HealthReport> => {
    const entries = await Promise.all(
      Object.entries(deps.dependencies).map(async ([name, check]) => [name, await check()] as const),
    );
    const components = Object.fromEntries(deps.components.map((c) => [c.name, c.health()]));
    const status = overallStatus(
      entries.map(([, h]) => h),
      Object.values(components),
    );
    return {
      status,
      version: deps.version,
      environment: config.ENVIRONMENT,
      uptimeS: (Date.now() - started) / 1000,
      dependencies: Object.fromEntries(entries),
      components,
    };
  };
  app.decorate('healthReport', healthReport);
  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness and readiness: broker, schema registry and every component',
        description:
          '200 when ready (`ok`, or `degraded` when a component is degraded); 503 while the broker or registry is unreachable (`degraded`: components reconnect by themselves) or every component is down.',
        tags: ['health'],
        response: { 200: HealthSchema, 503: HealthSchema },
      },
    },
    async (_req, reply) => {
      const report = await healthReport();
      const ready =
        report.status === 'ok' ||
        (report.status === 'degraded' && Object.values(report.dependencies).every((d) => d.ok));
      return reply.status(ready ? 200 : 503).send(report);
    },
  );
  app.get(
    '/health/live',
    { schema: { summary: 'Liveness only: the process answers', tags: ['health'] } },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics', tags: ['health'], hide: false } },
    async (_req, reply) => {
      return reply.header('content-type', metricsRegistry.contentType).send(await metricsRegistry.metrics());
    },
  );

  for (const component of deps.components) await component.rootRoutes?.(app);
  await app.register(
    async (v2) => {
      for (const component of deps.components) await component.routes?.(v2 as ApiInstance);
    },
    { prefix: '/api/v2' },
  );
  return app;
}

/** Where the OpenAPI description marks an operation as needing a token. */
const SECURITY: Record<Exclude<Access, 'read'>, Record<string, string[]>[]> = {
  write: [{ bearer: [] }],
  stream: [{ bearer: [] }, { queryToken: [] }],
};

/**
 * Refuses operations that need a token without one (401) or with one not granted the operation
 * (403), and marks exactly those operations in the OpenAPI description.
 */
function guard(app: ApiInstance, access: AccessPolicy): void {
  const secured: { method: string; url: string }[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const needs = routeAccess(methods[0]!, route.config, route.schema);
    if (needs === 'read') return;
    for (const m of methods) secured.push({ method: m, url: route.url });
    const schema = (route.schema ??= {}) as { security?: unknown; response?: Record<string, unknown> };
    schema.security = SECURITY[needs];
    schema.response ??= {};
    schema.response[401] ??= { $ref: 'Error' };
    if (access.scoped && needs === 'write') schema.response[403] ??= { $ref: 'Error' };
  });
  // A typo in a grant would refuse quietly forever: say so. Not fatal, since one token file may serve
  // processes running different COMPONENTS.
  app.addHook('onReady', async () => {
    for (const { token, pattern } of access.patterns()) {
      if (!secured.some((r) => mayCall({ name: token, topics: '*', operations: [pattern] }, r.method, r.url)))
        app.log.warn(
          { tokenName: token, operation: pattern.text },
          'an API token is granted an operation that matches no operation of this process needing a token (see the locks in /docs)',
        );
    }
  });
  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    const needs = routeAccess(request.method, request.routeOptions.config, request.routeOptions.schema);
    if (needs === 'read') return;
    const principal = access.authenticate(
      presentedToken(request.headers, needs === 'stream' ? request.url : undefined),
    );
    if (!principal)
      return reply
        .status(401)
        .header('www-authenticate', 'Bearer')
        .send({
          statusCode: 401,
          error: 'Unauthorized',
          code: 'unauthorized',
          message: `${request.method} ${route ?? request.url.split('?')[0]} needs an API token: Authorization: Bearer <token>`,
        });
    // Unknown paths (no route) fall through to 404 once a valid token is shown.
    if (needs === 'write' && route !== undefined && !mayCall(principal, request.method, route))
      return reply.status(403).send({
        statusCode: 403,
        error: 'Forbidden',
        code: 'forbidden',
        message: `token "${principal.name}" may not call ${request.method} ${openApiPath(route)}`,
      });
  });
}

/** `/a/:b` as OpenAPI writes it, `/a/{b}`. */
const openApiPath = (route: string): string => route.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
