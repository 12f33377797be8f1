/** RelayCore: learned routing behind circuit breakers, priority tiers, and no lost message. */

export { ACTION_KINDS, actionTarget } from './actions.ts';
export {
  createRelay,
  OptimizeError,
  type OptimizeResult,
  RelayCore,
  type SendOptions,
  type Sent,
} from './component.ts';
export { RELAY_ENV, TIERS, type Tier } from './config.ts';
export type { FeatureName, Prediction, RoutingModelMetadata, RoutingScorer, Scaler } from './learned/index.ts';
export { FEATURE_NAMES, FEATURE_VERSION, routingModel } from './learned/index.ts';
export { POLICIES, type PolicyName, parseRoute, RouteError, readRoutesFile, SETTINGS } from './store.ts';
