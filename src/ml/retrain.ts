/**
 * Automatic retraining. A run replays the recent window and passes the same promotion gate as any
 * other job. Triggers: a schedule; drift (the champion's error on recent labelled samples rising
 * past a multiple of its holdout error); a regime change on the anomaly stream (a `level_shift`
 * opening); a live orchestrator `retrain` action naming the model, answered on action.results
 * when its job ends (EXECUTED with the version and the gate's decision, or FAILED). Each model has
 * a cooldown.
 *
 * A request on retrain.requests is explicit (RelayCore's optimize, see `requestRetraining`): no
 * cooldown, its own window and budget, and replies on retrain.replies under its id (QUEUED, then
 * FINISHED or FAILED; REFUSED at once when it cannot be a job).
 */
import { hostname } from 'node:os';
import type {
  ActionResultInput,
  Anomaly,
  OrchestratorAction,
  RetrainReplyInput,
  RetrainRequest,
} from '../../schemas/index.ts';
import type { TopicKey } from '../../topics/index.ts';
import type { BatchConsumer, ConsumedBatch, ConsumedRecord, KafkaConnection } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import { type JobManager, type JobSpec, type JobStatus, type JobTrigger, QueueFullError } from './jobs.ts';
import type { AnyModelKind } from './kinds/types.ts';
import type { Predictor } from './predictor.ts';
import { RequestError, retrainParams } from './requests.ts';

export interface RetrainSettings {
  /** ENABLE_ML_TRAINING: when false, triggers are logged and drift is still measured, but nothing trains. */
  enabled: boolean;
  intervalMs: number;
  windowMs: number;
  cooldownMs: number;
  driftThreshold: number;
  driftWindow: number;
  /** The budget and other defaults of a retraining job. */
  defaults: Pick<JobSpec, 'budget' | 'holdoutFraction' | 'holdout'>;
}

export interface DriftStatus {
  samples: number;
  window: number;
  /** Recent value of the primary metric, its holdout value, and their ratio (worse / better). */
  recent: number | null;
  holdout: number | null;
  ratio: number | null;
  threshold: number;
  version: string | null;
}

/** The champion's recent error against its holdout error, over a sliding window of labelled samples. */
export class DriftMonitor {
  private predicted: number[][] = [];
  private actual: number[][] = [];
  private version: string | null = null;
  private last: { recent: number; holdout: number; ratio: number } | null = null;

  private readonly kind: AnyModelKind;
  private readonly window: number;
  private readonly threshold: number;

  constructor(kind: AnyModelKind, window: number, threshold: number) {
    this.kind = kind;
    this.window = window;
    this.threshold = threshold;
  }

  /**
   * Adds predictions of one champion version; returns the ratio when the window is full and past the threshold.
   * `holdoutFigures` are the version's own figures on its holdout (its evaluation's `network`).
   */
  observe(
    version: string,
    holdoutFigures: Record<string, number> | undefined,
    predicted: number[][],
    actual: number[][],
  ): number | null {
    if (version !== this.version) this.reset(version);
    this.predicted.push(...predicted);
    this.actual.push(...actual);
    const excess = this.predicted.length - this.window;
    if (excess > 0) {
      this.predicted.splice(0, excess);
      this.actual.splice(0, excess);
    }
    if (this.predicted.length < this.window) return null;
    const name = this.kind.primaryMetric.name;
    const recent = this.kind.evaluate(this.predicted, this.actual)[name];
    const holdout = holdoutFigures?.[name];
    if (recent === undefined || holdout === undefined || !(holdout > 0) || !(recent > 0)) return null;
    const ratio = this.kind.primaryMetric.lowerIsBetter ? recent / holdout : holdout / recent;
    this.last = { recent, holdout, ratio };
    return ratio > this.threshold ? ratio : null;
  }

  reset(version: string | null = this.version): void {
    this.version = version;
    this.predicted = [];
    this.actual = [];
  }

  status(): DriftStatus {
    return {
      samples: this.predicted.length,
      window: this.window,
      recent: this.last?.recent ?? null,
      holdout: this.last?.holdout ?? null,
      ratio: this.last?.ratio ?? null,
      threshold: this.threshold,
      version: this.version,
    };
  }
}

/** Where the retrainer's answers go: retrain.replies and action.results (TopicSinks in production). */
export interface RetrainAnswers {
  reply(reply: RetrainReplyInput): void;
  result(result: ActionResultInput): void;
}

export interface RetrainDeps {
  kafka: KafkaConnection;
  answers: RetrainAnswers;
  jobs: JobManager;
  predictor: Predictor;
  kinds: AnyModelKind[];
  settings: RetrainSettings;
  log: Logger;
}

/**
 * Rows per second and model that drift is measured on: a full ML_DRIFT_WINDOW within seconds, while a
 * high-rate source (every delivery attempt is an outcome) is sampled rather than decoded whole.
 */
const DRIFT_ROWS_PER_S = 200;

export class Retrainer {
  private consumer?: BatchConsumer;
  private readonly driftBudget = new Map<string, { tokens: number; at: number }>();
  private timer?: NodeJS.Timeout;
  /** Why the trigger consumer stopped, if it did. */
  failure?: string;
  private readonly lastRun = new Map<string, number>();
  readonly drift = new Map<string, DriftMonitor>();
  /** Jobs that answer someone when they end: a request (by its id) or an orchestrator action. */
  private readonly answering = new Map<string, { request?: RetrainRequest; actions: OrchestratorAction[] }>();
  private readonly instance = `${hostname()}:${process.pid}`;

  private readonly deps: RetrainDeps;

  constructor(deps: RetrainDeps) {
    this.deps = deps;
    for (const kind of deps.kinds)
      this.drift.set(kind.name, new DriftMonitor(kind, deps.settings.driftWindow, deps.settings.driftThreshold));
    deps.jobs.onFinished((job) => this.jobEnded(job));
  }

  async start(): Promise<void> {
    const { kafka, kinds } = this.deps;
    const keys = new Set<TopicKey>([
      'anomalies',
      'orchestrator.actions',
      'retrain.requests',
      ...kinds.map((k) => k.source),
    ]);
    // One group for every instance: each trigger record reaches one of them.
    this.consumer = kafka.consumer({ groupId: kafka.groupId('neuroweaver-triggers') });
    const joined = new Promise<void>((resolve) => this.consumer!.onGroupJoin(() => resolve()));
    this.consumer.onCrash((err, restarting) => {
      if (!restarting) this.failure = `retraining triggers consumer stopped: ${err.message}`;
    });
    await this.consumer.subscribe([...keys].map((k) => kafka.catalog.name(k)));
    await this.consumer.run((batch) => this.handle(batch));
    // Triggers start at the latest offsets: wait (bounded) until the group has them, so none sent after start() is missed.
    await Promise.race([joined, new Promise((resolve) => setTimeout(resolve, 30_000).unref())]);
    this.startSchedule();
  }

  /** Retrains every model each ML_RETRAIN_INTERVAL_MS (0: never). */
  startSchedule(): void {
    const { settings, kinds } = this.deps;
    if (settings.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      for (const kind of kinds)
        this.trigger(kind.name, 'schedule', `scheduled every ${Math.round(settings.intervalMs / 60_000)} min`);
    }, settings.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.consumer?.disconnect().catch(() => undefined);
  }

  /** Queues a retraining run of the recent window unless the model is in its cooldown or already has one pending. */
  trigger(model: string, trigger: Exclude<JobTrigger, 'api'>, reason: string): JobStatus | undefined {
    const { jobs, settings, log } = this.deps;
    if (!settings.enabled) {
      log.info(
        { model, trigger, reason },
        `retraining of ${model} wanted but training is disabled (ENABLE_ML_TRAINING=false)`,
      );
      return undefined;
    }
    const pending = jobs.pendingFor(model);
    if (pending) return pending;
    const last = this.lastRun.get(model);
    const now = Date.now();
    if (last !== undefined && now - last < settings.cooldownMs) {
      log.info(
        { model, trigger, reason },
        `retraining of ${model} skipped: cooldown until ${new Date(last + settings.cooldownMs).toISOString()}`,
      );
      return undefined;
    }
    try {
      const job = jobs.submit({
        model,
        replay: { from: now - settings.windowMs, to: now },
        seed: now % 2 ** 31,
        trigger,
        reason,
        ...settings.defaults,
      });
      this.lastRun.set(model, now);
      log.info({ model, trigger, reason, job: job.id }, `retraining ${model}: ${reason}`);
      return job;
    } catch (err) {
      if (!(err instanceof QueueFullError)) throw err;
      log.warn({ model, trigger }, `retraining of ${model} not queued: ${err.message}`);
      return undefined;
    }
  }

  private async handle(batch: ConsumedBatch): Promise<void> {
    const key = this.deps.kafka.catalog.keyOf(batch.topic);
    if (key === 'anomalies') return this.onAnomalies(batch);
    if (key === 'orchestrator.actions') return this.onActions(batch);
    if (key === 'retrain.requests') return this.onRequests(batch);
    for (const kind of this.deps.kinds) if (kind.source === key) await this.onSamples(kind, batch);
  }

  private async decodeAll<K extends TopicKey>(key: K, batch: ConsumedBatch) {
    const out = [];
    for (const r of batch.records) {
      try {
        out.push({ value: (await this.deps.kafka.serde.decode(key, r.value)).value, timestamp: r.timestamp });
      } catch {
        /* not ours to dead-letter: the producing component does */
      }
    }
    return out;
  }

  private async onAnomalies(batch: ConsumedBatch): Promise<void> {
    for (const { value } of await this.decodeAll('anomalies', batch)) {
      const a = value as Anomaly;
      if (a.kind !== 'level_shift' || a.state !== 'OPEN') continue;
      for (const kind of this.deps.kinds.filter((k) => k.source === 'metrics.samples')) {
        this.trigger(
          kind.name,
          'regime_change',
          `level shift in ${a.service} (${a.metrics.join(', ')}), anomaly ${a.id}`,
        );
      }
    }
  }

  private async onActions(batch: ConsumedBatch): Promise<void> {
    for (const { value } of await this.decodeAll('orchestrator.actions', batch))
      this.execute(value as OrchestratorAction);
  }

  private async onRequests(batch: ConsumedBatch): Promise<void> {
    for (const { value } of await this.decodeAll('retrain.requests', batch)) this.answer(value as RetrainRequest);
  }

  /**
   * Carries out a live orchestrator `retrain` action: its answer on action.results comes when the
   * job ends (a job already pending for the model counts), or at once when no job can start.
   */
  execute(action: OrchestratorAction): JobStatus | undefined {
    if (action.kind !== 'retrain' || action.status !== 'PROPOSED' || action.dryRun) return undefined;
    const model = action.params.model ?? action.target;
    const fail = (detail: string) => {
      this.deps.log.warn({ action: action.id, model }, `orchestrator retrain action not carried out: ${detail}`);
      this.deps.answers.result(this.result(action, 'FAILED', detail));
      return undefined;
    };
    if (!this.deps.kinds.some((k) => k.name === model)) return fail(`${model} is not a model kind`);
    if (!this.deps.settings.enabled) return fail('training is disabled (ENABLE_ML_TRAINING=false)');
    const job = this.trigger(model, 'orchestrator', `orchestrator action ${action.id}: ${action.reason}`);
    if (!job) return fail(`no retraining of ${model} could start now (cooldown, or the job queue is full)`);
    const entry = this.answering.get(job.id) ?? { actions: [] };
    entry.actions.push(action);
    this.answering.set(job.id, entry);
    return job;
  }

  /** An explicit request: queued as a job whose id is the request's, or refused with the reason; either way answered. */
  answer(request: RetrainRequest): JobStatus | undefined {
    const { jobs, settings, log, kinds } = this.deps;
    const { id, model, requestedBy } = request;
    const now = Date.now();
    if (now > request.deadline) {
      log.info(
        { request: id, model },
        `retraining request ${id} expired before it was read (the requester stopped waiting); ignored`,
      );
      return undefined;
    }
    // The request topic may be read again after a rebalance: a request already answered stays answered.
    const existing = jobs.get(id);
    if (existing) return existing;
    const refuse = (reason: string) => {
      log.warn({ request: id, model, requestedBy }, `retraining request refused: ${reason}`);
      this.deps.answers.reply({ requestId: id, model, status: 'REFUSED', message: reason, at: Date.now() });
      return undefined;
    };
    if (!kinds.some((k) => k.name === model))
      return refuse(`${model} is not a model kind (${kinds.map((k) => k.name).join(', ')})`);
    if (!settings.enabled)
      return refuse(
        'training is disabled on the NeuroWeaver instance that read the request (ENABLE_ML_TRAINING=false)',
      );
    try {
      const p = retrainParams(request);
      const job = jobs.submit({
        ...settings.defaults,
        id,
        model,
        replay: { from: p.from, to: p.to },
        budget: { ...settings.defaults.budget, ...p.budget },
        hyperparameters: p.hyperparameters,
        ...(p.holdout ? { holdout: p.holdout } : {}),
        seed: now % 2 ** 31,
        trigger: 'request',
        reason: `requested by ${requestedBy}: ${request.reason}`,
      });
      this.answering.set(job.id, { request, actions: [] });
      this.deps.answers.reply({
        requestId: id,
        model,
        status: 'QUEUED',
        jobId: job.id,
        message: `queued as job ${job.id}`,
        at: Date.now(),
      });
      log.info({ request: id, model, requestedBy }, `retraining ${model} on request`);
      return job;
    } catch (err) {
      if (err instanceof RequestError || err instanceof QueueFullError) return refuse(err.message);
      throw err;
    }
  }

  private jobEnded(job: JobStatus): void {
    const waiting = this.answering.get(job.id);
    if (!waiting) return;
    this.answering.delete(job.id);
    const result = job.state === 'succeeded' ? job.result : null;
    const message = result ? `${result.version} ${result.status}: ${result.decision}` : `${job.state}: ${job.error}`;
    const decision = result?.status === 'CHAMPION' || result?.status === 'REJECTED' ? result.status : null;
    if (waiting.request) {
      this.deps.answers.reply({
        requestId: waiting.request.id,
        model: job.model,
        status: result ? 'FINISHED' : 'FAILED',
        jobId: job.id,
        version: result?.version ?? null,
        decision,
        message,
        at: Date.now(),
      });
    }
    for (const action of waiting.actions) {
      const data: Record<string, string> = { jobId: job.id };
      if (result) data.version = result.version;
      if (decision) data.decision = decision;
      this.deps.answers.result(this.result(action, result ? 'EXECUTED' : 'FAILED', `job ${job.id}: ${message}`, data));
    }
  }

  private result(
    action: OrchestratorAction,
    status: 'EXECUTED' | 'FAILED',
    detail: string,
    data: Record<string, string> = {},
  ): ActionResultInput {
    return {
      actionId: action.id,
      kind: action.kind,
      target: action.target,
      executor: 'neuroweaver',
      instance: this.instance,
      status,
      detail,
      data,
      at: Date.now(),
    };
  }

  private async onSamples(kind: AnyModelKind, batch: ConsumedBatch): Promise<void> {
    const serving = this.deps.predictor.serving(kind.name);
    const monitor = this.drift.get(kind.name);
    if (!serving || !monitor) return;
    const sampled = { ...batch, records: this.driftSample(kind.name, batch.records) };
    const rows = (await this.decodeAll(kind.source, sampled))
      .map(({ value, timestamp }) => kind.fromRecord(value as never, timestamp))
      .filter((r) => r !== null);
    if (!rows.length) return;
    const prediction = await this.deps.predictor.predict(kind, rows);
    if (!prediction) return;
    const ratio = monitor.observe(
      prediction.version,
      serving.evaluation?.network,
      prediction.raw,
      rows.map((r) => kind.targets(r)),
    );
    if (ratio === null) return;
    const status = monitor.status();
    monitor.reset();
    this.trigger(
      kind.name,
      'drift',
      `${kind.primaryMetric.name} on the last ${status.window} samples is ${status.recent?.toPrecision(3)}, ${ratio.toFixed(2)}x its holdout ${status.holdout?.toPrecision(3)} (threshold ${status.threshold}x)`,
    );
  }

  /** A stride sample of the batch within the model's budget of DRIFT_ROWS_PER_S (a token bucket holding at most one window). */
  private driftSample(model: string, records: ConsumedRecord[]): ConsumedRecord[] {
    const now = Date.now();
    const window = this.deps.settings.driftWindow;
    const budget = this.driftBudget.get(model) ?? { tokens: window, at: now };
    budget.tokens = Math.min(window, budget.tokens + ((now - budget.at) / 1000) * DRIFT_ROWS_PER_S);
    budget.at = now;
    this.driftBudget.set(model, budget);
    const take = Math.min(records.length, Math.floor(budget.tokens));
    budget.tokens -= take;
    if (take === records.length) return records;
    const stride = records.length / Math.max(1, take);
    return Array.from({ length: take }, (_, i) => records[Math.floor(i * stride)]!);
  }
}
