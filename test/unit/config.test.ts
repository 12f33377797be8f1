import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, ENV, loadConfig } from '../../src/config/index.js';

/** One bad value per variable, and the words its error must contain. */
const BAD: Record<keyof typeof ENV, [string, string]> = {
  KAFKA_BROKERS: ['localhost', 'host:port'],
  SCHEMA_REGISTRY_URL: ['ftp://registry', 'http(s) URL'],
  KAFKA_CLIENT_ID: ['', ''],
  KAFKA_TOPIC_PREFIX: ['bad prefix!', 'may only contain'],
  PORT: ['80x', 'integer from 1 to 65535'],
  HOST: ['', ''],
  ENVIRONMENT: ['prod', 'one of development, test, staging, production'],
  DEBUG: ['maybe', 'true or false'],
  LOG_LEVEL: ['loud', 'one of trace'],
  CORS_ORIGINS: ['example.com', 'http(s) URL'],
  MODEL_SAVE_PATH: ['', ''],
  ENABLE_ML_TRAINING: ['sometimes', 'true or false'],
  TFJS_BACKEND: ['gpu', 'one of auto, tensorflow, wasm, cpu'],
  API_TOKEN: ['short', 'at least 16 characters'],
  BODY_LIMIT_BYTES: ['10', 'integer from 1024'],
  SHUTDOWN_TIMEOUT_MS: ['-5', 'integer from 100'],
  COMPONENTS: ['relay,teleporter', 'items must be among'],
  STACK_DIR: ['', ''],
  STACK_KAFKA_PORT: ['0', 'integer from 1 to 65535'],
  STACK_CONTROLLER_PORT: ['70000', 'integer from 1 to 65535'],
  STACK_REGISTRY_PORT: ['abc', 'integer from 1 to 65535'],
  ROUTES_FILE: ['', ''],
  RELAY_GROUP_ID: ['', ''],
  RELAY_AUTOSTART: ['later', 'true or false'],
  RELAY_DEFAULT_ROUTES: ['urgent=orders', 'tier=route with a tier among high, normal, low'],
  RELAY_TIER_WEIGHTS: ['high=0', 'above 0'],
  RELAY_MAX_INFLIGHT: ['0', 'integer from 1'],
  RELAY_RETRY_BACKOFF_MS: ['-1', 'integer from 0'],
  RELAY_EXPLORATION: ['0.9', 'number from 0 to 0.5'],
  RELAY_SHED_THRESHOLD: ['none', 'number from 0.05 to 1'],
  RELAY_HTTP_CONNECTIONS: ['0', 'integer from 1'],
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
    const c = loadConfig({ KAFKA_BROKERS: 'a:9092, b:9093', PORT: '9000', DEBUG: 'yes', CORS_ORIGINS: 'https://x.io,http://localhost:3000', API_TOKEN: 'x'.repeat(20) });
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

  it('never echoes the API token in its error', () => {
    expect(() => loadConfig({ API_TOKEN: 'secret-ish' })).toThrow(/^API_TOKEN must be at least 16 characters long$/);
  });
});

function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { ...process.env, KAFKA_BROKERS: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('close', (code) => resolve({ code, stderr, stdout }));
  });
}

describe('npm start with a bad variable', () => {
  it('exits non-zero with one line naming the variable, for every variable', async () => {
    const results: [string, Awaited<ReturnType<typeof runMain>>][] = [];
    for (let i = 0; i < validated.length; i += 5) {
      const chunk = validated.slice(i, i + 5);
      results.push(...(await Promise.all(chunk.map(async ([name, [value]]) => [name, await runMain({ [name]: value })] as [string, Awaited<ReturnType<typeof runMain>>]))));
    }
    for (const [name, r] of results) {
      expect(r.code, name).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines, `${name}: ${r.stderr}`).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^automatrix: ${name} `));
      expect(r.stdout).toBe('');
    }
  }, 120_000);
});
