export { buildServer, overallStatus, type ApiInstance, type DependencyHealth, type HealthReport, type HealthState, type ServerDeps } from './server.js';
export { HttpError, type ErrorBody } from './errors.js';
export { presentedToken, tokenMatches } from './auth.js';
export { metricsRegistry } from './metrics.js';
export { Type, type Static, type TSchema } from '@fastify/type-provider-typebox';
