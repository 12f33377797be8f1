/**
 * Trains the routing model the way production does: delivery outcomes on the bench's
 * delivery.outcomes topic, NeuroWeaver running in this process, and RelayCore's optimize asking it
 * (through Kafka) to retrain `routing`. Returns the version record, to be written to the
 * model.registry of each lane that should serve it.
 */
import type { DeliveryOutcome, ModelVersion } from '../../schemas/types.ts';
import { EcosystemEvents } from '../../src/app/events.ts';
import { logger } from '../../src/log/index.ts';
import { type Hyperparameters, NeuroWeaver, type TuneBudget } from '../../src/ml/index.ts';
import type { OptimizeResult } from '../../src/relay/index.ts';
import type { Bench } from './relay-run.ts';

export interface TrainedRouting {
  record: ModelVersion;
  result: OptimizeResult;
}

/** Writes outcome records to the bench's delivery.outcomes with their decision time as record time (the holdout is the newest), 500 a request (under the broker's message size limit). */
export async function publishOutcomes(b: Bench, outcomes: DeliveryOutcome[]): Promise<void> {
  const producer = await b.kafka.producer();
  const sorted = [...outcomes].sort((x, y) => x.decidedAt - y.decidedAt);
  for (let i = 0; i < sorted.length; i += 500) {
    await producer.send(
      'delivery.outcomes',
      sorted.slice(i, i + 500).map((o) => ({ key: o.endpoint, timestamp: o.decidedAt, value: o })),
    );
  }
}

/**
 * Retrains `routing` on the last `windowMs` of the bench's outcomes through RelayCore's optimize and an
 * in-process NeuroWeaver. A version the promotion gate rejects is an error, unless `serveRejected`
 * (for measuring what inference costs, whatever the model's quality): then it is made champion on this
 * bench's registry anyway, and `result.promoted` says it was not.
 */
export async function trainRoutingModel(
  b: Bench,
  modelPath: string,
  request: {
    windowMs: number;
    hyperparameters: Hyperparameters;
    budget: Partial<TuneBudget>;
    holdout?: 'newest' | 'random';
    serveRejected?: boolean;
  },
): Promise<TrainedRouting> {
  const admin = await b.kafka.admin();
  await admin.ensureTopics(['metrics.samples', 'anomalies']);
  await b.kafka.serde.registerAll(['metrics.samples', 'anomalies']);
  const env = { MODEL_SAVE_PATH: modelPath, ML_RETRAIN_INTERVAL_MS: '0' };
  const neuroweaver = new NeuroWeaver({
    config: b.config(env),
    kafka: b.kafka,
    log: logger('neuroweaver'),
    events: new EcosystemEvents(b.kafka, logger('events')),
  });
  await neuroweaver.start();
  try {
    const relay = await b.relay({ ...env, RELAY_AUTOSTART: 'false', RELAY_GROUP_ID: `${b.prefix}relay-trainer` });
    const result = await relay.optimize({
      windowMs: request.windowMs,
      timeoutMs: 30 * 60_000,
      hyperparameters: request.hyperparameters,
      budget: request.budget,
      holdout: request.holdout,
    });
    await relay.stop();
    if (!result.promoted && !request.serveRejected)
      throw new Error(`the routing model was not promoted: ${result.reason}`);
    const records = await b.readAll<ModelVersion>('model.registry');
    const record = records.filter((v) => v.version === result.candidate.version).at(-1);
    if (!record) throw new Error(`${result.candidate.version} is not in the model registry`);
    if (!result.promoted) await seedChampion(b, record);
    return { record, result };
  } finally {
    await neuroweaver.stop();
  }
}

/** Makes `record` the champion a RelayCore on this bench's prefix serves from its start (its artifacts must be under that RelayCore's MODEL_SAVE_PATH). */
export async function seedChampion(b: Bench, record: ModelVersion): Promise<void> {
  const producer = await b.kafka.producer();
  await producer.send('model.registry', [
    { key: `${record.model}/${record.version}`, value: { ...record, status: 'CHAMPION' } },
  ]);
}
