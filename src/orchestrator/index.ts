/** The AI Orchestrator: capacity forecasts, failure prediction, scaling advice and audited self-healing actions. */

export { type ActionView, Brain, type BrainSettings, type CapacityView, type FailurePrediction } from './brain.ts';
export { brainSettings, createOrchestrator, OrchestratorComponent } from './component.ts';
export { ORCHESTRATOR_CHECKS, ORCHESTRATOR_ENV } from './config.ts';
export { breaches, FailureModel, FEATURES, FeatureTracker, LabelQueue, ruleProbability } from './failure.ts';
export { Forecaster, type ForecastPoint, saturation } from './forecast.ts';
export { ActionLifecycle, type Effect, type LifecycleSettings } from './lifecycle.ts';
export { actionId, type Condition, PolicyEngine, type PolicySettings } from './policy.ts';
export { type Recommendation, ScalingAdvisor } from './scaling.ts';
