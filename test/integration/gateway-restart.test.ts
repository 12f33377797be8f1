import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Runtime, startRuntime } from '../../src/app/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { createGateway } from '../../src/gateway/index.ts';
import { type StackSettings, stackDown, stackEndpoints, stackUp } from '../../src/stack/index.ts';
import { pidsWithMarker, stopProcess } from '../../src/stack/processes.ts';
import { freePort } from '../helpers/process.ts';
import { TestClient } from '../helpers/ws.ts';

const quiet = () => undefined;

/** Polls GET /health until `pred` holds; the whole history is returned for the assertions. */
async function healthUntil(
  base: string,
  pred: (status: string, code: number) => boolean,
  seen: string[],
  timeoutMs = 180_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let status = 'unreachable';
    let code = 0;
    try {
      const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5000) });
      code = res.status;
      status = ((await res.json()) as { status: string }).status;
    } catch {
      /* the app itself stays up; a slow answer counts as unreachable */
    }
    seen.push(`${status}/${code}`);
    if (pred(status, code)) return;
    if (Date.now() > deadline) throw new Error(`health never matched; saw ${seen.slice(-5).join(', ')}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// A private stack on free ports: this test stops and starts its broker (never the shared one).
describe('the gateway across a broker restart', () => {
  let s: StackSettings;
  let runtime: Runtime;
  let base: string;
  let wsBase: string;
  beforeAll(async () => {
    s = {
      dir: mkdtempSync(join(tmpdir(), 'am-gw-stack-')),
      artifactsDir: resolve(process.env.STACK_DIR ?? '.stack', 'artifacts'),
      kafkaPort: await freePort(),
      controllerPort: await freePort(),
      registryPort: await freePort(),
    };
    await stackUp(s, quiet);
    const endpoints = stackEndpoints(s);
    const port = await freePort();
    const config = loadConfig({
      KAFKA_BROKERS: endpoints.brokers.join(','),
      SCHEMA_REGISTRY_URL: endpoints.registryUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      COMPONENTS: 'gateway',
    });
    runtime = await startRuntime(config, { gateway: createGateway });
    base = `http://127.0.0.1:${port}`;
    wsBase = `ws://127.0.0.1:${port}`;
  }, 300_000);
  afterAll(async () => {
    await runtime?.stop();
    if (s) {
      await stackDown(s, quiet);
      rmSync(s.dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('shows degraded while the broker is down, healthy once it is back, and keeps mirroring', async () => {
    const client = await TestClient.open(`${wsBase}/api/v2/ws`);
    client.send({ type: 'subscribe', id: 'a', topic: 'anomalies' });
    await client.until((c) => c.of('subscribed')[0], 'subscribed');
    const producer = await runtime.kafka.producer();
    const anomaly = (id: string) => ({
      key: 'svc',
      value: {
        id,
        service: 'svc',
        state: 'OPEN' as const,
        metrics: ['cpu_usage'],
        score: 0.9,
        explanation: id,
        startedAt: 1,
        at: Date.now(),
      },
    });
    await producer.send('anomalies', [anomaly('before')]);
    await client.until(
      (c) => c.records('a').some((r) => r.value!.id === 'before'),
      'the record written before the restart',
    );
    const seen: string[] = [];
    await healthUntil(base, (status, code) => status === 'ok' && code === 200, seen);

    for (const pid of pidsWithMarker(`-Dautomatrix.stack=${s.dir}#kafka`)) await stopProcess(pid, 30_000);
    await healthUntil(base, (status, code) => status === 'degraded' && code === 503, seen);
    await stackUp(s, quiet);
    await healthUntil(base, (status, code) => status === 'ok' && code === 200, seen);

    await producer.send('anomalies', [anomaly('after')]);
    await client.until(
      (c) => c.records('a').some((r) => r.value!.id === 'after'),
      'the record written after the restart',
      180_000,
    );
    expect(seen).toContain('degraded/503');
    expect(seen.at(-1)).toBe('ok/200');
    expect(client.closed).toBeUndefined();
    expect(client.records('a').map((r) => r.value!.id)).toEqual(['before', 'after']);
    client.close();
  }, 600_000);
});
