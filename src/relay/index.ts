/** RelayCore: learned routing behind circuit breakers, priority tiers, and no lost message. */
import type { Component, ComponentContext } from '../app/component.js';
import { RelayCore } from './relay.js';

export function createRelay(ctx: ComponentContext): Component {
  return new RelayCore(ctx);
}

export { ACTION_KINDS, actionTarget } from './actions.js';
export { RELAY_ENV, TIERS, type Tier } from './config.js';
export type { FeatureName, Prediction, RoutingModelMetadata, RoutingScorer, Scaler } from './learned/index.js';
export { FEATURE_NAMES, FEATURE_VERSION, routingModel } from './learned/index.js';
export { OptimizeError, type OptimizeResult, RelayCore, type SendOptions, type Sent } from './relay.js';
export { POLICIES, type PolicyName, parseRoute, RouteError, readRoutesFile, SETTINGS } from './routes.js';
