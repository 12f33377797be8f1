/** Environment variables of the AI Orchestrator (spread into ENV in src/config/index.ts). */
import type { Config } from '../config/index.ts';
import { bool, ConfigError, hostPort, int, list, num, url } from '../config/vars.ts';
import { webhookRefusal } from './webhook.ts';

/** `name=value` items: the name is a service, the value is checked by `value`. */
const pairs = (value: (v: string) => void) => (item: string) => {
  const i = item.indexOf('=');
  if (i <= 0 || i === item.length - 1) throw new Error(`items must be name=value ("${item}" is not)`);
  value(item.slice(i + 1));
};

const positiveNumber = (v: string) => {
  if (!(Number(v) > 0)) throw new Error(`values must be positive numbers ("${v}" is not)`);
};

const endpointRef = (v: string) => {
  for (const ref of v.split('|'))
    if (!/^[^/\s]+\/[^/\s]+$/.test(ref))
      throw new Error(`values must be route/endpoint, several joined by | ("${v}" is not)`);
};

const hostName = (v: string) => {
  if (!/^[A-Za-z0-9.-]+$/.test(v) && !/^[A-Za-z0-9.-]+:\d+$/.test(v))
    throw new Error(`items must be host names, optionally host:port ("${v}" is not)`);
  if (v.includes(':')) hostPort(v);
};

export const ORCHESTRATOR_ENV = {
  ORCH_DRY_RUN: bool('ORCH_DRY_RUN', {
    description: 'AI Orchestrator: propose actions only (status PROPOSED); `false` lets them be executed.',
    default: true,
  }),
  ORCH_HORIZON_MINUTES: int('ORCH_HORIZON_MINUTES', 1, 10_080, {
    description: 'AI Orchestrator: horizon of capacity forecasts and failure predictions.',
    default: 60,
  }),
  ORCH_EVAL_INTERVAL_MS: int('ORCH_EVAL_INTERVAL_MS', 100, 3_600_000, {
    description: 'AI Orchestrator: least time between two evaluations of one service.',
    default: 30_000,
  }),
  ORCH_REPLICA_CAPACITY_RPS: num('ORCH_REPLICA_CAPACITY_RPS', 0.001, 1e9, {
    description: 'AI Orchestrator: requests per second one replica serves at saturation.',
    default: 100,
  }),
  ORCH_SERVICE_CAPACITY: list('ORCH_SERVICE_CAPACITY', pairs(positiveNumber), {
    description:
      'AI Orchestrator: per-service capacity per replica, `service=rps` comma-separated (overrides `ORCH_REPLICA_CAPACITY_RPS`).',
    default: [],
  }),
  ORCH_HEADROOM: num('ORCH_HEADROOM', 0, 10, {
    description: 'AI Orchestrator: spare capacity kept above the forecast peak (0.2 = 20%).',
    default: 0.2,
  }),
  ORCH_MIN_REPLICAS: int('ORCH_MIN_REPLICAS', 0, 100_000, {
    description: 'AI Orchestrator: fewest replicas recommended.',
    default: 1,
  }),
  ORCH_MAX_REPLICAS: int('ORCH_MAX_REPLICAS', 1, 100_000, {
    description: 'AI Orchestrator: most replicas recommended.',
    default: 100,
  }),
  ORCH_SCALE_COOLDOWN_MS: int('ORCH_SCALE_COOLDOWN_MS', 0, 86_400_000, {
    description:
      'AI Orchestrator: least time between two scale-down recommendations of a service (scale-ups are immediate).',
    default: 600_000,
  }),
  ORCH_REPLICA_HOUR_PRICE: num('ORCH_REPLICA_HOUR_PRICE', 0, 1e6, {
    description: 'AI Orchestrator: price of one replica-hour, for the cost impact of scaling.',
    default: 0.05,
  }),
  ORCH_SLO_ERROR_RATE: num('ORCH_SLO_ERROR_RATE', 0.001, 100, {
    description: 'AI Orchestrator: error-rate SLO in percent; above it a service is in breach.',
    default: 5,
  }),
  ORCH_SLO_LATENCY_MS: num('ORCH_SLO_LATENCY_MS', 0.001, 1e7, {
    description: 'AI Orchestrator: latency SLO in milliseconds; above it a service is in breach.',
    default: 500,
  }),
  ORCH_FAILURE_ACTION_PROBABILITY: num('ORCH_FAILURE_ACTION_PROBABILITY', 0.01, 1, {
    description: 'AI Orchestrator: predicted breach probability within the horizon that triggers protective actions.',
    default: 0.8,
  }),
  ORCH_ANOMALY_ACTION_SCORE: num('ORCH_ANOMALY_ACTION_SCORE', 0, 1, {
    description: 'AI Orchestrator: anomaly score that triggers actions.',
    default: 0.7,
  }),
  ORCH_ENDPOINTS: list('ORCH_ENDPOINTS', pairs(endpointRef), {
    description:
      'AI Orchestrator: RelayCore endpoints that serve each service, `service=route/endpoint|route/endpoint` comma-separated.',
    default: [],
  }),
  ORCH_BREAKER_OPEN_MS: int('ORCH_BREAKER_OPEN_MS', 1000, 3_600_000, {
    description: 'AI Orchestrator: how long an `open_breaker` action opens a breaker.',
    default: 30_000,
  }),
  ORCH_WEBHOOK_URL: url('ORCH_WEBHOOK_URL', {
    description:
      'AI Orchestrator: URL that `webhook` actions POST to (its host must be in `ORCH_WEBHOOK_ALLOWED_HOSTS`); credentials in it are sent as Basic auth, and it is never logged.',
    secret: true,
  }),
  ORCH_WEBHOOK_ALLOWED_HOSTS: list('ORCH_WEBHOOK_ALLOWED_HOSTS', hostName, {
    description: 'AI Orchestrator: the only hosts webhook actions may call.',
    default: [],
  }),
  ORCH_ACTION_ANSWER_MS: int('ORCH_ACTION_ANSWER_MS', 100, 3_600_000, {
    description:
      'AI Orchestrator: how long RelayCore or the webhook has to answer a live action on `action.results` before it is recorded FAILED.',
    default: 30_000,
  }),
  ORCH_RETRAIN_ANSWER_MS: int('ORCH_RETRAIN_ANSWER_MS', 1000, 86_400_000, {
    description:
      'AI Orchestrator: how long NeuroWeaver has to answer a live `retrain` action (it answers when the job ends).',
    default: 1_800_000,
  }),
  ORCH_VERIFY_AFTER_MS: int('ORCH_VERIFY_AFTER_MS', 100, 86_400_000, {
    description:
      'AI Orchestrator: how long after an action was executed its effect is checked (VERIFIED or INEFFECTIVE; an ineffective endpoint action is rolled back).',
    default: 300_000,
  }),
  ORCH_ACTIONS_PER_TARGET_PER_HOUR: int('ORCH_ACTIONS_PER_TARGET_PER_HOUR', 1, 10_000, {
    description: 'AI Orchestrator: actions per target per hour; more are recorded as RATE_LIMITED.',
    default: 6,
  }),
  ORCH_TRAIN_WINDOW_MS: int('ORCH_TRAIN_WINDOW_MS', 0, 90 * 86_400_000, {
    description:
      'AI Orchestrator: on start and on every rebalance, metric samples this far back are replayed to rebuild forecasts and the failure model.',
    default: 7 * 86_400_000,
  }),
  ORCH_ANOMALY_WINDOW: int('ORCH_ANOMALY_WINDOW', 10, 1_000_000, {
    description: 'AI Orchestrator: incidents kept in memory for `GET /api/v2/ai/anomalies`.',
    default: 10_000,
  }),
  ORCH_ANOMALY_LOOKBACK_MS: int('ORCH_ANOMALY_LOOKBACK_MS', 0, 90 * 86_400_000, {
    description: 'AI Orchestrator: at start, anomalies and events this far back are read into memory.',
    default: 86_400_000,
  }),
} as const;

/** Checks that span several variables, run by loadConfig. */
export const ORCHESTRATOR_CHECKS = [
  (config: Config) => {
    if (config.ORCH_MIN_REPLICAS > config.ORCH_MAX_REPLICAS)
      throw new ConfigError('ORCH_MIN_REPLICAS', `must not exceed ORCH_MAX_REPLICAS (${config.ORCH_MAX_REPLICAS})`);
  },
  (config: Config) => {
    const refusal = config.ORCH_WEBHOOK_URL
      ? webhookRefusal(config.ORCH_WEBHOOK_URL, config.ORCH_WEBHOOK_ALLOWED_HOSTS)
      : undefined;
    if (refusal) throw new ConfigError('ORCH_WEBHOOK_URL', `is not allowed: ${refusal}`);
  },
];
