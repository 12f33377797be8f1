export type { Component, ComponentContext, ComponentHealth, HealthStatus } from './component.js';
export { EcosystemEvents, type EcosystemEventSpec } from './events.js';
export { prepareKafka, resolveEndpoints, startRuntime, VERSION, type ComponentFactory, type Runtime } from './runtime.js';
