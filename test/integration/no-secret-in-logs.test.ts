/** Issue 7, security: the API token never appears in the process's output, whatever the requests do. */
import { spawn } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import { uniquePrefix } from '../helpers/kafka.ts';
import { collect, freePort } from '../helpers/process.ts';
import { TestClient } from '../helpers/ws.ts';

const TOKEN = 'very-secret-token-7f3a9c2e1b';

describe('secrets and logs', () => {
  it('never writes the API token to the log, at debug level, across auth successes and failures', async () => {
    const { brokers, registryUrl } = inject('kafka');
    const port = await freePort();
    const env = {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      KAFKA_BROKERS: brokers.join(','),
      SCHEMA_REGISTRY_URL: registryUrl,
      KAFKA_TOPIC_PREFIX: uniquePrefix('secret'),
      API_TOKEN: TOKEN,
      LOG_LEVEL: 'debug',
      COMPONENTS: 'neuroweaver,gateway,detect,orchestrator',
    };
    const child = spawn(process.execPath, ['src/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = collect(child, 180_000);
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 120; i++) {
      const ok = await fetch(`${base}/health/live`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    await fetch(`${base}/api/v2/neuroweaver/predict`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ cpu_usage: 'x' }),
    });
    await fetch(`${base}/api/v2/neuroweaver/train`, {
      method: 'POST',
      headers: { ...auth, authorization: `Bearer ${TOKEN}-wrong` },
      body: '{}',
    });
    await fetch(`${base}/api/v2/neuroweaver/train?token=${TOKEN}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"broken": ',
    });
    await fetch(`${base}/api/v2/ecosystem/live?token=${TOKEN}`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.body?.cancel(),
      () => undefined,
    );
    const ws = await TestClient.open(`${base.replace('http', 'ws')}/api/v2/ws?token=${TOKEN}`);
    ws.send({ type: 'subscribe', topic: 'not-allowed', id: 'x' });
    ws.send('garbage');
    await ws.until((c) => c.of('error').length >= 2, 'two protocol errors');
    ws.close();
    await TestClient.open(`${base.replace('http', 'ws')}/api/v2/ws`, { 'x-api-token': `${TOKEN}-nope` }).catch(
      () => undefined,
    );
    child.kill('SIGTERM');
    const { stdout, stderr } = await output;
    expect(stdout.length).toBeGreaterThan(1000);
    expect(stdout).toContain('"level":20');
    expect(stdout + stderr).not.toContain(TOKEN);
    expect(stdout + stderr).not.toContain('7f3a9c2e1b');
  }, 240_000);
});
