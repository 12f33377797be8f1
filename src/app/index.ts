export type { Component, ComponentContext, ComponentHealth, HealthStatus } from './component.ts';
export { type EcosystemEventSpec, EcosystemEvents, ecosystemEvent } from './events.ts';
export {
  type ComponentFactory,
  prepareKafka,
  type Runtime,
  resolveEndpoints,
  startRuntime,
  VERSION,
} from './runtime.ts';
