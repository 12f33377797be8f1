/**
 * The learned policy says what it runs on (issue 12). Without a model, and after NeuroWeaver's gate
 * rejects a first version that loses to the classic baseline, learned routes rank by p2c-peak-ewma:
 * the status, the answer to PATCH {"policy":"learned"} and the answer to optimize say so and why, and
 * the rejected version is not served.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniquePrefix } from '../helpers/kafka.ts';
import { type AppHarness, startApp, type TestEndpoint, testEndpoint, until } from '../helpers/relay.ts';

interface Learned {
  model: string | null;
  fallback: string | null;
  reason: string | null;
}

describe('learned routing on its fallback', () => {
  const prefix = uniquePrefix('fallback');
  const models = mkdtempSync(join(tmpdir(), 'am-fallback-models-'));
  let neuroweaver: AppHarness;
  let relay: AppHarness;
  let a: TestEndpoint;
  let b: TestEndpoint;

  const route = (policy: string) => ({
    name: 'orders',
    policy,
    endpoints: [
      { id: 'a', kind: 'HTTP', target: a.url, timeoutMs: 2000 },
      { id: 'b', kind: 'HTTP', target: b.url, timeoutMs: 2000 },
    ],
  });
  const learnedOf = async () =>
    (
      await relay.api<{ routes: { name: string; learned: Learned | null }[] }>('GET', '/relaycore/status')
    ).body.routes.find((r) => r.name === 'orders')!.learned;

  beforeAll(async () => {
    a = await testEndpoint(() => ({ status: 200, delayMs: 2 }));
    b = await testEndpoint(() => ({ status: 200, delayMs: 20 }));
    neuroweaver = await startApp({
      prefix,
      components: ['neuroweaver'],
      env: { MODEL_SAVE_PATH: models, ML_RETRAIN_INTERVAL_MS: '0', ML_MIN_TRAINING_ROWS: '100' },
    });
    relay = await startApp({
      prefix,
      components: ['relay'],
      env: { MODEL_SAVE_PATH: models, RELAY_OPTIMIZE_ANSWER_MS: '30000' },
    });
  }, 120_000);
  afterAll(async () => {
    await relay?.stop();
    await neuroweaver?.close();
    await Promise.all([a?.close(), b?.close()]);
  });

  it('says no model has been trained, then that the first version was rejected, and does not serve it', async () => {
    expect((await relay.api('POST', '/relaycore/routes', route('round-robin'))).status).toBe(201);
    // Switching to learned answers with what learned runs on: nothing trained yet.
    const patched = await relay.api<{ policy: string; learned: Learned }>('PATCH', '/relaycore/routes/orders', {
      policy: 'learned',
    });
    expect(patched.status).toBe(200);
    expect(patched.body.learned).toEqual({
      model: null,
      fallback: 'p2c-peak-ewma',
      reason: expect.stringMatching(/no routing model has been trained yet/),
    });
    expect(await learnedOf()).toEqual(patched.body.learned);

    // Outcomes to train on.
    for (let i = 0; i < 300; i += 30)
      await Promise.all(
        Array.from({ length: 30 }, () => relay.api('POST', '/relaycore/message', { route: 'orders', payload: {} })),
      );
    await until(() => a.delivered().length + b.delivered().length >= 300, '300 deliveries');

    // A version that cannot beat the classic baseline (one epoch at a negligible learning rate: it learns
    // next to nothing), so the gate rejects it even though it is the first.
    const res = await relay.api<{
      promoted: boolean;
      reason: string;
      serving: string | null;
      candidate: { version: string; status: string };
      learned: Learned;
    }>('POST', '/relaycore/optimize', {
      windowMinutes: 10,
      holdout: 'random',
      budget: { maxEpochs: 1 },
      hyperparameters: {
        layers: 1,
        units: 4,
        learningRate: 1e-7,
        batchSize: 32,
        l2: 0,
        dropout: 0,
        activation: 'relu',
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ promoted: false, serving: null, candidate: { status: 'REJECTED' } });
    expect(res.body.reason).toMatch(/does not beat the classic baseline/);
    expect(res.body.learned).toEqual({
      model: null,
      fallback: 'p2c-peak-ewma',
      reason: expect.stringContaining(`the latest, ${res.body.candidate.version}, was not (does not beat the classic`),
    });

    // Not served: the route still ranks by p2c-peak-ewma, and says so wherever it is shown.
    expect(await learnedOf()).toEqual(res.body.learned);
    const again = await relay.api<{ learned: Learned }>('PATCH', '/relaycore/routes/orders', { policy: 'learned' });
    expect(again.body.learned).toEqual(res.body.learned);
    const status = await relay.api<{
      model: { version: string | null };
      routes: { name: string; endpoints: { score: { basis: string } }[] }[];
    }>('GET', '/relaycore/status');
    expect(status.body.model.version).toBeNull();
    expect(status.body.routes.find((r) => r.name === 'orders')!.endpoints.map((e) => e.score.basis)).toEqual([
      'p2c-peak-ewma',
      'p2c-peak-ewma',
    ]);
  }, 300_000);
});
