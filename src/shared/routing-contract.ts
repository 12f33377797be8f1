/**
 * The routing model's contract between NeuroWeaver's `routing` kind (which trains it from
 * delivery outcomes, src/ml/kinds/routing.ts) and RelayCore (which computes the features live,
 * writes them into every DeliveryOutcome, and serves the champion's artifacts with its own
 * typed-array inference). Both sides import it from src/shared/ as `routingContract`.
 *
 * Changing FEATURE_NAMES (names or order) makes saved models unloadable: bump FEATURE_VERSION.
 */

export const MODEL_NAME = 'routing';

export const FEATURE_VERSION = 3;

/*
 * Only features whose meaning does not depend on the policy that routed the traffic: the model is
 * trained on outcomes of one policy (say round-robin) and serves another. Version 1 also had the
 * attempt rate, the decaying peak-EWMA and the times since the last success and observation; under
 * the learned policy an endpoint it avoids shows values of these that the training traffic never did
 * (idle, unobserved), and the model extrapolated them to "healthy". Version 3 adds what means the
 * same whoever routes: count-based windows (the last attempts, whenever they happened: a burst of
 * failures in one millisecond moves them at once, unlike the time-based EWMAs), the latency's tail
 * (streaming median and 95th percentile of the recent attempts, not only means), the concurrency an
 * attempt would start at, and the latency the endpoint showed at that concurrency (a capacity cliff).
 */
export const FEATURE_NAMES = [
  'lat_fast_log', // log1p of the 1 s latency EWMA (ms); keeps its last value while unobserved
  'lat_slow_log', // log1p of the 15 s latency EWMA
  'lat_trend', // lat_fast_log - lat_slow_log: rising latency is positive
  'err_fast', // failure share, 2 s EWMA
  'err_slow', // failure share, 20 s EWMA
  'timeout_fast', // timeout share, 2 s EWMA
  'since_failure_log', // log1p seconds since the last failure (capped at 1 h; never = cap)
  'breaker_half_open', // 1 while the breaker waits for its probe
  'weight', // effective weight (configured x orchestrator factor)
  'is_http', // 1 for HTTP, 0 for Kafka endpoints
  'timeout_log', // log1p of the endpoint timeout (ms)
  'payload_log', // log1p of the payload size (bytes)
  'attempt', // 1 for a first attempt, 2 for the first retry, ...
  'measured', // min(1, attempts / 20): how much the statistics can be trusted
  'type_0', // message type, hashed into 4 buckets (one-hot)
  'type_1',
  'type_2',
  'type_3',
  'err_last16', // failure share of the last 16 attempts (count-based)
  'err_last64', // failure share of the last 64 attempts (count-based)
  'lat_p50_log', // streaming median of log1p(latency ms) over the recent attempts (count-based)
  'lat_p95_log', // streaming 95th percentile of log1p(latency ms): the tail (pauses, stalls)
  'inflight_log', // log1p of the requests in flight at the endpoint when this one would start
  'lat_at_load_log', // log1p latency (ms) of recent attempts started at this concurrency (1..16 each, then 17-32, 33-64, 65+); the nearest lower level measured, else lat_fast_log
] as const;

export type RoutingFeatureName = (typeof FEATURE_NAMES)[number];
export const FEATURE_COUNT = FEATURE_NAMES.length;

/** Standardisation of the features, fitted by the trainer on its training split. */
export interface Scaler {
  mean: number[];
  std: number[];
}

/** What model.json's `userDefinedMetadata` must hold. */
export interface RoutingModelMetadata {
  model: string;
  featureVersion: number;
  featureNames: string[];
  scaler: Scaler;
}

/** Predicted latencies are capped at 10 minutes. */
const MAX_LATENCY_LOG = Math.log1p(600_000);

const ACTIVATIONS = ['relu', 'elu', 'tanh', 'linear', 'sigmoid'] as const;
/** Activations RelayCore's typed-array inference computes: the trainer must use no other. */
export type RoutingActivation = (typeof ACTIVATIONS)[number];

export const ROUTING_ARTIFACTS = {
  /** Dense hidden layers, in order from the input. */
  hiddenLayer: (i: number) => `hidden_${i}`,
  /**
   * The heads' input: the last hidden layer's output followed by the scaled features (wide and deep).
   * Models saved before it (heads on the hidden layer alone) still load: a head's width says which it is.
   */
  wideLayer: 'deep_and_wide',
  /** One linear unit: log1p of the attempt latency in ms. */
  latencyLayer: 'latency',
  /** One sigmoid unit: the probability that the attempt fails or times out. */
  failureLayer: 'failure',
  /**
   * One linear unit: log of the spread (standard deviation) of log1p(latency) around the latency head's
   * value. The network's output is [latency, failure, spread]: the attempt's log-latency is modelled as
   * normal, so its expected latency in ms, tail included, is `expectedLatency(latency, spread)`.
   */
  spreadLayer: 'latency_spread',
  /** Activations the typed-array inference computes. */
  activations: ACTIVATIONS as readonly RoutingActivation[],
  /** The latency head's target, and its inverse (clamped to 0 .. 10 min). */
  latencyTarget: (ms: number) => Math.log1p(Math.max(0, ms)),
  latencyFromTarget: (v: number) => Math.expm1(Math.min(MAX_LATENCY_LOG, Math.max(0, v))),
  /** The spread head's value as a standard deviation of log1p(ms), clamped to a sane range. */
  spreadFromOutput: (logSigma: number) => Math.exp(Math.min(1.5, Math.max(-5, logSigma))),
  /** Expected latency (ms) of a log-normal attempt: exp(mu + sigma^2 / 2) - 1, capped at 10 minutes. */
  expectedLatency: (mu: number, sigma: number) =>
    Math.expm1(Math.min(MAX_LATENCY_LOG, Math.max(0, mu) + (sigma * sigma) / 2)),
  metadata: (scaler: Scaler): RoutingModelMetadata => ({
    model: MODEL_NAME,
    featureVersion: FEATURE_VERSION,
    featureNames: [...FEATURE_NAMES],
    scaler,
  }),
};

export const routingContract = {
  name: MODEL_NAME,
  featureVersion: FEATURE_VERSION,
  featureNames: FEATURE_NAMES,
  featureCount: FEATURE_COUNT,
  artifacts: ROUTING_ARTIFACTS,
};
