export { type Static, type TSchema, Type } from '@fastify/type-provider-typebox';
export {
  type Access,
  AccessPolicy,
  mayCall,
  mayRead,
  type Principal,
  presentedToken,
  readable,
  routeAccess,
  tokenMatches,
} from './auth.ts';
export { type ErrorBody, HttpError } from './errors.ts';
export { metricsRegistry } from './metrics.ts';
export { Nullable } from './schema.ts';
export {
  type ApiInstance,
  buildServer,
  type DependencyHealth,
  type HealthReport,
  type HealthState,
  overallStatus,
  type ServerDeps,
} from './server.ts';
