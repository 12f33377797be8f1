import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type RawReplyDefaultExpression, type RawRequestDefaultExpression, type RawServerDefault } from 'fastify';
import type { ComponentHealth } from '../app/component.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { MUTATING, presentedToken, tokenMatches } from './auth.js';
import { errorHandler } from './errors.js';
import { httpMetrics, metricsRegistry } from './metrics.js';

export type ApiInstance = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

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
  components: { name: string; health(): ComponentHealth; routes?(api: ApiInstance): void | Promise<void> }[];
}

const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  field: Type.Optional(Type.String()),
});

const HealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  version: Type.String(),
  uptimeS: Type.Number(),
  dependencies: Type.Record(Type.String(), Type.Object({ ok: Type.Boolean(), latencyMs: Type.Number(), detail: Type.Optional(Type.String()) })),
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
      if (!MUTATING.has(request.method)) return;
      if (!tokenMatches(token, presentedToken(request.headers))) {
        return reply
          .status(401)
          .header('www-authenticate', 'Bearer')
          .send({ statusCode: 401, error: 'Unauthorized', message: 'this endpoint needs the API token: Authorization: Bearer <API_TOKEN>' });
      }
    });
  }
  httpMetrics(app);

  await app.register(swagger, {
    openapi: {
      info: { title: 'AutoMatrix API', version: deps.version, description: 'AI-ops streaming pipeline on Apache Kafka.' },
      components: config.API_TOKEN ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } : {},
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const started = Date.now();
  app.get(
    '/health',
    {
      schema: {
        summary: 'Readiness: broker, schema registry and every component (503 while degraded); /health/live is liveness only',
        tags: ['health'],
        response: { 200: HealthSchema, 503: HealthSchema },
      },
    },
    async (_req, reply) => {
      const entries = await Promise.all(Object.entries(deps.dependencies).map(async ([name, check]) => [name, await check()] as const));
      const dependencies = Object.fromEntries(entries);
      const components = Object.fromEntries(deps.components.map((c) => [c.name, c.health()]));
      const depsOk = entries.every(([, h]) => h.ok);
      // A component stopped on purpose (e.g. POST /relaycore/stop) is not a fault.
      const compsOk = Object.values(components).every((h) => h.status === 'ok' || h.status === 'stopped');
      const status = depsOk && compsOk ? 'ok' : 'degraded';
      return reply.status(status === 'ok' ? 200 : 503).send({ status, version: deps.version, uptimeS: (Date.now() - started) / 1000, dependencies, components });
    },
  );
  app.get('/health/live', { schema: { summary: 'Liveness only: the process answers', tags: ['health'] } }, async () => ({ status: 'ok' }));
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['health'], hide: false } }, async (_req, reply) => {
    return reply.header('content-type', metricsRegistry.contentType).send(await metricsRegistry.metrics());
  });

  await app.register(
    async (v2) => {
      for (const component of deps.components) await component.routes?.(v2 as ApiInstance);
    },
    { prefix: '/api/v2' },
  );
  return app;
}
