import { describe, expect, it } from 'vitest';
import { liftPrefixedMetrics, type ModelVersion } from '../../schemas/index.ts';
import { Serde, TopicCatalog } from '../../src/kafka/index.ts';

const version = (fields: Partial<ModelVersion>): ModelVersion => ({
  model: 'performance',
  version: 'v2',
  parent: null,
  status: 'CHAMPION',
  metrics: {},
  hyperparameters: { layers: '2' },
  dataSource: 'request',
  dataFrom: null,
  dataTo: null,
  rows: 1000,
  backend: 'wasm',
  artifactPath: 'performance/v2',
  createdAt: 1,
  updatedAt: 2,
  note: null,
  replaced: null,
  artifacts: null,
  evaluation: null,
  ...fields,
});

describe('reading versions recorded with prefixed metrics', () => {
  it('lifts the network, baseline and champion figures into the evaluation and keeps the training figures', () => {
    const old = version({
      parent: 'v1',
      metrics: {
        holdout_rmse: 0.02,
        holdout_mae: 0.015,
        baseline_rmse: 0.03,
        champion_rmse: 0.025,
        holdout_rows: 200,
        val_loss: 0.07,
        epochs: 21,
      },
    });
    expect(liftPrefixedMetrics(old)).toEqual({
      ...old,
      metrics: { val_loss: 0.07, epochs: 21 },
      evaluation: {
        holdoutRows: 200,
        network: { rmse: 0.02, mae: 0.015 },
        linear: { rmse: 0.03 },
        classic: null,
        champion: { version: 'v1', metrics: { rmse: 0.025 }, error: null },
      },
    });
  });

  it("lifts a routing version's classic baseline; a first version has no champion", () => {
    const old = version({
      model: 'routing',
      metrics: { holdout_combined_loss: 0.3, baseline_combined_loss: 0.4, classic_combined_loss: 1.2, trials: 1 },
    });
    expect(liftPrefixedMetrics(old)).toMatchObject({
      metrics: { trials: 1 },
      evaluation: {
        holdoutRows: 0,
        network: { combined_loss: 0.3 },
        linear: { combined_loss: 0.4 },
        classic: { combined_loss: 1.2 },
        champion: null,
      },
    });
  });

  it('leaves champion figures it cannot name where they were', () => {
    const lifted = liftPrefixedMetrics(version({ metrics: { holdout_rmse: 0.02, champion_rmse: 0.025 } }));
    expect(lifted.metrics).toEqual({ champion_rmse: 0.025 });
    expect(lifted.evaluation?.champion).toBeNull();
  });

  it('leaves a typed record, and one with nothing to lift, as they are', () => {
    const typed = version({
      metrics: { val_loss: 0.07 },
      evaluation: { holdoutRows: 200, network: { rmse: 0.02 }, linear: null, classic: null, champion: null },
    });
    expect(liftPrefixedMetrics(typed)).toBe(typed);
    const bare = version({ metrics: { val_loss: 0.07 } });
    expect(liftPrefixedMetrics(bare)).toBe(bare);
  });

  it('is applied by the decoder, so every reader of model.registry sees the typed record', async () => {
    // JSON values are validated locally; no registry is contacted on this path (the Avro path: test/integration/serde.test.ts).
    const serde = new Serde('http://127.0.0.1:1/unused', new TopicCatalog('unit.'));
    // As an older producer wrote it: no evaluation field at all.
    const { evaluation: _, ...old } = version({
      metrics: { holdout_rmse: 0.02, baseline_rmse: 0.03, holdout_rows: 50 },
    });
    const { value } = await serde.decode('model.registry', Buffer.from(JSON.stringify(old)));
    expect(value.metrics).toEqual({});
    expect(value.evaluation).toEqual({
      holdoutRows: 50,
      network: { rmse: 0.02 },
      linear: { rmse: 0.03 },
      classic: null,
      champion: null,
    });
  });
});
