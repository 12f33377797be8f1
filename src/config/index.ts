import { API_CHECKS, API_ENV } from '../api/config.ts';
import { DETECT_CHECKS, DETECT_ENV } from '../detect/config.ts';
import { GATEWAY_ENV } from '../gateway/config.ts';
import { KAFKA_ENV } from '../kafka/config.ts';
import { ML_ENV } from '../ml/config.ts';
import { ORCHESTRATOR_CHECKS, ORCHESTRATOR_ENV } from '../orchestrator/config.ts';
import { RELAY_ENV } from '../relay/config.ts';
import { bool, ConfigError, type EnvVar, hostPort, httpUrl, int, list, oneOf, str, url, type ValueOf } from './vars.ts';

export * as vars from './vars.ts';
export { ConfigError, type EnvVar } from './vars.ts';

export const COMPONENT_NAMES = ['relay', 'detect', 'orchestrator', 'neuroweaver', 'gateway'] as const;
export type ComponentName = (typeof COMPONENT_NAMES)[number];

/** Every environment variable AutoMatrix reads. The README table is generated from this list. */
export const ENV = {
  KAFKA_BROKERS: list('KAFKA_BROKERS', hostPort, {
    description:
      'Kafka bootstrap servers, comma-separated `host:port`. Unset: `npm start` starts the local stack and uses it.',
    default: [],
    defaultText: '(unset: local stack)',
  }),
  SCHEMA_REGISTRY_URL: url('SCHEMA_REGISTRY_URL', {
    description: 'Confluent-compatible schema registry API (Apicurio: `…/apis/ccompat/v7`).',
    defaultText: '(unset: local stack, `http://localhost:8081/apis/ccompat/v7`)',
  }),
  KAFKA_CLIENT_ID: str('KAFKA_CLIENT_ID', { description: 'Client id sent to the broker.', default: 'automatrix' }),
  KAFKA_TOPIC_PREFIX: declarePrefix(),
  ...KAFKA_ENV,
  PORT: int('PORT', 1, 65535, { description: 'HTTP and WebSocket port.', default: 8000 }),
  HOST: str('HOST', { description: 'Interface the HTTP server binds to.', default: '0.0.0.0' }),
  ENVIRONMENT: oneOf('ENVIRONMENT', ['development', 'test', 'staging', 'production'], {
    description:
      'Deployment environment, reported on `/health`. `production` requires `KAFKA_BROKERS` (the local stack is for development) and caches the dashboard files.',
    default: 'development',
  }),
  DEBUG: bool('DEBUG', {
    description: 'Verbose logging (sets the log level to `debug` unless `LOG_LEVEL` is set).',
    default: false,
  }),
  LOG_LEVEL: oneOf('LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
    description: 'Log level.',
    defaultText: 'info (debug when DEBUG=true)',
  }),
  CORS_ORIGINS: list(
    'CORS_ORIGINS',
    (v) => {
      if (v !== '*') httpUrl(v);
    },
    {
      description: 'Origins allowed by CORS, comma-separated URLs, or `*`. Empty: no cross-origin access.',
      default: [],
    },
  ),
  MODEL_SAVE_PATH: str('MODEL_SAVE_PATH', {
    description:
      'Local cache of model artifacts (model.json, weights, state). The artifacts themselves travel on the `model.artifacts` topic, so instances need no shared disk.',
    default: './models',
  }),
  ENABLE_ML_TRAINING: bool('ENABLE_ML_TRAINING', {
    description: 'Allow training jobs; `false` keeps serving predictions from existing models.',
    default: true,
  }),
  TFJS_BACKEND: oneOf('TFJS_BACKEND', ['auto', 'tensorflow', 'wasm', 'cpu'], {
    description: 'TensorFlow.js backend: `auto` takes tfjs-node if it is installed, else WebAssembly, else pure JS.',
    default: 'auto',
  }),
  ...ML_ENV,
  ...API_ENV,
  BODY_LIMIT_BYTES: int('BODY_LIMIT_BYTES', 1024, 64 * 1024 * 1024, {
    description: 'Largest accepted HTTP request body.',
    default: 1024 * 1024,
  }),
  SHUTDOWN_TIMEOUT_MS: int('SHUTDOWN_TIMEOUT_MS', 100, 600_000, {
    description: 'On SIGTERM, the longest wait for in-flight work before exiting.',
    default: 10_000,
  }),
  COMPONENTS: list(
    'COMPONENTS',
    (v) => {
      if (!(COMPONENT_NAMES as readonly string[]).includes(v))
        throw new Error(`items must be among ${COMPONENT_NAMES.join(', ')}`);
    },
    {
      description: 'Components this process runs (scale out by running several processes).',
      default: [...COMPONENT_NAMES],
    },
  ),
  STACK_DIR: str('STACK_DIR', { description: 'Local stack: folder for downloads, data and logs.', default: '.stack' }),
  STACK_KAFKA_PORT: int('STACK_KAFKA_PORT', 1, 65535, { description: 'Local stack: broker port.', default: 9092 }),
  STACK_CONTROLLER_PORT: int('STACK_CONTROLLER_PORT', 1, 65535, {
    description: 'Local stack: KRaft controller port.',
    default: 9093,
  }),
  STACK_REGISTRY_PORT: int('STACK_REGISTRY_PORT', 1, 65535, {
    description: 'Local stack: schema registry port.',
    default: 8081,
  }),
  ...RELAY_ENV,
  ...DETECT_ENV,
  ...ORCHESTRATOR_ENV,
  ...GATEWAY_ENV,
} as const;

function declarePrefix() {
  const v = str('KAFKA_TOPIC_PREFIX', {
    description: 'Prefix of every topic name (lets several deployments or test runs share a broker).',
    default: 'automatrix.',
  });
  return {
    ...v,
    parse(raw: string | undefined) {
      const value = v.parse(raw);
      if (!/^[A-Za-z0-9._-]*$/.test(value))
        throw new ConfigError(
          'KAFKA_TOPIC_PREFIX',
          `may only contain letters, digits, '.', '_' and '-', got "${value}"`,
        );
      return value;
    },
  };
}

export type Config = { readonly [K in keyof typeof ENV]: ValueOf<(typeof ENV)[K]> };

/** Checks that span several variables (each component declares its own next to its variables). */
const CHECKS: ((config: Config) => void)[] = [
  (config) => {
    if (config.KAFKA_BROKERS.length && !config.SCHEMA_REGISTRY_URL)
      throw new ConfigError('SCHEMA_REGISTRY_URL', 'must be set when KAFKA_BROKERS is set');
  },
  (config) => {
    if (config.ENVIRONMENT === 'production' && !config.KAFKA_BROKERS.length) {
      throw new ConfigError(
        'KAFKA_BROKERS',
        'must be set when ENVIRONMENT=production (the embedded local stack is for development)',
      );
    }
  },
  ...DETECT_CHECKS,
  ...ORCHESTRATOR_CHECKS,
  ...API_CHECKS,
];

/** Reads and validates every variable; throws ConfigError (one line, naming the variable) on the first bad value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const entries = Object.entries(ENV).map(([key, spec]) => [key, (spec as EnvVar<unknown>).parse(env[key])]);
  const config = Object.freeze(Object.fromEntries(entries)) as Config;
  for (const check of CHECKS) check(config);
  return config;
}

/** True when no external broker is configured, so the embedded local stack provides one. */
export const usesLocalStack = (config: Config): boolean => config.KAFKA_BROKERS.length === 0;

export function effectiveLogLevel(config: Config): string {
  return config.LOG_LEVEL ?? (config.DEBUG ? 'debug' : 'info');
}
