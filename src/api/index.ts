export { type Static, type TSchema, Type } from '@fastify/type-provider-typebox';
export { presentedToken, tokenMatches } from './auth.js';
export { type ErrorBody, HttpError } from './errors.js';
export { metricsRegistry } from './metrics.js';
export {
  type ApiInstance,
  buildServer,
  type DependencyHealth,
  type HealthReport,
  type HealthState,
  overallStatus,
  type ServerDeps,
} from './server.js';
