/**
 * A prediction changes nothing, so it is open like the other reads while training, promotion and
 * rollback need the token; OpenAPI says the same (issue 16, item 8).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticRows } from '../../src/ml/synthetic.ts';
import { type TestKafka, testKafka } from '../helpers/kafka.ts';
import { finished, type Instance, NEUROWEAVER_TOPICS, startNeuroWeaver } from '../helpers/neuroweaver.ts';

const TOKEN = 'predict-auth-token-0123456789';
const ROW = { cpu_usage: 75, memory_usage: 60, network_latency: 150, error_rate: 2, request_count: 1500 };

describe('predictions with API_TOKEN set', () => {
  let t: TestKafka;
  let saveRoot: string;
  let nw: Instance;
  beforeAll(async () => {
    t = await testKafka(NEUROWEAVER_TOPICS, 'nw-auth');
    saveRoot = mkdtempSync(join(tmpdir(), 'nw-auth-'));
    nw = await startNeuroWeaver(t.kafka, { MODEL_SAVE_PATH: saveRoot, API_TOKEN: TOKEN });
  });
  afterAll(async () => {
    await nw?.stop();
    await t?.cleanup();
    rmSync(saveRoot, { recursive: true, force: true });
  });

  const post = (url: string, payload: unknown, token?: string) =>
    nw.api.inject({
      method: 'POST',
      url: `/api/v2/neuroweaver${url}`,
      payload: payload as object,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });

  it('serves a prediction without the token while training, promotion and rollback still need it', async () => {
    const train = { data: syntheticRows(120, { seed: 4 }), budget: { trials: 1, maxEpochs: 3 }, seed: 1 };
    expect((await post('/train', train)).statusCode).toBe(401);
    const started = await post('/train', train, TOKEN);
    expect(started.statusCode).toBe(202);
    const job = await finished(nw.api, started.json<{ jobId: string }>().jobId);
    expect(job.state).toBe('succeeded');
    const version = job.result!.version;
    // Three epochs on 120 rows need not beat the linear baseline: an operator promotes the version, with the token.
    expect((await post(`/models/performance/${version}/promote`, {})).statusCode).toBe(401);
    expect((await post(`/models/performance/${version}/promote`, {}, TOKEN)).statusCode).toBe(200);

    const predicted = await post('/predict', ROW);
    expect(predicted.statusCode).toBe(200);
    expect(predicted.json()).toMatchObject({
      model: 'performance',
      version,
      predictions: [{ performance_score: expect.any(Number) }],
    });
    expect((await post('/models/performance/rollback', {})).statusCode).toBe(401);
    expect((await post('/jobs/x/cancel', {})).statusCode).toBe(401);
  }, 180_000);

  it('says so in OpenAPI: train is marked as needing the token, predict is not', async () => {
    const spec = (await nw.api.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    }>();
    expect(spec.paths['/api/v2/neuroweaver/train']!.post!.security).toEqual([{ bearer: [] }]);
    expect(spec.paths['/api/v2/neuroweaver/predict']!.post!.security).toBeUndefined();
  });
});
