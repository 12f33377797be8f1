import type { FastifyInstance } from 'fastify';
import client from 'prom-client';

/** One Prometheus registry for the process; components register their own metrics on it. */
export const metricsRegistry = client.register;
client.collectDefaultMetrics({ register: metricsRegistry });

const requestDuration = new client.Histogram({
  name: 'automatrix_http_request_duration_seconds',
  help: 'HTTP request duration by route and status code.',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
});

export function httpMetrics(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requestDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
}
