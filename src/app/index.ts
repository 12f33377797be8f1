export type { Component, ComponentContext, ComponentHealth, HealthStatus } from './component.js';
export { type EcosystemEventSpec, EcosystemEvents } from './events.js';
export {
  type ComponentFactory,
  prepareKafka,
  type Runtime,
  resolveEndpoints,
  startRuntime,
  VERSION,
} from './runtime.js';
