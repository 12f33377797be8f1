import { randomBytes } from 'node:crypto';
import { type ApiInstance, buildServer } from '../../src/api/index.ts';
import { EcosystemEvents } from '../../src/app/events.ts';
import { loadConfig } from '../../src/config/index.ts';
import type { ConsumedRecord, KafkaConnection } from '../../src/kafka/index.ts';
import { logger } from '../../src/log/index.ts';
import { NeuroWeaver } from '../../src/ml/index.ts';
import type { JobStatus } from '../../src/ml/jobs.ts';

/** What NeuroWeaver reads and writes: each model kind's source, its triggers and requests, their answers, registry and events. */
export const NEUROWEAVER_TOPICS = [
  'metrics.samples',
  'delivery.outcomes',
  'training.events',
  'model.registry',
  'model.artifacts',
  'anomalies',
  'orchestrator.actions',
  'action.results',
  'retrain.requests',
  'retrain.replies',
  'ecosystem.events',
] as const;

export interface Instance {
  nw: NeuroWeaver;
  api: ApiInstance;
  stop(): Promise<void>;
}

/** A started NeuroWeaver and its API (served through inject, no port), on the test broker. */
export async function startNeuroWeaver(kafka: KafkaConnection, env: Record<string, string>): Promise<Instance> {
  const config = loadConfig({
    KAFKA_TOPIC_PREFIX: kafka.catalog.prefix,
    ML_RETRAIN_INTERVAL_MS: '0',
    ML_MIN_TRAINING_ROWS: '20',
    ML_TUNE_TRIALS: '2',
    ML_TUNE_MAX_EPOCHS: '4',
    ...env,
  });
  const log = logger('neuroweaver');
  const nw = new NeuroWeaver({ config, kafka, log, events: new EcosystemEvents(kafka, logger('events')) });
  const api = await buildServer({
    config,
    log: logger('api'),
    version: 'test',
    components: [nw],
    dependencies: {
      broker: async () => ({ ok: true, latencyMs: 0 }),
      registry: async () => ({ ok: true, latencyMs: 0 }),
    },
  });
  await nw.start();
  return {
    nw,
    api,
    async stop() {
      await api.close();
      await nw.stop();
    },
  };
}

/** Polls a job until it is no longer queued or running (the loop is a wait, not a timing assertion). */
export async function finished(api: ApiInstance, jobId: string, limitMs = 120_000): Promise<JobStatus> {
  const until = Date.now() + limitMs;
  for (;;) {
    const job = (await api.inject({ method: 'GET', url: `/api/v2/neuroweaver/jobs/${jobId}` })).json<JobStatus>();
    if (job.state !== 'queued' && job.state !== 'running') return job;
    if (Date.now() > until) throw new Error(`job ${jobId} still ${job.state} (${job.phase})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Reads a topic from the beginning until `done` says the records seen so far are enough. */
export async function readUntil(
  kafka: KafkaConnection,
  topic: string,
  done: (records: ConsumedRecord[]) => boolean,
  limitMs = 60_000,
): Promise<ConsumedRecord[]> {
  const groupId = `test-${randomBytes(6).toString('hex')}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeMs: 100 });
  const got: ConsumedRecord[] = [];
  await consumer.subscribe([topic], { fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${topic}: condition not met after ${got.length} records`)),
        limitMs,
      );
      void consumer.run(async (batch) => {
        got.push(...batch.records);
        let enough: boolean;
        try {
          enough = done(got);
        } catch (err) {
          clearTimeout(timer);
          return reject(err as Error);
        }
        if (enough) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } finally {
    await consumer.disconnect();
    await (await kafka.admin()).deleteGroup(groupId);
  }
  return got;
}
