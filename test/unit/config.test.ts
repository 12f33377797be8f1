import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, ENV, loadConfig } from '../../src/config/index.ts';

/** One bad value per variable, and the words its error must contain. */
const BAD: Record<keyof typeof ENV, [string, string]> = {
  KAFKA_BROKERS: ['localhost', 'host:port'],
  SCHEMA_REGISTRY_URL: ['ftp://registry', 'http(s) URL'],
  KAFKA_CLIENT_ID: ['', ''],
  KAFKA_TOPIC_PREFIX: ['bad prefix!', 'may only contain'],
  KAFKA_CLIENT: ['rdkafka', 'one of kafkajs, platformatic'],
  PORT: ['80x', 'integer from 1 to 65535'],
  HOST: ['', ''],
  ENVIRONMENT: ['prod', 'one of development, test, staging, production'],
  DEBUG: ['maybe', 'true or false'],
  LOG_LEVEL: ['loud', 'one of trace'],
  CORS_ORIGINS: ['example.com', 'http(s) URL'],
  MODEL_SAVE_PATH: ['', ''],
  ENABLE_ML_TRAINING: ['sometimes', 'true or false'],
  TFJS_BACKEND: ['gpu', 'one of auto, tensorflow, wasm, cpu'],
  ML_TUNE_TRIALS: ['0', 'integer from 1 to 64'],
  ML_TUNE_MAX_EPOCHS: ['many', 'integer from 1 to 1000'],
  ML_TUNE_TIME_BUDGET_S: ['1.5', 'integer from 1 to 86400'],
  ML_MIN_TRAINING_ROWS: ['5', 'integer from 10'],
  ML_RETRAIN_INTERVAL_MS: ['-1', 'integer from 0'],
  ML_RETRAIN_WINDOW_MS: ['1000', 'integer from 60000'],
  ML_RETRAIN_COOLDOWN_MS: ['soon', 'integer from 0'],
  ML_DRIFT_THRESHOLD: ['0.5', 'number from 1 to 100'],
  ML_DRIFT_WINDOW: ['3', 'integer from 10'],
  ML_KEEP_VERSIONS: ['0', 'integer from 1 to 100000'],
  ML_PROMOTION_MIN_IMPROVEMENT: ['1.5', 'number from 0 to 0.99'],
  API_TOKEN: ['short', 'at least 16 characters'],
  API_TOKENS: ['[{"name":"x","token":"short"}]', 'entry 0: ("x") token must be a string of at least 16 characters'],
  API_TOKENS_FILE: ['/nonexistent/tokens.json', 'cannot be read: ENOENT'],
  BODY_LIMIT_BYTES: ['10', 'integer from 1024'],
  SHUTDOWN_TIMEOUT_MS: ['-5', 'integer from 100'],
  COMPONENTS: ['relay,teleporter', 'items must be among'],
  STACK_DIR: ['', ''],
  STACK_KAFKA_PORT: ['0', 'integer from 1 to 65535'],
  STACK_CONTROLLER_PORT: ['70000', 'integer from 1 to 65535'],
  STACK_REGISTRY_PORT: ['abc', 'integer from 1 to 65535'],
  DETECT_SCORE_HALF: ['0', 'number from 1 to 50'],
  DETECT_OPEN_THRESHOLD: ['1.5', 'number from 0.01 to 1'],
  DETECT_CLOSE_THRESHOLD: ['-0.1', 'number from 0 to 1'],
  DETECT_CLOSE_AFTER: ['0', 'integer from 1'],
  DETECT_WARMUP_SAMPLES: ['2', 'integer from 5'],
  DETECT_SNAPSHOT_INTERVAL_MS: ['10', 'integer from 1000'],
  DETECT_MAX_SERVICES: ['many', 'integer from 1'],
  DETECT_MAX_METRICS: ['65', 'integer from 1 to 64'],
  ORCH_DRY_RUN: ['perhaps', 'true or false'],
  ORCH_HORIZON_MINUTES: ['0', 'integer from 1'],
  ORCH_EVAL_INTERVAL_MS: ['5', 'integer from 100'],
  ORCH_REPLICA_CAPACITY_RPS: ['-1', 'number from 0.001'],
  ORCH_SERVICE_CAPACITY: ['checkout', 'name=value'],
  ORCH_HEADROOM: ['lots', 'number from 0 to 10'],
  ORCH_MIN_REPLICAS: ['-1', 'integer from 0'],
  ORCH_MAX_REPLICAS: ['0', 'integer from 1'],
  ORCH_SCALE_COOLDOWN_MS: ['soon', 'integer from 0'],
  ORCH_REPLICA_HOUR_PRICE: ['free', 'number from 0'],
  ORCH_SLO_ERROR_RATE: ['200', 'number from 0.001 to 100'],
  ORCH_SLO_LATENCY_MS: ['0', 'number from 0.001'],
  ORCH_FAILURE_ACTION_PROBABILITY: ['2', 'number from 0.01 to 1'],
  ORCH_ANOMALY_ACTION_SCORE: ['1.2', 'number from 0 to 1'],
  ORCH_ENDPOINTS: ['checkout=payments', 'route/endpoint'],
  ORCH_BREAKER_OPEN_MS: ['10', 'integer from 1000'],
  ORCH_WEBHOOK_URL: ['ftp://hooks.example.com', 'http(s) URL'],
  ORCH_WEBHOOK_ALLOWED_HOSTS: ['bad host!', 'host names'],
  ORCH_ACTIONS_PER_TARGET_PER_HOUR: ['0', 'integer from 1'],
  ORCH_ACTION_ANSWER_MS: ['5', 'integer from 100'],
  ORCH_RETRAIN_ANSWER_MS: ['soon', 'integer from 1000'],
  ORCH_VERIFY_AFTER_MS: ['-1', 'integer from 100'],
  ORCH_TRAIN_WINDOW_MS: ['a week', 'integer from 0'],
  ORCH_ANOMALY_WINDOW: ['5', 'integer from 10'],
  ORCH_ANOMALY_LOOKBACK_MS: ['-1', 'integer from 0'],
  GATEWAY_TOPICS: ['anomalies,../etc/passwd', 'items must be topic names'],
  GATEWAY_CLIENT_BUFFER: ['5', 'integer from 10'],
  GATEWAY_SLOW_CLIENT: ['block', 'one of drop, disconnect'],
  GATEWAY_HEARTBEAT_MS: ['fast', 'integer from 1000'],
  GATEWAY_MAX_CLIENTS: ['0', 'integer from 1'],
  GATEWAY_MAX_SUBSCRIPTIONS: ['1.5', 'integer from 1'],
  GATEWAY_FRAME_MS: ['0', 'integer from 1 to 1000'],
  GATEWAY_FRAME_BYTES: ['100', 'integer from 1024'],
  GATEWAY_PERMESSAGE_DEFLATE: ['gzip', 'true or false'],
  GATEWAY_PARTITION_CHECK_MS: ['10', 'integer from 1000'],
  GATEWAY_MAX_REPLAYS: ['-1', 'integer from 1'],
  ROUTES_FILE: ['', ''],
  RELAY_GROUP_ID: ['', ''],
  RELAY_AUTOSTART: ['later', 'true or false'],
  RELAY_DEFAULT_ROUTES: ['urgent=orders', 'tier=route with a tier among high, normal, low'],
  RELAY_TIER_WEIGHTS: ['high=0', 'above 0'],
  RELAY_MAX_INFLIGHT: ['0', 'integer from 1'],
  RELAY_MAX_UNCOMMITTED: ['0', 'integer from 1'],
  RELAY_RETRY_BACKOFF_MS: ['-1', 'integer from 0'],
  RELAY_NO_ENDPOINT_MAX_WAIT_MS: ['-5', 'integer from 0'],
  RELAY_EXPLORATION: ['0.9', 'number from 0 to 0.5'],
  RELAY_SHED_THRESHOLD: ['none', 'number from 0.05 to 1'],
  RELAY_HTTP_CONNECTIONS: ['0', 'integer from 1'],
  RELAY_OPTIMIZE_ANSWER_MS: ['soon', 'integer from 100'],
  RELAY_WAIT_TIMEOUT_MS: ['5', 'integer from 100'],
};
const validated = Object.entries(BAD).filter(([, [value]]) => value !== '') as [keyof typeof ENV, [string, string]][];

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(8000);
    expect(c.KAFKA_BROKERS).toEqual([]);
    expect(c.ENABLE_ML_TRAINING).toBe(true);
    expect(c.API_TOKEN).toBeUndefined();
    expect(c.COMPONENTS).toEqual(['relay', 'detect', 'orchestrator', 'neuroweaver', 'gateway']);
    expect(c.KAFKA_TOPIC_PREFIX).toBe('automatrix.');
  });

  it('parses good values', () => {
    const c = loadConfig({
      KAFKA_BROKERS: 'a:9092, b:9093',
      SCHEMA_REGISTRY_URL: 'http://r:8081/apis/ccompat/v7',
      PORT: '9000',
      DEBUG: 'yes',
      CORS_ORIGINS: 'https://x.io,http://localhost:3000',
      API_TOKEN: 'x'.repeat(20),
    });
    expect(c.KAFKA_BROKERS).toEqual(['a:9092', 'b:9093']);
    expect(c.PORT).toBe(9000);
    expect(c.DEBUG).toBe(true);
    expect(c.CORS_ORIGINS).toEqual(['https://x.io', 'http://localhost:3000']);
  });

  it('declares a bad-value case for every variable that validates', () => {
    expect(Object.keys(BAD).sort()).toEqual(Object.keys(ENV).sort());
  });

  it.each(validated)('%s with a bad value is a ConfigError naming it', (name, [value, words]) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(name);
    expect((error as Error).message).toContain(name);
    expect((error as Error).message).toContain(words);
  });

  it.each([
    [{ KAFKA_BROKERS: 'kafka:9092' }, 'SCHEMA_REGISTRY_URL must be set when KAFKA_BROKERS is set'],
    [{ ENVIRONMENT: 'production' }, 'KAFKA_BROKERS must be set when ENVIRONMENT=production'],
    [
      { DETECT_OPEN_THRESHOLD: '0.4', DETECT_CLOSE_THRESHOLD: '0.4' },
      'DETECT_CLOSE_THRESHOLD must be below DETECT_OPEN_THRESHOLD',
    ],
    [{ ORCH_MIN_REPLICAS: '5', ORCH_MAX_REPLICAS: '3' }, 'ORCH_MIN_REPLICAS must not exceed ORCH_MAX_REPLICAS'],
    [
      { ORCH_WEBHOOK_URL: 'https://hooks.evil.example/x', ORCH_WEBHOOK_ALLOWED_HOSTS: 'hooks.example.com' },
      'ORCH_WEBHOOK_URL is not allowed: host hooks.evil.example',
    ],
  ])('checks what spans variables: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('never echoes the API token in its error', () => {
    expect(() => loadConfig({ API_TOKEN: 'secret-ish' })).toThrow(/^API_TOKEN must be at least 16 characters long$/);
  });
});

function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['src/main.ts'], {
      env: { ...process.env, KAFKA_BROKERS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('close', (code) => resolve({ code, stderr, stdout }));
  });
}

// Every variable's message is checked in process above; main prints any ConfigError through one code
// path, so a spread of variables (every component's block) proves the process exits with that one line.
const spawned = validated.filter((_, i) => i % 6 === 0);

describe('npm start with a bad variable', () => {
  it.each(spawned)(
    '%s: exits non-zero with one line naming the variable',
    async (name, [value]) => {
      const r = await runMain({ [name]: value });
      expect(r.code, name).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines, `${name}: ${r.stderr}`).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^automatrix: ${name} `));
      expect(r.stdout).toBe('');
    },
    30_000,
  );
});
