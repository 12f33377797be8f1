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
import { isOpen, MUTATING, presentedToken, tokenMatches } from './auth.ts';
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
  if (config.API_TOKEN) {
    const token = config.API_TOKEN;
    app.addHook('onRequest', async (request, reply) => {
      if (!MUTATING.has(request.method) || isOpen(request.routeOptions.schema)) return;
      if (!tokenMatches(token, presentedToken(request.headers))) {
        return reply.status(401).header('www-authenticate', 'Bearer').send({
          statusCode: 401,
          error: 'Unauthorized',
          code: 'unauthorized',
          message: 'this endpoint needs the API token: Authorization: Bearer <API_TOKEN>',
        });
      }
    });
  }
  httpMetrics(app);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'AutoMatrix API',
        version: deps.version,
        description: 'AI-ops streaming pipeline on Apache Kafka.',
      },
      components: config.API_TOKEN ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } : {},
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
