import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { artifactDir, loadArtifacts } from '../../src/ml/artifacts.ts';
import { splitData, splitRows } from '../../src/ml/dataset.ts';
import { performanceKind } from '../../src/ml/kinds/performance.ts';
import { syntheticRows } from '../../src/ml/synthetic.ts';
import { predictRows, runTraining, type TrainingRequest } from '../../src/ml/training.ts';
import type { TuneEvent } from '../../src/ml/tuner.ts';
import { trainInWorker, type WorkerMessage } from '../../src/ml/worker-client.ts';
import { tensorflow } from '../../src/shared/tensorflow.ts';

const root = mkdtempSync(join(tmpdir(), 'nw-train-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function request(version: string, rows = 600, budget = { trials: 4, maxEpochs: 8, timeS: 60 }): TrainingRequest {
  const data = syntheticRows(rows, { seed: 11 });
  const s = splitRows(data, { seed: 1, holdout: 0.2, val: 0.2 });
  return {
    kind: 'performance',
    seed: 5,
    budget,
    train: splitData(performanceKind, s.train, null),
    val: splitData(performanceKind, s.val, null),
    holdout: splitData(performanceKind, s.holdout, null),
    saveRoot: root,
    artifactPath: `performance/${version}`,
    version,
    kindState: null,
  };
}

describe('a training run', () => {
  it('tunes with successive halving, reports every epoch, compares with the linear baseline, and saves artifacts that load back', async () => {
    const { tf, backend } = await tensorflow();
    const events: TuneEvent[] = [];
    const req = request('v1');
    const holdoutX = { ...req.holdout.x, data: req.holdout.x.data.slice() };
    const result = await runTraining(tf, backend, req, (e) => events.push(e));

    expect(result.trials).toHaveLength(4);
    expect(events.filter((e) => e.kind === 'TRIAL_STARTED')).toHaveLength(4);
    // Successive halving: 4 trials -> 2 -> 1; the halved ones say so.
    expect(
      events.filter((e) => e.kind === 'TRIAL_STOPPED' && e.message?.startsWith('successive halving')).length,
    ).toBeGreaterThanOrEqual(2);
    const epochs = events.filter((e) => e.kind === 'EPOCH');
    expect(epochs.length).toBe(events.at(-1)!.progress.epochsDone);
    expect(epochs.every((e) => Number.isFinite(e.metrics.loss) && Number.isFinite(e.metrics.val_loss))).toBe(true);
    expect(result.evaluation).toMatchObject({ holdoutRows: 120, classic: null, champion: null });
    expect(result.evaluation.network.rmse).toBeGreaterThan(0);
    expect(result.evaluation.linear?.rmse).toBeGreaterThan(0);
    // The training's own figures, apart from what the gate compares.
    expect(Object.keys(result.metrics).sort()).toEqual(
      ['duration_s', 'epochs', 'train_rows', 'trials', 'val_loss', 'val_rows'].sort(),
    );

    const dir = artifactDir(root, 'performance/v1');
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'state.json', 'weights.bin']);
    const loaded = await loadArtifacts(tf, dir);
    expect(loaded.state.hyperparameters).toEqual(result.hyperparameters);
    expect(loaded.state.evaluation).toEqual(result.evaluation);
    // The scaler was fitted on the training split only.
    expect(loaded.state.xScaler.mean[0]).toBeCloseTo(mean(req.train.x.data, 5, 0), 3);
    const predicted = predictRows(tf, loaded.model, holdoutX, loaded.state.xScaler, loaded.state.yScaler);
    expect(predicted).toHaveLength(120);
    loaded.model.dispose();
  });

  it('runs in a worker thread, and measures the champion on the same holdout', async () => {
    const messages: WorkerMessage[] = [];
    const req = request('v2', 400, { trials: 1, maxEpochs: 3, timeS: 60 });
    req.champion = {
      version: 'v1',
      dir: artifactDir(root, 'performance/v1'),
      holdoutX: { ...req.holdout.x, data: req.holdout.x.data.slice() },
    };
    const result = await trainInWorker(req, { backend: 'auto', onMessage: (m) => messages.push(m) });
    expect(messages[0]).toMatchObject({ type: 'backend' });
    expect(messages.filter((m) => m.type === 'event' && m.event.kind === 'EPOCH')).toHaveLength(3);
    expect(result.evaluation.champion).toEqual({
      version: 'v1',
      metrics: { rmse: expect.any(Number), mae: expect.any(Number), r2: expect.any(Number) },
      error: null,
    });
    expect(readdirSync(artifactDir(root, 'performance/v2'))).toContain('weights.bin');
  });

  it('is cancelled by its signal', async () => {
    const abort = new AbortController();
    const run = trainInWorker(request('v3', 2000, { trials: 8, maxEpochs: 200, timeS: 600 }), {
      backend: 'auto',
      signal: abort.signal,
      onMessage: (m) => {
        if (m.type === 'event' && m.event.kind === 'EPOCH') abort.abort();
      },
    });
    await expect(run).rejects.toThrow(/cancelled/);
  });
});

function mean(data: Float32Array, cols: number, col: number): number {
  let s = 0;
  for (let i = col; i < data.length; i += cols) s += data[i]!;
  return s / (data.length / cols);
}
