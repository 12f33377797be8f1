import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Evaluation, MetricSampleInput, TrainingEvent } from '../../schemas/types.ts';
import { datasetFromReplay } from '../../src/ml/dataset.ts';
import type { JobStatus } from '../../src/ml/jobs.ts';
import { performanceKind } from '../../src/ml/kinds/performance.ts';
import { syntheticRows, syntheticSamples } from '../../src/ml/synthetic.ts';
import { type TestKafka, testKafka } from '../helpers/kafka.ts';
import { finished, type Instance, NEUROWEAVER_TOPICS, readUntil, startNeuroWeaver } from '../helpers/neuroweaver.ts';

const MIN = 60_000;
const T0 = Math.floor((Date.now() - 3 * 60 * MIN) / MIN) * MIN;
const ROW = { cpu_usage: 75, memory_usage: 60, network_latency: 150, error_rate: 2, request_count: 1500 };

interface Models {
  champions: Record<string, string>;
  versions: {
    version: string;
    status: string;
    parent: string | null;
    replaced: string | null;
    metrics: Record<string, number>;
    evaluation: Evaluation | null;
    hyperparameters: Record<string, string>;
    dataSource: string;
    dataFrom: number | null;
    dataTo: number | null;
    rows: number;
    backend: string;
    note: string | null;
  }[];
}

describe('NeuroWeaver on the real broker', () => {
  let t: TestKafka;
  let saveRoot: string;
  let nw: Instance;
  let samples: MetricSampleInput[];
  let championVersion: string;
  const env = () => ({ MODEL_SAVE_PATH: saveRoot });

  beforeAll(async () => {
    t = await testKafka(NEUROWEAVER_TOPICS, 'nw');
    saveRoot = mkdtempSync(join(tmpdir(), 'nw-models-'));
    // 3 services, one sample each per minute for 2 hours; every 10th sample has no label.
    // Little noise: the first version must beat the linear baseline to be promoted.
    samples = syntheticSamples(360, { seed: 3, noise: 0.005, start: T0, stepMs: 20_000 }).map((s, i) =>
      i % 10 === 9 ? { ...s, performance_score: null } : s,
    );
    const producer = await t.kafka.producer();
    await producer.send(
      'metrics.samples',
      samples.map((s) => ({ key: s.service, timestamp: s.timestamp, value: s })),
    );
    nw = await startNeuroWeaver(t.kafka, env());
  });
  afterAll(async () => {
    await nw?.stop();
    await t?.cleanup();
    rmSync(saveRoot, { recursive: true, force: true });
  });

  const post = (url: string, payload?: unknown) =>
    nw.api.inject({ method: 'POST', url: `/api/v2/neuroweaver${url}`, payload: payload as object });
  const get = (url: string) => nw.api.inject({ method: 'GET', url: `/api/v2/neuroweaver${url}` });

  it('replays a time window of every partition into a dataset of exactly its labelled rows', async () => {
    const from = T0 + 20 * MIN;
    const to = T0 + 100 * MIN - 1;
    const inWindow = samples.filter((s) => s.timestamp >= from && s.timestamp <= to);
    const dataset = await datasetFromReplay(t.kafka, performanceKind, { from, to });
    expect(dataset.scanned).toBe(inWindow.length);
    expect(dataset.rows).toHaveLength(inWindow.filter((s) => s.performance_score !== null).length);
    expect(dataset.unlabelled).toBe(inWindow.filter((s) => s.performance_score === null).length);
    expect(dataset.rows.length).toBe(216);
  });

  it('trains from a replayed window off the request path, promotes the first version, and predicts with it', async () => {
    const res = await post('/train', {
      from: new Date(T0).toISOString(),
      to: T0 + 120 * MIN,
      budget: { trials: 2, maxEpochs: 200 },
      seed: 1,
    });
    expect(res.statusCode).toBe(202);
    const { jobId } = res.json<{ jobId: string }>();
    const job = await finished(nw.api, jobId);
    expect(job.state).toBe('succeeded');
    expect(job.data.rows).toBe(samples.filter((s) => s.performance_score !== null).length);
    expect(job.data.holdout).toBe('newest');
    expect(job.result?.status).toBe('CHAMPION');
    expect(job.result?.decision).toMatch(/^first version/);
    championVersion = job.result!.version;

    const models = (await get('/models')).json<Models>();
    expect(models.champions.performance).toBe(championVersion);
    const v = models.versions.find((x) => x.version === championVersion)!;
    expect(v).toMatchObject({
      status: 'CHAMPION',
      parent: null,
      dataSource: t.kafka.catalog.name('metrics.samples'),
      dataFrom: T0,
      dataTo: T0 + 120 * MIN,
      rows: job.data.rows,
      backend: expect.stringMatching(/wasm|cpu|tensorflow/),
    });
    // What the gate compared is the typed evaluation, as the job reported it; the training's own figures stay in metrics.
    expect(v.evaluation).toEqual(job.result!.evaluation);
    expect(v.evaluation).toMatchObject({ holdoutRows: expect.any(Number), classic: null, champion: null });
    expect(v.evaluation!.network.rmse).toBeGreaterThan(0);
    expect(v.evaluation!.linear!.rmse).toBeGreaterThan(v.evaluation!.network.rmse!);
    expect(v.metrics).toMatchObject({ val_loss: expect.any(Number), epochs: expect.any(Number) });
    expect(Object.keys(v.metrics).filter((k) => /^(holdout|baseline|classic|champion)_/.test(k))).toEqual([]);
    expect(Object.keys(v.hyperparameters).sort()).toEqual([
      'activation',
      'batchSize',
      'dropout',
      'l2',
      'layers',
      'learningRate',
      'units',
    ]);
    for (const f of ['model.json', 'weights.bin', 'state.json'])
      expect(existsSync(join(saveRoot, 'performance', championVersion, f))).toBe(true);

    const one = await post('/predict', ROW);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({
      model: 'performance',
      version: championVersion,
      predictions: [{ performance_score: expect.any(Number) }],
    });
    const many = await post('/predict', [ROW, { ...ROW, cpu_usage: 97, network_latency: 900, error_rate: 20 }]);
    expect(many.json<{ predictions: unknown[] }>().predictions).toHaveLength(2);
    const metrics = (await nw.api.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/automatrix_neuroweaver_predictions_total\{model="performance"\} [3-9]/);
    for (const predictor of ['network', 'linear'] as const)
      expect(metrics).toContain(
        `automatrix_neuroweaver_serving_metric{model="performance",predictor="${predictor}",metric="rmse"} ${job.result!.evaluation[predictor]!.rmse}`,
      );
    expect(metrics).toMatch(
      /automatrix_neuroweaver_training_jobs_total\{model="performance",trigger="api",state="succeeded"\} [1-9]/,
    );

    // Every epoch of every trial, and the job's acceptance, start and end, are on the training-events topic.
    const all = await allEventsOf(jobId);
    expect(all.slice(0, 2).map((e) => e.kind)).toEqual(['JOB_QUEUED', 'JOB_STARTED']);
    expect(all.at(-1)!.kind).toBe('JOB_FINISHED');
    const epochs = all.filter((e) => e.kind === 'EPOCH');
    expect(epochs.length).toBe(job.progress!.epochsDone);
    expect(
      epochs.every(
        (e) => e.metrics.loss !== undefined && e.metrics.val_loss !== undefined && e.trial !== null && e.epoch !== null,
      ),
    ).toBe(true);
  });

  /** Our producer writes Avro in the Confluent wire format: a 5-byte header, then the body. */
  const decodeEvent = (value: Buffer | null) =>
    t.kafka.serde.readerType('training.events').fromBuffer(value!.subarray(5)) as TrainingEvent;

  async function allEventsOf(jobId: string): Promise<TrainingEvent[]> {
    let events: TrainingEvent[] = [];
    await readUntil(t.kafka, t.kafka.catalog.name('training.events'), (rs) => {
      const mine = rs.filter((r) => r.key?.toString() === jobId);
      events = mine.map((r) => decodeEvent(r.value));
      return events.some((e) => e.kind === 'JOB_FINISHED');
    });
    return events;
  }

  it('keeps the event loop and the API responsive while a job trains, and publishes its progress while it runs', async () => {
    const isEpoch = (value: Buffer | null) => decodeEvent(value).kind === 'EPOCH';
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      const res = await post('/train', {
        data: syntheticRows(4000, { seed: 9 }),
        budget: { trials: 4, maxEpochs: 400, timeS: 300 },
        seed: 2,
      });
      const { jobId } = res.json<{ jobId: string }>();
      const seen = new Set<number>();
      let ticksAtFirst = -1;
      let status: { job: JobStatus | null; backend: string } | undefined;
      while (seen.size < 3) {
        status = (await get('/status')).json();
        if (status!.job?.id !== jobId && (await get(`/jobs/${jobId}`)).json<JobStatus>().finishedAt) break;
        const p = status!.job?.progress;
        if (status!.job?.phase === 'training' && p) {
          if (!seen.size) ticksAtFirst = ticks;
          seen.add(p.epochsDone);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      // The API answered three times during training with advancing epochs, and the interval kept ticking in between.
      expect(seen.size).toBe(3);
      expect(ticks).toBeGreaterThan(ticksAtFirst);
      expect(status!.job).toMatchObject({
        id: jobId,
        state: 'running',
        model: 'performance',
        trigger: 'api',
        backend: status!.backend,
      });
      expect(status!.job!.progress!.best).not.toBeNull();
      expect(status!.job!.etaS).toBeGreaterThanOrEqual(0);

      // While it still runs, its epochs are already readable from the training-events topic.
      const records = await readUntil(t.kafka, t.kafka.catalog.name('training.events'), (rs) =>
        rs.some((r) => r.key?.toString() === jobId && isEpoch(r.value)),
      );
      expect(records.some((r) => r.key?.toString() === jobId)).toBe(true);
      expect((await get(`/jobs/${jobId}`)).json<JobStatus>().state).toBe('running');

      const cancelled = await post(`/jobs/${jobId}/cancel`);
      expect(cancelled.statusCode).toBe(200);
      expect((await finished(nw.api, jobId)).state).toBe('cancelled');
    } finally {
      clearInterval(timer);
    }
  });

  it('does not promote a worse challenger: the champion keeps serving', async () => {
    const res = await post('/train', {
      data: syntheticRows(300, { seed: 5 }),
      // Practically untrained: one epoch at a learning rate of 1e-6.
      hyperparameters: {
        layers: 1,
        units: 4,
        learningRate: 1e-6,
        batchSize: 256,
        l2: 0,
        dropout: 0,
        activation: 'tanh',
      },
      budget: { maxEpochs: 1 },
    });
    const job = await finished(nw.api, res.json<{ jobId: string }>().jobId);
    expect(job.state).toBe('succeeded');
    expect(job.result?.status).toBe('REJECTED');
    expect(job.result?.evaluation.champion).toMatchObject({ version: championVersion, error: null });
    expect(job.result?.evaluation.champion?.metrics.rmse).toBeGreaterThan(0);
    expect(job.result?.decision).toMatch(/^does not beat the champion: rmse .* vs champion .* on the same holdout/);
    const models = (await get('/models')).json<Models>();
    expect(models.champions.performance).toBe(championVersion);
    expect(models.versions.find((v) => v.version === job.result!.version)).toMatchObject({
      status: 'REJECTED',
      parent: championVersion,
    });
    const champion = (await post('/predict', ROW)).json<{
      version: string;
      predictions: { performance_score: number }[];
    }>();
    expect(champion.version).toBe(championVersion);
    // The rejected version still answers when asked for by name.
    const pinned = (await post(`/predict?version=${job.result!.version}`, ROW)).json<typeof champion>();
    expect(pinned.version).toBe(job.result!.version);
    expect(pinned.predictions[0]!.performance_score).not.toBe(champion.predictions[0]!.performance_score);
    expect((await post('/predict?version=v0-nope', ROW)).json()).toMatchObject({
      statusCode: 404,
      field: 'querystring.version',
    });
  });

  it('promotes manually and rolls back through the API', async () => {
    const rejected = (await get('/models')).json<Models>().versions.find((v) => v.status === 'REJECTED')!;
    const promoted = await post(`/models/performance/${rejected.version}/promote`);
    expect(promoted.statusCode).toBe(200);
    expect(promoted.json()).toMatchObject({
      champion: { version: rejected.version, status: 'CHAMPION', replaced: championVersion },
      retired: championVersion,
    });
    expect((await post('/predict', ROW)).json<{ version: string }>().version).toBe(rejected.version);

    const rolled = await post('/models/performance/rollback');
    expect(rolled.json()).toMatchObject({
      champion: { version: championVersion, status: 'CHAMPION' },
      retired: rejected.version,
    });
    expect((await post('/predict', ROW)).json<{ version: string }>().version).toBe(championVersion);
    expect((await get('/models')).json<Models>().versions.find((v) => v.version === rejected.version)?.status).toBe(
      'RETIRED',
    );
  });

  it('names the field of a bad prediction row', async () => {
    const { error_rate: _, ...missing } = ROW;
    const cases: [unknown, string][] = [
      [missing, 'body.error_rate'],
      [{ ...ROW, colour: 3 }, 'body.colour'],
      [{ ...ROW, cpu_usage: 'high' }, 'body.cpu_usage'],
      [[ROW, { ...ROW, memory_usage: null }], 'body.1.memory_usage'],
      [{ ...ROW, performance_score: 0.5 }, 'body.performance_score'],
    ];
    for (const [payload, field] of cases) {
      const res = await post('/predict', payload);
      expect(res.statusCode, field).toBe(400);
      expect(res.json()).toMatchObject({ field, message: expect.stringContaining(field) });
    }
    const unknown = await post('/predict?model=weather', ROW);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json<{ field: string }>().field).toBe('querystring.model');
  });

  it('names the field of bad training data', async () => {
    const rows = syntheticRows(30, { seed: 1 });
    const bad = await post('/train', { data: rows.map((r, i) => (i === 7 ? { ...r, error_rate: 'x' } : r)) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ field: 'body.data.7.error_rate' });
    expect((await post('/train', { data: rows, budget: { trials: 0 } })).json()).toMatchObject({
      field: 'body.budget.trials',
    });
    expect((await post('/train', { from: 'yesterday-ish' })).json()).toMatchObject({ field: 'body.from' });
    expect((await post('/train', { data: rows.slice(0, 5) })).json()).toMatchObject({
      statusCode: 400,
      field: 'body.data',
    });
  });

  it('documents every route in the OpenAPI spec, with a summary and examples', async () => {
    const spec = (await nw.api.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, Record<string, { summary?: string; requestBody?: unknown }>>;
    }>();
    const ours = Object.entries(spec.paths).filter(([path]) => path.startsWith('/api/v2/neuroweaver/'));
    expect(ours.map(([path]) => path).sort()).toEqual(
      [
        '/api/v2/neuroweaver/jobs',
        '/api/v2/neuroweaver/jobs/{id}',
        '/api/v2/neuroweaver/jobs/{id}/cancel',
        '/api/v2/neuroweaver/models',
        '/api/v2/neuroweaver/models/{model}/rollback',
        '/api/v2/neuroweaver/models/{model}/{version}',
        '/api/v2/neuroweaver/models/{model}/{version}/promote',
        '/api/v2/neuroweaver/predict',
        '/api/v2/neuroweaver/status',
        '/api/v2/neuroweaver/train',
      ].sort(),
    );
    for (const [path, methods] of ours)
      for (const [method, op] of Object.entries(methods)) expect(op.summary, `${method} ${path}`).toBeTruthy();
    expect(JSON.stringify(spec.paths['/api/v2/neuroweaver/train']!.post!.requestBody)).toContain('performance_score');
    expect(JSON.stringify(spec.paths['/api/v2/neuroweaver/predict']!.post!.requestBody)).toContain('network_latency');
  });

  it('finds the promoted model again after a restart, from the registry topic and its artifacts', async () => {
    const before = (await post('/predict', [ROW, { ...ROW, cpu_usage: 90 }])).json<{
      version: string;
      predictions: { performance_score: number }[];
    }>();
    // Stopping while a job trains and another waits cancels both and returns.
    const long = { data: syntheticRows(3000, { seed: 8 }), budget: { trials: 8, maxEpochs: 1000, timeS: 3600 } };
    const running = (await post('/train', long)).json<{ jobId: string }>().jobId;
    const waiting = (await post('/train', long)).json<{ jobId: string }>().jobId;
    while (nw.nw.jobs.get(running)?.phase !== 'training') await new Promise((r) => setTimeout(r, 20));
    const old = nw;
    await nw.stop();
    expect(old.nw.jobs.get(running)?.state).toBe('cancelled');
    expect(old.nw.jobs.get(waiting)).toMatchObject({ state: 'cancelled', error: 'NeuroWeaver stopped' });
    nw = await startNeuroWeaver(t.kafka, env());
    const status = (await get('/status')).json<{ models: Record<string, { champion: string; serving: string }> }>();
    expect(status.models.performance).toMatchObject({ champion: championVersion, serving: championVersion });
    const after = (await post('/predict', [ROW, { ...ROW, cpu_usage: 90 }])).json<typeof before>();
    expect(after).toEqual(before);
  });

  it('with ENABLE_ML_TRAINING=false refuses to train and keeps serving predictions', async () => {
    const readOnly = await startNeuroWeaver(t.kafka, { ...env(), ENABLE_ML_TRAINING: 'false' });
    try {
      const res = await readOnly.api.inject({
        method: 'POST',
        url: '/api/v2/neuroweaver/train',
        payload: { data: syntheticRows(50) },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json<{ message: string }>().message).toMatch(
        /training is disabled on this instance \(ENABLE_ML_TRAINING=false\)/,
      );
      const prediction = await readOnly.api.inject({
        method: 'POST',
        url: '/api/v2/neuroweaver/predict',
        payload: ROW,
      });
      expect(prediction.json()).toMatchObject({ version: championVersion });
      expect((await readOnly.api.inject({ method: 'GET', url: '/api/v2/neuroweaver/status' })).json()).toMatchObject({
        trainingEnabled: false,
      });
    } finally {
      await readOnly.stop();
    }
  });
});
