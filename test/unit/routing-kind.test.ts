import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DeliveryOutcome } from '../../schemas/types.ts';
import { artifactDir, loadArtifacts } from '../../src/ml/artifacts.ts';
import { featureMatrix, splitData, splitRows } from '../../src/ml/dataset.ts';
import { MODEL_KINDS } from '../../src/ml/kinds/index.ts';
import { type RoutingRow, rocAuc, routingKind } from '../../src/ml/kinds/routing.ts';
import { decidePromotion } from '../../src/ml/promotion.ts';
import { predictRows, runTraining } from '../../src/ml/training.ts';
import { FEATURE_NAMES, routingModel } from '../../src/relay/index.ts';
import { FEATURE_COUNT } from '../../src/relay/learned/features.ts';
import { tensorflow } from '../../src/shared/tensorflow.ts';
import { syntheticOutcomes as outcomes } from '../helpers/outcomes.ts';

const root = mkdtempSync(join(tmpdir(), 'routing-kind-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const rowsOf = (list: DeliveryOutcome[]) =>
  list.map((o) => routingKind.fromRecord(o, o.decidedAt)).filter((r): r is RoutingRow => r !== null);

describe('the routing model kind', () => {
  it('is registered with NeuroWeaver under the name RelayCore serves', () => {
    expect(MODEL_KINDS.routing).toBe(routingKind);
    expect(routingKind.name).toBe(routingModel.name);
    expect(routingKind.featureNames).toEqual([...FEATURE_NAMES]);
    expect(routingKind.source).toBe('delivery.outcomes');
  });

  it('labels attempts that reached the endpoint, and skips rejections, sheds and outcomes of other features', () => {
    const list = outcomes(200);
    const rows = rowsOf(list);
    expect(rows).toHaveLength(196);
    const failed = list.find((o) => o.status === 'FAILED')!;
    const row = routingKind.fromRecord(failed, 0)!;
    // The third column is the spread head's placeholder: the loss fits the spread to the latency residuals.
    expect(routingKind.targets(row)).toEqual([Math.log1p(failed.latencyMs), 1, 0]);
    expect(routingKind.features(row, null)).toEqual(failed.featureValues);
    expect(routingKind.fromRecord({ ...failed, status: 'SHED' }, 0)).toBeNull();
    expect(routingKind.fromRecord({ ...failed, featureValues: failed.featureValues.slice(1) }, 0)).toBeNull();
    expect(routingKind.fromRecord({ ...failed, featureVersion: routingModel.featureVersion - 1 }, 0)).toBeNull();
  });

  it('takes request rows of the feature names, and names a missing one', () => {
    const row = Object.fromEntries(FEATURE_NAMES.map((n) => [n, 0]));
    expect(routingKind.parseRequestRow(row, false)).toEqual(row);
    const { weight: _w, ...missing } = row;
    expect(() => routingKind.parseRequestRow(missing, false)).toThrow(expect.objectContaining({ field: 'weight' }));
    expect(() => routingKind.parseRequestRow(row, true)).toThrow(expect.objectContaining({ field: 'latency_ms' }));
  });

  it('computes AUC by ranks', () => {
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    expect(rocAuc([0.5, 0.5], [0, 1])).toBe(0.5);
    expect(rocAuc([0.2, 0.3], [1, 1])).toBeNull();
  });

  it('trains through the generic pipeline, beats the classic baseline, and gives artifacts RelayCore serves as they are', async () => {
    const rows = rowsOf(outcomes(3000));
    const splits = splitRows(rows, { seed: 1, holdout: 0.2, val: 0.2, newest: true, times: null });
    const { tf, backend } = await tensorflow();
    const result = await runTraining(
      tf,
      backend,
      {
        kind: 'routing',
        seed: 1,
        budget: { trials: 1, maxEpochs: 30, timeS: 120 },
        fixed: { layers: 2, units: 16, learningRate: 0.01, batchSize: 64, l2: 0, dropout: 0, activation: 'elu' },
        train: splitData(routingKind, splits.train, null),
        val: splitData(routingKind, splits.val, null),
        holdout: splitData(routingKind, splits.holdout, null),
        saveRoot: root,
        artifactPath: 'routing/v1',
        version: 'v1',
        kindState: null,
      },
      () => undefined,
    );
    const { network, linear, classic } = result.evaluation;
    expect(Object.keys(network)).toEqual(
      expect.arrayContaining(['combined_loss', 'latency_mae_log', 'failure_logloss', 'failure_auc']),
    );
    expect(linear).toHaveProperty('combined_loss');
    expect(classic).toHaveProperty('combined_loss');
    expect(classic).toHaveProperty('failure_logloss');
    expect(network.combined_loss).toBeCloseTo(network.latency_rmse_log! ** 2 + network.failure_logloss!, 6);
    // The classic estimate (recent EWMAs) is an overconfident failure probability: the network must do better.
    expect(network.combined_loss).toBeLessThan(classic!.combined_loss!);
    expect(network.failure_auc).toBeGreaterThan(0.7);
    expect(decidePromotion(routingKind, result.evaluation, 0)).toMatchObject({
      promote: true,
      reason: expect.stringMatching(/^first version: combined_loss .* on the holdout \(classic baseline /),
    });

    const dir = artifactDir(root, 'routing/v1');
    const scorer = await routingModel.load(dir, 'v1');
    const loaded = await loadArtifacts(tf, dir);
    const x = featureMatrix(routingKind, splits.holdout.slice(0, 2), null);
    const viaTf = predictRows(tf, loaded.model, x, loaded.state.xScaler, loaded.state.yScaler);
    loaded.model.dispose();
    // RelayCore's typed-array inference gives what TensorFlow.js gives on the same weights and scaler.
    const p = scorer.predict(x.data, 2);
    for (let i = 0; i < 2; i++) {
      expect(p.failure[i]!).toBeCloseTo(viaTf[i]![1]!, 4);
      expect(p.latencyMs[i]!).toBeCloseTo(routingKind.toOutputs(viaTf[i]!).expectedLatencyMs!, 1);
    }
    // A high recent error share means a likely failure.
    const probe = new Float32Array(2 * FEATURE_COUNT);
    probe.set(x.data.subarray(0, FEATURE_COUNT), 0);
    probe.set(x.data.subarray(0, FEATURE_COUNT), FEATURE_COUNT);
    for (const name of ['err_fast', 'err_slow', 'err_last16', 'err_last64'] as const) {
      probe[FEATURE_NAMES.indexOf(name)] = 0.02;
      probe[FEATURE_COUNT + FEATURE_NAMES.indexOf(name)] = 0.98;
    }
    const q = scorer.predict(probe, 2);
    expect(q.failure[1]!).toBeGreaterThan(q.failure[0]! + 0.3);
    scorer.dispose();

    const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as {
      userDefinedMetadata: Record<string, unknown>;
    };
    writeFileSync(
      join(dir, 'model.json'),
      JSON.stringify({ ...modelJson, userDefinedMetadata: { ...modelJson.userDefinedMetadata, featureVersion: 0 } }),
    );
    await expect(routingModel.load(dir)).rejects.toThrow(/trained on other features/);
  }, 120_000);

  it('does not promote a challenger that does not beat the classic baseline', () => {
    const d = decidePromotion(
      routingKind,
      {
        holdoutRows: 100,
        network: { combined_loss: 0.5 },
        linear: null,
        classic: { combined_loss: 0.4 },
        champion: { version: 'v0', metrics: { combined_loss: 0.9 }, error: null },
      },
      0,
    );
    expect(d).toEqual({
      promote: false,
      reason: 'does not beat the classic baseline: combined_loss 0.5000 vs 0.4000 on the same holdout',
    });
  });
});
