/**
 * What another component needs from NeuroWeaver, through Kafka only (no NeuroWeaver in the process):
 * follow a model's champion in the model registry, and ask for a retraining and its answer.
 */

import { randomUUID } from 'node:crypto';
import type {
  GateDecision,
  HoldoutRows,
  Hyperparameters,
  ModelVersion,
  RetrainBudget,
  RetrainReply,
  RetrainRequest,
} from '../../schemas/index.ts';
import { AutomatrixError } from '../errors/index.ts';
import type { KafkaConnection } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import { artifactDir, ModelArtifactStore } from '../shared/model-artifacts.ts';
import { ModelRegistry } from './registry.ts';

export interface ChampionFollower {
  /** The model's champion as the registry says now. */
  champion(): ModelVersion | undefined;
  /** A version's record, once this follower has read it. */
  version(version: string): ModelVersion | undefined;
  /** The newest version the promotion gate has decided on (champion or rejected), if any. */
  latest(): ModelVersion | undefined;
  /** Resolves with a version's record once it shows the gate's decision (not CANDIDATE), or undefined after `timeoutMs`. */
  waitFor(version: string, timeoutMs: number): Promise<ModelVersion | undefined>;
  /** Resolves once every champion read so far has been handed to the listener and the listener has finished. */
  settled(): Promise<void>;
  /** Why the follower stopped reading the registry, if it did. */
  failure(): string | undefined;
  stop(): Promise<void>;
}

/** A champion and the folder of its artifacts in this instance's MODEL_SAVE_PATH (fetched from Kafka if it lacked them). */
export type ChampionListener = (champion: ModelVersion, dir: string) => Promise<void> | void;

/**
 * Reads the compacted model registry to its end, hands the model's champion to `onChange` (awaited,
 * so a starting component serves it at once), then follows the topic: every later change of
 * champion (promotion, manual promotion, rollback) is handed over too, in order.
 */
export async function followChampion(
  kafka: KafkaConnection,
  model: string,
  onChange: ChampionListener,
  opts: { saveRoot: string; log: Logger },
): Promise<ChampionFollower> {
  const registry = new ModelRegistry(kafka, opts.log);
  const store = new ModelArtifactStore(kafka, opts.saveRoot);
  // Fetched from Kafka when this instance's cache lacks them; if that fails, the listener's load names the folder.
  const localArtifacts = (v: ModelVersion) =>
    store.local(v).catch((err: unknown) => {
      opts.log.error({ err, model, version: v.version }, 'champion artifacts could not be fetched from Kafka');
      return artifactDir(opts.saveRoot, v.artifactPath);
    });
  let announced: string | undefined;
  let chain = Promise.resolve();
  const waiters = new Map<string, ((v: ModelVersion) => void)[]>();
  const announce = () => {
    const champion = registry.champion(model);
    if (!champion || champion.version === announced) return chain;
    announced = champion.version;
    chain = chain
      .then(async () => onChange(champion, await localArtifacts(champion)))
      .catch((err: unknown) => opts.log.error({ err, model, version: champion.version }, 'champion listener failed'));
    return chain;
  };
  registry.onChange((v) => {
    if (v.model !== model) return;
    void announce();
    if (!decided(v)) return;
    waiters.get(v.version)?.forEach((resolve) => {
      resolve(v);
    });
    waiters.delete(v.version);
  });
  await registry.start();
  await announce();
  return {
    champion: () => registry.champion(model),
    version: (version) => registry.get(model, version),
    latest: () => registry.list(model).find(decided),
    waitFor(version, timeoutMs) {
      const known = registry.get(model, version);
      if (known && decided(known)) return Promise.resolve(known);
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(undefined), timeoutMs);
        const list = waiters.get(version) ?? [];
        list.push((v) => {
          clearTimeout(timer);
          resolve(v);
        });
        waiters.set(version, list);
      });
    },
    settled: () => chain,
    failure: () => registry.failure,
    async stop() {
      await registry.stop();
      await chain;
    },
  };
}

/** A job writes its version as CANDIDATE, then as CHAMPION or REJECTED once the gate has decided. */
const decided = (v: ModelVersion) => v.status !== 'CANDIDATE';

/** No NeuroWeaver instance took the request in time: none runs on this cluster, or none reads its triggers. */
export class RetrainUnanswered extends AutomatrixError {
  constructor(message: string) {
    super('retrain_unanswered', message);
  }
}
/** NeuroWeaver took the request but the job had not finished when the requester stopped waiting; it goes on. */
export class RetrainTimedOut extends AutomatrixError {
  readonly jobId: string;

  constructor(message: string, jobId: string) {
    super('retrain_timed_out', message);
    this.jobId = jobId;
  }
}
/** NeuroWeaver refused the request or the job failed (too few rows, training disabled, ...). */
export class RetrainFailed extends AutomatrixError {
  readonly jobId: string;

  constructor(message: string, jobId: string) {
    super('retrain_failed', `NeuroWeaver job ${jobId}: ${message}`);
    this.jobId = jobId;
  }
}

export interface RetrainAnswer {
  jobId: string;
  /** The version the job registered: the new champion, or a rejected challenger. */
  version: string;
  /** The promotion gate's verdict on that version. */
  decision: GateDecision | null;
  /** The job's summary: `<version> <status>: <the gate's reason>`. */
  message: string;
}

export interface RetrainOptions {
  /** How long a NeuroWeaver instance has to accept (QUEUED) or refuse the request. */
  answerTimeoutMs: number;
  /** How long to wait for the job's end once accepted. */
  timeoutMs: number;
  requestedBy: string;
  reason: string;
  budget?: Partial<RetrainBudget>;
  hyperparameters?: Hyperparameters;
  holdout?: HoldoutRows;
}

/**
 * Asks NeuroWeaver to retrain `model` on the window [from, to] of its source topic (a request on
 * retrain.requests) and waits for its replies on retrain.replies, read from their end as it was
 * before the request was written.
 */
export async function requestRetraining(
  kafka: KafkaConnection,
  model: string,
  window: { from: number; to: number },
  opts: RetrainOptions,
): Promise<RetrainAnswer> {
  const id = randomUUID();
  const topic = kafka.catalog.name('retrain.replies');
  const admin = await kafka.admin();
  const ends = await admin.offsets(topic);
  const consumer = kafka.privateConsumer('retrain-request', { maxWaitTimeMs: 100 });
  const joined = new Promise<void>((resolve) => consumer.onGroupJoin(() => resolve()));
  let onReply: (r: RetrainReply) => void = () => undefined;
  try {
    await consumer.subscribe([topic]);
    await consumer.run(async (batch) => {
      for (const r of batch.records)
        if (r.key?.toString('utf8') === id) onReply((await kafka.serde.decode('retrain.replies', r.value)).value);
    });
    for (const o of ends) consumer.seek(topic, o.partition, o.high);
    await within(
      joined,
      30_000,
      () =>
        new RetrainUnanswered(
          `could not read ${topic} to hear NeuroWeaver's answer (no consumer group assignment within 30 s)`,
        ),
    );
    const answer = new Promise<RetrainAnswer>((resolve, reject) => {
      const fail = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      let timer = setTimeout(
        () =>
          fail(
            new RetrainUnanswered(
              `no NeuroWeaver instance answered the retraining request for ${model} within ${opts.answerTimeoutMs / 1000} s: is NeuroWeaver running (COMPONENTS) on this cluster and prefix?`,
            ),
          ),
        opts.answerTimeoutMs,
      );
      onReply = (r) => {
        const jobId = r.jobId ?? id;
        switch (r.status) {
          case 'QUEUED':
            clearTimeout(timer);
            timer = setTimeout(
              () =>
                fail(
                  new RetrainTimedOut(
                    `NeuroWeaver accepted the request (job ${jobId}) but it had not finished within ${opts.timeoutMs / 1000} s; it goes on: GET /api/v2/neuroweaver/jobs/${jobId}`,
                    jobId,
                  ),
                ),
              opts.timeoutMs,
            );
            return;
          case 'FINISHED':
            clearTimeout(timer);
            if (!r.version)
              return reject(new RetrainFailed(`job ${jobId} finished without naming a version: ${r.message}`, jobId));
            return resolve({ jobId, version: r.version, decision: r.decision, message: r.message });
          default:
            return fail(new RetrainFailed(r.message, jobId));
        }
      };
    });
    answer.catch(() => undefined); // awaited below; the answer may come (or time out) while the request is being written
    const request: RetrainRequest = {
      id,
      model,
      ...window,
      requestedBy: opts.requestedBy,
      reason: opts.reason,
      deadline: Date.now() + opts.answerTimeoutMs,
      budget: { trials: null, maxEpochs: null, timeS: null, ...opts.budget },
      hyperparameters: opts.hyperparameters ?? null,
      holdout: opts.holdout ?? null,
      at: Date.now(),
    };
    await (await kafka.producer()).send('retrain.requests', [{ key: id, value: request }]);
    return await answer;
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

function within<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(error()), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
