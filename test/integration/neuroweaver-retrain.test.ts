import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionKind, AnomalyKind } from '../../schemas/index.ts';
import type { JobStatus } from '../../src/ml/jobs.ts';
import { syntheticSamples } from '../../src/ml/synthetic.ts';
import { type TestKafka, testKafka } from '../helpers/kafka.ts';
import { finished, type Instance, NEUROWEAVER_TOPICS, startNeuroWeaver } from '../helpers/neuroweaver.ts';
import { follow, until } from '../helpers/relay.ts';

describe('NeuroWeaver retraining triggers', () => {
  let t: TestKafka;
  let saveRoot: string;
  let nw: Instance;

  beforeAll(async () => {
    t = await testKafka(NEUROWEAVER_TOPICS, 'nw-retrain');
    saveRoot = mkdtempSync(join(tmpdir(), 'nw-retrain-'));
    const samples = syntheticSamples(300, { seed: 4, start: Date.now() - 30 * 60_000, stepMs: 5000 });
    await (await t.kafka.producer()).send(
      'metrics.samples',
      samples.map((s) => ({ key: s.service, timestamp: s.timestamp, value: s })),
    );
    nw = await startNeuroWeaver(t.kafka, {
      MODEL_SAVE_PATH: saveRoot,
      ML_RETRAIN_COOLDOWN_MS: '0',
      ML_DRIFT_WINDOW: '60',
      ML_DRIFT_THRESHOLD: '1.5',
      ML_RETRAIN_WINDOW_MS: '3600000',
      ML_KEEP_VERSIONS: '1',
    });
    // A champion first: a train request without data replays the recent window (ML_RETRAIN_WINDOW_MS).
    const res = await nw.api.inject({ method: 'POST', url: '/api/v2/neuroweaver/train', payload: { seed: 1 } });
    const job = await finished(nw.api, res.json<{ jobId: string }>().jobId);
    expect(job.result?.status).toBe('CHAMPION');
    expect(job.data.rows).toBe(300);
  });
  afterAll(async () => {
    await nw?.stop();
    await t?.cleanup();
    rmSync(saveRoot, { recursive: true, force: true });
  });

  const jobs = async () =>
    (await nw.api.inject({ method: 'GET', url: '/api/v2/neuroweaver/jobs' })).json<{ jobs: JobStatus[] }>().jobs;

  /** Sends the trigger until a job it started shows up (a trigger sent while the group still settles may land before its start offset). */
  async function triggered(send: () => Promise<unknown>, match: (j: JobStatus) => boolean): Promise<JobStatus> {
    for (let attempt = 0; attempt < 6; attempt++) {
      await send();
      for (let i = 0; i < 50; i++) {
        const job = (await jobs()).find(match);
        if (job) return finished(nw.api, job.id);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    throw new Error('no job was triggered');
  }

  it('carries out a live orchestrator retrain action, ignoring dry runs and other kinds, and answers when the job ends', async () => {
    const producer = await t.kafka.producer();
    const results = await follow(t.kafka, 'action.results');
    const action = (id: string, kind: ActionKind, dryRun: boolean) => ({
      key: 'performance',
      value: {
        id,
        kind,
        target: 'performance',
        reason: `test ${id}`,
        status: 'PROPOSED' as const,
        dryRun,
        params: { model: 'performance' },
        at: Date.now(),
      },
    });
    try {
      const job = await triggered(
        () =>
          producer.send('orchestrator.actions', [
            action('a-dry', 'retrain', true),
            action('a-scale', 'scale', false),
            action('a-retrain', 'retrain', false),
          ]),
        (j) => j.trigger === 'orchestrator',
      );
      expect(job.reason).toMatch(/^orchestrator action a-retrain: test a-retrain/);
      expect(job.state).toBe('succeeded');
      expect(job.data.source).toBe(t.kafka.catalog.name('metrics.samples'));
      expect(
        (await jobs()).filter((j) => j.trigger === 'orchestrator').every((j) => j.reason.includes('a-retrain')),
      ).toBe(true);
      const answer = async () =>
        (
          await Promise.all(
            results.records.map(async (r) => (await t.kafka.serde.decode('action.results', r.value)).value),
          )
        ).find((r) => r.actionId === 'a-retrain');
      await until(async () => (await answer()) !== undefined, 'the answer on action.results');
      expect(await answer()).toMatchObject({
        executor: 'neuroweaver',
        status: 'EXECUTED',
        kind: 'retrain',
        data: { version: job.result!.version, decision: job.result!.status },
      });
    } finally {
      await results.stop();
    }
  });

  it('retrains on a regime change (a level_shift opening on the anomaly stream)', async () => {
    const producer = await t.kafka.producer();
    const anomaly = (id: string, kind: AnomalyKind) => ({
      key: 'checkout',
      value: {
        id,
        service: 'checkout',
        state: 'OPEN' as const,
        kind,
        metrics: ['network_latency'],
        score: 0.9,
        explanation: 'test',
        startedAt: Date.now(),
        at: Date.now(),
      },
    });
    const job = await triggered(
      () => producer.send('anomalies', [anomaly('an-spike', 'spike'), anomaly('an-shift', 'level_shift')]),
      (j) => j.trigger === 'regime_change',
    );
    expect(job.reason).toBe('level shift in checkout (network_latency), anomaly an-shift');
    expect(job.state).toBe('succeeded');
  });

  it('retrains on drift: the champion error on recent labelled samples rises past the threshold', async () => {
    const producer = await t.kafka.producer();
    let seed = 10;
    const job = await triggered(
      () => {
        // The world changed: every score is 0.3 lower than the champion learned.
        const shifted = syntheticSamples(80, { seed: seed++, shift: 0.3, start: Date.now() - 80_000, stepMs: 1000 });
        return producer.send(
          'metrics.samples',
          shifted.map((s) => ({ key: s.service, timestamp: s.timestamp, value: s })),
        );
      },
      (j) => j.trigger === 'drift',
    );
    expect(job.reason).toMatch(/^rmse on the last 60 samples is .*x its holdout .* \(threshold 1\.5x\)$/);
    expect(job.state).toBe('succeeded');
    const status = (await nw.api.inject({ method: 'GET', url: '/api/v2/neuroweaver/status' })).json<{
      models: { performance: { drift: { threshold: number; window: number } } };
    }>();
    expect(status.models.performance.drift).toMatchObject({ threshold: 1.5, window: 60 });
  });

  it('keeps only the newest versions (ML_KEEP_VERSIONS=1), the champion and its rollback target, registry and artifacts alike', async () => {
    // Let any job still queued or running (a second drift trigger, say) end first.
    for (const j of (await jobs()).filter((x) => x.state === 'queued' || x.state === 'running'))
      await finished(nw.api, j.id);
    const finishedJobs = (await jobs()).filter((j) => j.state === 'succeeded');
    expect(finishedJobs.length).toBeGreaterThanOrEqual(4);
    const { versions, champions } = (await nw.api.inject({ method: 'GET', url: '/api/v2/neuroweaver/models' })).json<{
      versions: { version: string; replaced: string | null }[];
      champions: Record<string, string>;
    }>();
    const champion = versions.find((v) => v.version === champions.performance)!;
    const allowed = new Set([versions[0]!.version, champion.version, champion.replaced]);
    expect(versions.length).toBeLessThan(finishedJobs.length);
    expect(versions.every((v) => allowed.has(v.version))).toBe(true);
    expect(readdirSync(join(saveRoot, 'performance')).sort()).toEqual(versions.map((v) => v.version).sort());
    // A restarted instance sees the same, pruned registry.
    await nw.stop();
    nw = await startNeuroWeaver(t.kafka, { MODEL_SAVE_PATH: saveRoot });
    const after = (await nw.api.inject({ method: 'GET', url: '/api/v2/neuroweaver/models' })).json<{
      versions: { version: string }[];
    }>();
    expect(after.versions.map((v) => v.version).sort()).toEqual(versions.map((v) => v.version).sort());
  });
});
