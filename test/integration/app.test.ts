import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Runtime, startRuntime } from '../../src/app/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { uniquePrefix } from '../helpers/kafka.ts';
import { collect, freePort } from '../helpers/process.ts';

describe('the app', () => {
  let runtime: Runtime;
  let base: string;
  beforeAll(async () => {
    const { brokers, registryUrl } = inject('kafka');
    const port = await freePort();
    const config = loadConfig({
      KAFKA_BROKERS: brokers.join(','),
      SCHEMA_REGISTRY_URL: registryUrl,
      KAFKA_TOPIC_PREFIX: uniquePrefix('app'),
      PORT: String(port),
      HOST: '127.0.0.1',
      API_TOKEN: 'test-token-0123456789',
    });
    runtime = await startRuntime(config, {});
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    const admin = await runtime.kafka.admin();
    const prefix = runtime.kafka.catalog.prefix;
    await admin.deleteTopics((await admin.listTopics()).filter((t) => t.startsWith(prefix)));
    await runtime.stop();
  });

  it('reports broker and registry reachability on /health', async () => {
    const res = await fetch(`${base}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; dependencies: Record<string, { ok: boolean }> };
    expect(body.status).toBe('ok');
    expect(body.dependencies.broker?.ok).toBe(true);
    expect(body.dependencies.registry?.ok).toBe(true);
  });

  it('serves OpenAPI at /docs and Prometheus metrics at /metrics', async () => {
    const docs = await fetch(`${base}/docs/json`);
    expect(docs.status).toBe(200);
    const spec = (await docs.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(spec.openapi).toMatch(/^3\./);
    expect(spec.paths).toHaveProperty('/health');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('automatrix_http_request_duration_seconds');
    expect(metrics).toContain('process_resident_memory_bytes');
  });
});

describe('npm start', () => {
  it('reaches a green /health within 60 s once artifacts are cached', async () => {
    const { brokers, registryUrl, source } = inject('kafka');
    const port = await freePort();
    // With the local stack the embedded default is exercised (KAFKA_BROKERS unset); otherwise the test broker is passed in.
    const env = {
      ...process.env,
      PORT: String(port),
      KAFKA_TOPIC_PREFIX: uniquePrefix('start'),
      KAFKA_BROKERS: source === 'local-stack' ? '' : brokers.join(','),
      SCHEMA_REGISTRY_URL: source === 'local-stack' ? '' : registryUrl,
    };
    const started = Date.now();
    const child = spawn('npm', ['start', '--silent'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const output = collect(child, 120_000);
    let status = 0;
    let body: { status?: string; dependencies?: Record<string, { ok: boolean }> } = {};
    while (Date.now() - started < 60_000 && status !== 200) {
      await new Promise((r) => setTimeout(r, 500));
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health`);
        status = res.status;
        body = (await res.json()) as typeof body;
      } catch {
        /* not listening yet */
      }
    }
    const elapsed = Date.now() - started;
    process.kill(-child.pid!, 'SIGTERM');
    const { stderr } = await output;
    expect(status, stderr).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.dependencies?.broker?.ok && body.dependencies?.registry?.ok).toBe(true);
    expect(elapsed).toBeLessThan(60_000);
    // SIGTERM stops the whole process group (npm and the app) cleanly: nothing is left running.
    const groupAlive = () => {
      try {
        process.kill(-child.pid!, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 40 && groupAlive(); i++) await new Promise((r) => setTimeout(r, 250));
    expect(groupAlive()).toBe(false);
  }, 120_000);
});
