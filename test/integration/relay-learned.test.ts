/**
 * The learned routing policy end to end on the real broker, two processes' worth of components on
 * one topic prefix that share nothing but Kafka (and MODEL_SAVE_PATH, where artifacts live):
 * RelayCore records delivery outcomes -> its optimize asks NeuroWeaver (through orchestrator.actions)
 * -> NeuroWeaver replays the outcomes, trains the `routing` kind, registers a champion on
 * model.registry -> the running RelayCore follows the registry, serves the champion without a
 * restart and shifts traffic away from the bad endpoint; its status and the dashboard show the scores.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryOutcome, Evaluation, ModelVersion, TrainingEvent } from '../../schemas/types.ts';
import type { RelayCore } from '../../src/relay/index.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { uniquePrefix } from '../helpers/kafka.ts';
import { readUntil } from '../helpers/neuroweaver.ts';
import { type AppHarness, follow, startApp, type TestEndpoint, testEndpoint, until } from '../helpers/relay.ts';

interface Score {
  basis: string;
  score: number | null;
  predictedLatencyMs: number | null;
  failureProbability: number | null;
}
interface Status {
  model: {
    version: string | null;
    champion: string | null;
    evaluation: Evaluation | null;
  };
  routes: { name: string; policy: string; endpoints: { id: string; shedding: boolean; score: Score }[] }[];
}
interface OptimizeReply {
  jobId: string;
  promoted: boolean;
  reason: string;
  serving: string | null;
  candidate: {
    version: string;
    status: string;
    rows: number;
    evaluation: Evaluation | null;
  };
  routesUsingLearned: string[];
}

const LARGE = 1000;

describe('learned routing: outcomes -> NeuroWeaver -> registry -> RelayCore', () => {
  const prefix = uniquePrefix('learned');
  const models = mkdtempSync(join(tmpdir(), 'am-learned-models-'));
  let neuroweaver: AppHarness;
  let relay: AppHarness;
  let core: RelayCore;
  let good: TestEndpoint;
  let bad: TestEndpoint;
  let badCalls = 0;

  const route = (name: string, policy: string, settings: Record<string, number> = {}) => ({
    name,
    policy,
    maxAttempts: 3,
    settings: { volumeThreshold: 100_000, ...settings },
    endpoints: [
      { id: 'good', kind: 'HTTP', target: good.url, timeoutMs: 2000 },
      { id: 'bad', kind: 'HTTP', target: bad.url, timeoutMs: 2000 },
    ],
  });
  /** Paced (10 messages every 40 ms), so the endpoints' time-based EWMAs see traffic spread over time, as in production. */
  const send = async (routeName: string, n: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i += 10) {
      const sent = await Promise.all(
        Array.from({ length: Math.min(10, n - i) }, (_, j) =>
          relay.api<{ id: string }>('POST', '/relaycore/message', {
            route: routeName,
            payload: { i: i + j, pad: (i + j) % 2 ? 'x'.repeat(2 * LARGE) : '' },
          }),
        ),
      );
      expect(sent.every((s) => s.status === 202)).toBe(true);
      ids.push(...sent.map((s) => s.body.id));
      await new Promise((r) => setTimeout(r, 40));
    }
    return ids;
  };
  const allDelivered = (ids: string[]) => {
    const delivered = new Set([...good.delivered(), ...bad.delivered()]);
    return ids.every((id) => delivered.has(id));
  };
  const status = async () => (await relay.api<Status>('GET', '/relaycore/status')).body;

  beforeAll(async () => {
    // The good endpoint is slower for large payloads: that depends on the message, which endpoint averages
    // (the classic baseline the gate compares with) cannot see but the model's payload-size feature can.
    // The bad one is gray: slower, and every other call fails (the routes' breakers are kept closed: the
    // shift must be the model's). The delays are large next to this process's own transport time (20-80 ms
    // under `npm test`, moving with the machine's load), so what the model learns is the endpoints' doing:
    // with 0/30/40 ms a load shift during the data phase made the network lose the gate to the linear baseline.
    good = await testEndpoint((hit) => ({ status: 200, delayMs: hit.body.length > LARGE ? 100 : 15 }));
    bad = await testEndpoint(() => ({ status: badCalls++ % 2 === 0 ? 503 : 200, delayMs: 120 }));
    const shared = { MODEL_SAVE_PATH: models };
    neuroweaver = await startApp({
      prefix,
      components: ['neuroweaver'],
      env: {
        ...shared,
        ML_RETRAIN_INTERVAL_MS: '0',
        ML_MIN_TRAINING_ROWS: '200',
        ML_TUNE_TRIALS: '1',
        ML_TUNE_MAX_EPOCHS: '30',
      },
    });
    relay = await startApp({
      prefix,
      components: ['relay', 'gateway'],
      env: { ...shared, RELAY_OPTIMIZE_ANSWER_MS: '30000' },
    });
    core = relay.runtime.components.find((c) => c.name === 'relay') as RelayCore;
  }, 120_000);

  afterAll(async () => {
    await relay?.stop();
    await neuroweaver?.close();
    await Promise.all([good?.close(), bad?.close()]);
  });

  it('trains on recorded outcomes through Kafka, promotes a champion, and the running RelayCore serves it and sheds the bad endpoint', async () => {
    // 1. No model yet: the learned route ranks by p2c-peak-ewma. Its load factor is off (loadScale), so the
    //    test's bursts (every message produced at once) do not spread onto the bad endpoint: only predictions rank.
    expect((await relay.api('POST', '/relaycore/routes', route('spread', 'round-robin'))).status).toBe(201);
    expect((await relay.api('POST', '/relaycore/routes', route('smart', 'learned', { loadScale: 1000 }))).status).toBe(
      201,
    );
    const before = await status();
    expect(before.model).toMatchObject({ version: null, champion: null });
    expect(before.routes.find((r) => r.name === 'smart')!.endpoints.map((e) => e.score.basis)).toEqual([
      'p2c-peak-ewma',
      'p2c-peak-ewma',
    ]);

    // 2. Training data: round-robin traffic over both endpoints, every attempt an outcome on delivery.outcomes.
    const outcomes = await follow(relay.kafka, 'delivery.outcomes');
    try {
      await send('spread', 1000);
      await until(() => outcomes.records.length >= 1000, '1000 outcomes', 120_000);
      const recorded = await Promise.all(
        outcomes.records.map(
          async (r) => (await relay.kafka.serde.decode('delivery.outcomes', r.value)).value as DeliveryOutcome,
        ),
      );
      expect(recorded.filter((o) => o.endpoint === 'bad' && o.status === 'FAILED').length).toBeGreaterThan(100);
    } finally {
      await outcomes.stop();
    }

    // 3. optimize: a request on orchestrator.actions, NeuroWeaver (another runtime) trains and answers on training.events.
    const res = await relay.api<OptimizeReply>('POST', '/relaycore/optimize', {
      windowMinutes: 10,
      budget: { maxEpochs: 100 },
      hyperparameters: {
        layers: 1,
        units: 16,
        learningRate: 0.01,
        batchSize: 32,
        l2: 0,
        dropout: 0,
        activation: 'relu',
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const reply = res.body;
    expect(reply.promoted, JSON.stringify(reply)).toBe(true);
    expect(reply).toMatchObject({ promoted: true, serving: reply.candidate.version, routesUsingLearned: ['smart'] });
    expect(reply.reason).toMatch(/^first version: combined_loss .* on the holdout \(classic baseline /);
    expect(reply.candidate.rows).toBeGreaterThanOrEqual(1000);
    const evaluation = reply.candidate.evaluation!;
    expect(evaluation).toMatchObject({ holdoutRows: expect.any(Number), champion: null });
    expect(evaluation.holdoutRows).toBeGreaterThan(0);
    expect(evaluation.network.combined_loss).toBeLessThan(evaluation.classic!.combined_loss!);

    // NeuroWeaver's own records: the job on training.events under the request id, the champion on model.registry.
    const events = await readUntil(relay.kafka, relay.kafka.catalog.name('training.events'), (rs) =>
      rs.some((r) => r.key?.toString() === reply.jobId),
    );
    const kinds = await Promise.all(
      events
        .filter((r) => r.key?.toString() === reply.jobId)
        .map(async (r) => ((await relay.kafka.serde.decode('training.events', r.value)).value as TrainingEvent).kind),
    );
    expect(kinds[0]).toBe('JOB_QUEUED');
    expect(kinds.at(-1)).toBe('JOB_FINISHED');
    const registry = await readUntil(relay.kafka, relay.kafka.catalog.name('model.registry'), (rs) =>
      rs.some((r) => r.key?.toString() === `routing/${reply.candidate.version}`),
    );
    const versions = await Promise.all(
      registry.map(async (r) => (await relay.kafka.serde.decode('model.registry', r.value)).value as ModelVersion),
    );
    expect(versions.filter((v) => v.version === reply.candidate.version).at(-1)).toMatchObject({
      model: 'routing',
      status: 'CHAMPION',
      dataSource: expect.stringContaining('delivery.outcomes'),
    });

    // 4. The same RelayCore (no restart) serves the champion; the learned route now scores by predictions.
    expect(relay.runtime.components.find((c) => c.name === 'relay')).toBe(core);
    const served = await status();
    expect(served.model).toMatchObject({ version: reply.candidate.version, champion: reply.candidate.version });
    expect(served.model.evaluation).toEqual(evaluation);

    // 5. Traffic on the learned route: the bad endpoint is found out and shed.
    const badBefore = bad.hits.length;
    const goodBefore = good.hits.length;
    const ids = await send('smart', 300);
    await until(() => allDelivered(ids), '300 deliveries on the learned route', 90_000);
    const toBad = bad.hits.length - badBefore;
    const toGood = good.hits.length - goodBefore;
    // Round-robin gave the bad endpoint half the attempts; the learned policy gives it a few (first measurements, probes, exploration).
    expect(toBad / (toBad + toGood)).toBeLessThan(0.15);
    const smart = (await status()).routes.find((r) => r.name === 'smart')!;
    const [g, b] = ['good', 'bad'].map((id) => smart.endpoints.find((e) => e.id === id)!.score);
    expect(g!.basis).toBe('learned');
    expect(b!.basis).toBe('learned');
    expect(b!.failureProbability!).toBeGreaterThan(g!.failureProbability! + 0.1);
    expect(smart.endpoints.find((e) => e.id === 'bad')!.shedding).toBe(true);
  }, 600_000);

  it('shows the served model and the per-endpoint scores on the dashboard', async () => {
    let browser: BrowserContext | undefined;
    try {
      browser = await launchBrowser();
      const page = await browser.newPage();
      await page.goto(relay.base.replace(/\/api\/v2$/, '/'));
      const version = (await status()).model.version!;
      await page
        .locator('[data-route="smart"] .route-policy', { hasText: `learned · model ${version}` })
        .waitFor({ timeout: 60_000 });
      const cell = page.locator('[data-route="smart"] [data-endpoint="bad"] [data-testid="score"]');
      await cell.waitFor({ timeout: 60_000 });
      expect(Number(await cell.getAttribute('data-failure'))).toBeGreaterThan(0.1);
      expect(await cell.textContent()).toMatch(/^\d+(\.\d)? · \d+ ms · \d+\.\d%$/);
      expect(await page.locator('[data-route="spread"] .route-policy').textContent()).toBe('round-robin');
    } finally {
      await browser?.close();
    }
  }, 180_000);
});
