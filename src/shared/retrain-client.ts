/**
 * Asking NeuroWeaver for a retraining and waiting for its answer, through Kafka only (the
 * retrain.requests / retrain.replies protocol, correlated by the request id).
 */

import { randomUUID } from 'node:crypto';
import type {
  GateDecision,
  HoldoutRows,
  Hyperparameters,
  RetrainBudget,
  RetrainReply,
  RetrainRequest,
} from '../../schemas/index.ts';
import { AutomatrixError } from '../errors/index.ts';
import type { KafkaConnection } from '../kafka/index.ts';

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
