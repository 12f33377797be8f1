/** RelayCore: learned routing behind circuit breakers, priority tiers, and no lost message. */
import type { Component, ComponentContext } from '../app/component.js';
import { RelayCore } from './relay.js';

export function createRelay(ctx: ComponentContext): Component {
  return new RelayCore(ctx);
}

export { RelayCore, OptimizeError, type OptimizeResult, type SendOptions, type Sent } from './relay.js';
export { routingModel, FEATURE_NAMES, FEATURE_VERSION } from './learned/index.js';
export type { FeatureName, Prediction, RoutingModelMetadata, RoutingScorer, Scaler } from './learned/index.js';
export { parseRoute, readRoutesFile, POLICIES, SETTINGS, RouteError, type PolicyName } from './routes.js';
export { ACTION_KINDS, actionTarget } from './actions.js';
export { RELAY_ENV, TIERS, type Tier } from './config.js';
