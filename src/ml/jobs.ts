/**
 * Training jobs: a queue served one job at a time, off the request path. A job builds its dataset
 * (request rows or a replayed window), trains in a worker thread, passes the promotion gate, and
 * writes the version to the registry. Progress goes to the status endpoint and the training-events topic.
 */

import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Evaluation, ModelVersion, TrainingEventInput } from '../../schemas/types.ts';
import type { EcosystemEvents } from '../app/events.ts';
import { AutomatrixError } from '../errors/index.ts';
import type { KafkaConnection } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import type { ModelArtifactStore } from '../shared/model-artifacts.ts';
import type { ModelRegistry } from '../shared/model-registry.ts';
import type { BackendChoice } from '../shared/tensorflow.ts';
import { artifactDir, artifactPath, type ModelState } from './artifacts.ts';
import { type Dataset, datasetFromReplay, featureMatrix, splitData, splitRows } from './dataset.ts';
import { modelKind } from './kinds/index.ts';
import type { AnyModelKind, Hyperparameters } from './kinds/types.ts';
import { trainingJobsTotal } from './metrics.ts';
import { type Decision, decidePromotion } from './promotion.ts';
import type { TrainingRequest, TrainingResult } from './training.ts';
import { stringMap, type TrainingEventSink } from './training-events.ts';
import type { TuneBudget, TuneEvent, TuneProgress } from './tuner.ts';
import { TrainingCancelled, trainInWorker, type WorkerMessage } from './worker-client.ts';

/** `request`: an explicit retraining request on retrain.requests (e.g. RelayCore's optimize), answered on retrain.replies. */
export type JobTrigger = 'api' | 'request' | 'schedule' | 'drift' | 'regime_change' | 'orchestrator';
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'skipped';
export type JobPhase = 'queued' | 'loading_data' | 'training' | 'registering' | 'done';

export interface JobSpec {
  /** The job id; a retraining request's own id, so its replies are keyed by it. Generated when absent. */
  id?: string;
  model: string;
  /** Parsed request rows; when absent the window below is replayed. */
  rows?: unknown[];
  replay?: { topic?: string; from?: number; to?: number };
  budget: TuneBudget;
  seed: number;
  hyperparameters?: Hyperparameters;
  holdoutFraction: number;
  /** `newest`: hold out the newest rows (by record time; for request rows, the last ones); `random`: a random sample. */
  holdout: 'newest' | 'random';
  trigger: JobTrigger;
  reason: string;
}

export interface JobStatus {
  id: string;
  model: string;
  trigger: JobTrigger;
  reason: string;
  state: JobState;
  phase: JobPhase;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  budget: TuneBudget;
  data: {
    source: string;
    from: number | null;
    to: number | null;
    rows: number | null;
    read: number;
    total: number | null;
    holdout: 'newest' | 'random';
  };
  backend: string | null;
  progress: TuneProgress | null;
  lastEpoch: { trial: number; epoch: number; metrics: Record<string, number> } | null;
  etaS: number | null;
  result: {
    version: string;
    status: ModelVersion['status'];
    decision: string;
    /** The training's own figures. */
    metrics: Record<string, number>;
    /** What the promotion gate compared (as on the version's record). */
    evaluation: Evaluation;
  } | null;
  error: string | null;
}

export class QueueFullError extends AutomatrixError {
  constructor(message: string) {
    super('queue_full', message);
  }
}

export interface JobDeps {
  kafka: KafkaConnection;
  registry: ModelRegistry;
  sink: TrainingEventSink;
  events: EcosystemEvents;
  log: Logger;
  saveRoot: string;
  /** Publishes each version's artifacts to Kafka and fetches a champion's when the cache lacks them. */
  artifacts: ModelArtifactStore;
  backend: BackendChoice;
  minRows: number;
  minImprovement: number;
  keepVersions: number;
  maxQueued?: number;
  /** Resolves once this instance serves the model's current champion, so a finished job's champion answers at once. */
  served?: (model: string) => Promise<void>;
}

interface Job {
  spec: JobSpec;
  status: JobStatus;
  abort: AbortController;
  trainingStarted?: number;
}

const KEEP_FINISHED = 50;

export class JobManager {
  private readonly jobs = new Map<string, Job>();
  private readonly queue: Job[] = [];
  private readonly finishListeners: ((status: JobStatus) => void)[] = [];
  private running?: Job;
  private idle: Promise<void> = Promise.resolve();
  private stopped = false;

  private readonly deps: JobDeps;

  constructor(deps: JobDeps) {
    this.deps = deps;
  }

  submit(spec: JobSpec): JobStatus {
    if (this.stopped) throw new QueueFullError('NeuroWeaver is stopping');
    if (this.queue.length >= (this.deps.maxQueued ?? 8))
      throw new QueueFullError(`${this.queue.length} training jobs are already queued; try again later`);
    const id = spec.id ?? randomUUID();
    if (this.jobs.has(id)) throw new Error(`training job ${id} exists already`);
    const status: JobStatus = {
      id,
      model: spec.model,
      trigger: spec.trigger,
      reason: spec.reason,
      state: 'queued',
      phase: 'queued',
      createdAt: Date.now(),
      startedAt: null,
      finishedAt: null,
      budget: spec.budget,
      data: {
        source: spec.rows
          ? 'request'
          : (spec.replay?.topic ?? this.deps.kafka.catalog.name(modelKind(spec.model)!.source)),
        from: spec.replay?.from ?? null,
        to: spec.replay?.to ?? null,
        rows: spec.rows?.length ?? null,
        read: 0,
        total: null,
        holdout: spec.holdout,
      },
      backend: null,
      progress: null,
      lastEpoch: null,
      etaS: null,
      result: null,
      error: null,
    };
    const job: Job = { spec, status, abort: new AbortController() };
    this.jobs.set(id, job);
    this.queue.push(job);
    this.event(job, { kind: 'JOB_QUEUED', message: `${spec.trigger}: ${spec.reason}` });
    this.forgetOld();
    this.pump();
    return this.view(job);
  }

  /** Calls `listener` with the final status of every job that ends from now on (succeeded, failed, cancelled, skipped). */
  onFinished(listener: (status: JobStatus) => void): void {
    this.finishListeners.push(listener);
  }

  get(id: string): JobStatus | undefined {
    const job = this.jobs.get(id);
    return job && this.view(job);
  }

  current(): JobStatus | undefined {
    return this.running && this.view(this.running);
  }

  queued(): JobStatus[] {
    return this.queue.map((j) => this.view(j));
  }

  recent(limit = 10): JobStatus[] {
    return [...this.jobs.values()]
      .filter((j) => j.status.finishedAt)
      .sort((a, b) => b.status.finishedAt! - a.status.finishedAt!)
      .slice(0, limit)
      .map((j) => this.view(j));
  }

  /** A queued or running job of this model, so automatic triggers do not pile up. */
  pendingFor(model: string): JobStatus | undefined {
    const job = [this.running, ...this.queue].find(
      (j) => j && j.spec.model === model && j.status.state !== 'cancelled',
    );
    return job && this.view(job);
  }

  cancel(id: string): JobStatus | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    if (job.status.state === 'queued') {
      this.queue.splice(this.queue.indexOf(job), 1);
      this.finish(job, 'cancelled', 'cancelled before it started');
    } else if (job.status.state === 'running') {
      job.abort.abort();
    }
    return this.view(job);
  }

  /** Cancels queued and running jobs and waits for the running one to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const job of this.queue.splice(0)) this.finish(job, 'cancelled', 'NeuroWeaver stopped');
    this.running?.abort.abort();
    await this.idle;
  }

  private view(job: Job): JobStatus {
    const s = job.status;
    return {
      ...s,
      etaS: s.state === 'running' ? this.eta(job) : null,
      data: { ...s.data },
      progress: s.progress && { ...s.progress },
    };
  }

  private eta(job: Job): number | null {
    const p = job.status.progress;
    if (!p || !job.trainingStarted || !p.epochsDone) return null;
    const elapsedS = (Date.now() - job.trainingStarted) / 1000;
    const byEpochs = (elapsedS / p.epochsDone) * Math.max(0, p.epochsPlanned - p.epochsDone);
    return Math.round(Math.min(byEpochs, Math.max(0, job.spec.budget.timeS - elapsedS)) * 10) / 10;
  }

  private pump(): void {
    if (this.running || this.stopped) return;
    const job = this.queue.shift();
    if (!job) return;
    this.running = job;
    this.idle = this.execute(job).finally(() => {
      this.running = undefined;
      this.pump();
    });
  }

  private async execute(job: Job): Promise<void> {
    const { status, spec } = job;
    const kind = modelKind(spec.model)!;
    const log = this.deps.log.child({ job: status.id, model: spec.model });
    status.state = 'running';
    status.startedAt = Date.now();
    this.event(job, {
      kind: 'JOB_STARTED',
      message: `${spec.trigger}: ${spec.reason}`,
      hyperparameters: stringMap({
        ...spec.budget,
        seed: spec.seed,
        holdout: spec.holdout,
        holdoutFraction: spec.holdoutFraction,
      }),
    });
    log.info({ trigger: spec.trigger, reason: spec.reason, budget: spec.budget }, 'training job started');
    try {
      const dataset = await this.loadData(job, kind);
      status.data.rows = dataset.rows.length;
      if (dataset.rows.length < this.deps.minRows) {
        const message = `only ${dataset.rows.length} labelled rows in ${describeData(dataset)} (${dataset.unlabelled} without a label, ${dataset.undecodable} undecodable); at least ${this.deps.minRows} are needed`;
        this.finish(job, spec.trigger === 'api' || spec.trigger === 'request' ? 'failed' : 'skipped', message);
        log.info(message);
        return;
      }
      const { request, decide } = await this.prepare(job, kind, dataset);
      status.phase = 'training';
      job.trainingStarted = Date.now();
      const result = await trainInWorker(request, {
        backend: this.deps.backend,
        signal: job.abort.signal,
        onMessage: (m) => this.onWorker(job, m),
      });
      status.phase = 'registering';
      const version = await this.register(job, kind, dataset, request, result, decide(result));
      status.result = {
        version: version.version,
        status: version.status,
        decision: version.note ?? '',
        metrics: result.metrics,
        evaluation: result.evaluation,
      };
      await this.prune(kind.name, log);
      if (version.status === 'CHAMPION') await this.deps.served?.(kind.name);
      this.finish(job, 'succeeded', null);
      log.info(
        { version: version.version, status: version.status, metrics: result.metrics, evaluation: result.evaluation },
        `training job finished: ${version.note}`,
      );
    } catch (err) {
      const cancelled = err instanceof TrainingCancelled || job.abort.signal.aborted;
      this.finish(job, cancelled ? 'cancelled' : 'failed', cancelled ? 'cancelled' : (err as Error).message);
      if (!cancelled) log.error({ err }, 'training job failed');
    }
  }

  private async loadData(job: Job, kind: AnyModelKind): Promise<Dataset> {
    const { spec, status } = job;
    status.phase = 'loading_data';
    if (spec.rows)
      return {
        rows: spec.rows,
        times: null,
        source: 'request',
        from: null,
        to: null,
        scanned: spec.rows.length,
        unlabelled: 0,
        undecodable: 0,
      };
    return datasetFromReplay(this.deps.kafka, kind, {
      ...spec.replay,
      signal: job.abort.signal,
      onProgress: ({ read, total }) => {
        status.data.read = read;
        status.data.total = total;
      },
    });
  }

  /** Splits, fits the kind's state on the training split, and prepares the champion's view of the same holdout. */
  private async prepare(job: Job, kind: AnyModelKind, dataset: Dataset) {
    const { spec } = job;
    const splits = splitRows(dataset.rows, {
      seed: spec.seed,
      holdout: spec.holdoutFraction,
      val: 0.2,
      newest: spec.holdout === 'newest',
      times: dataset.times,
    });
    const kindState = kind.fitState?.(splits.train) ?? null;
    const champion = this.deps.registry.champion(kind.name);
    const championInput = champion ? await this.championInput(champion, kind, splits.holdout) : undefined;
    const version = newVersionId();
    const request: TrainingRequest = {
      kind: kind.name,
      seed: spec.seed,
      budget: spec.budget,
      fixed: spec.hyperparameters,
      train: splitData(kind, splits.train, kindState),
      val: splitData(kind, splits.val, kindState),
      holdout: splitData(kind, splits.holdout, kindState),
      champion: championInput,
      saveRoot: this.deps.saveRoot,
      artifactPath: artifactPath(kind.name, version),
      version,
      kindState,
    };
    const decide = (result: TrainingResult): Decision & { parent: string | null } => ({
      ...decidePromotion(kind, result.evaluation, this.deps.minImprovement),
      parent: champion?.version ?? null,
    });
    return { request, decide };
  }

  private async championInput(
    champion: ModelVersion,
    kind: AnyModelKind,
    holdout: unknown[],
  ): Promise<TrainingRequest['champion']> {
    let dir = artifactDir(this.deps.saveRoot, champion.artifactPath);
    let kindState: unknown = null;
    try {
      dir = await this.deps.artifacts.local(champion);
      kindState = (JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as ModelState).kindState;
    } catch {
      /* the worker reports the champion as not evaluable, and the gate says so */
    }
    return { version: champion.version, dir, holdoutX: featureMatrix(kind, holdout, kindState) };
  }

  private async register(
    job: Job,
    kind: AnyModelKind,
    dataset: Dataset,
    request: TrainingRequest,
    result: TrainingResult,
    decision: Decision & { parent: string | null },
  ): Promise<ModelVersion> {
    const now = Date.now();
    // The artifacts go first, so whoever reads the version's record can fetch them.
    const artifacts = await this.deps.artifacts.publish(
      kind.name,
      request.version,
      artifactDir(this.deps.saveRoot, request.artifactPath),
    );
    const record: ModelVersion = {
      model: kind.name,
      version: request.version,
      parent: decision.parent,
      status: 'CANDIDATE',
      metrics: result.metrics,
      hyperparameters: stringMap(result.hyperparameters),
      dataSource: dataset.source,
      dataFrom: dataset.from,
      dataTo: dataset.to,
      rows: dataset.rows.length,
      backend: result.backend,
      artifactPath: request.artifactPath,
      createdAt: now,
      updatedAt: now,
      note: decision.reason,
      replaced: null,
      artifacts,
      evaluation: result.evaluation,
    };
    if (decision.promote) {
      await this.deps.registry.publish(record);
      const promoted = await this.deps.registry.promote(kind.name, record.version, decision.reason);
      this.digest(job, 'INFO', `${kind.name} ${record.version} is the new champion: ${decision.reason}`);
      return promoted;
    }
    const rejected: ModelVersion = { ...record, status: 'REJECTED' };
    await this.deps.registry.publish(rejected);
    this.digest(job, 'INFO', `${kind.name} ${record.version} was not promoted: ${decision.reason}`);
    return rejected;
  }

  /** Retention: old versions leave the registry and their artifacts are deleted. Best effort: the job has succeeded. */
  private async prune(model: string, log: Logger): Promise<void> {
    try {
      const pruned = await this.deps.registry.prune(model, this.deps.keepVersions);
      await Promise.all(
        pruned.map(async (v) => {
          await this.deps.artifacts.remove(v);
          await rm(artifactDir(this.deps.saveRoot, v.artifactPath), { recursive: true, force: true });
        }),
      );
      if (pruned.length)
        log.info(
          { versions: pruned.map((v) => v.version) },
          `pruned ${pruned.length} old ${model} versions (ML_KEEP_VERSIONS=${this.deps.keepVersions})`,
        );
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'old versions not pruned');
    }
  }

  private onWorker(job: Job, m: WorkerMessage): void {
    if (m.type === 'backend') {
      job.status.backend = m.backend;
      if (m.fallbacks.length)
        this.deps.log.debug({ job: job.status.id, fallbacks: m.fallbacks }, `training on ${m.backend}`);
      return;
    }
    if (m.type !== 'event') return;
    const e: TuneEvent = m.event;
    job.status.progress = e.progress;
    if (e.kind === 'TRIAL_STOPPED' || e.kind === 'TRIAL_FINISHED') {
      this.deps.log.info(
        {
          job: job.status.id,
          model: job.spec.model,
          trial: e.trial,
          epochs: e.epoch,
          hyperparameters: e.hyperparameters,
          ...e.metrics,
        },
        `trial ${e.trial}/${e.progress.trials} ${e.kind === 'TRIAL_FINISHED' ? 'finished' : `stopped: ${e.message}`}`,
      );
    }
    if (e.kind === 'EPOCH' && e.epoch !== null)
      job.status.lastEpoch = { trial: e.trial, epoch: e.epoch, metrics: e.metrics };
    this.event(job, {
      kind: e.kind,
      trial: e.trial,
      epoch: e.epoch,
      metrics: e.metrics,
      hyperparameters: stringMap(e.hyperparameters),
      message: e.message,
    });
  }

  private finish(job: Job, state: JobState, error: string | null): void {
    const { status } = job;
    status.state = state;
    status.phase = 'done';
    status.finishedAt = Date.now();
    status.error = error;
    trainingJobsTotal.inc({ model: job.spec.model, trigger: job.spec.trigger, state });
    if (state === 'succeeded') {
      this.event(job, {
        kind: 'JOB_FINISHED',
        metrics: status.result?.metrics ?? {},
        message: `${status.result?.version} ${status.result?.status}: ${status.result?.decision}`,
        version: status.result?.version ?? null,
      });
    } else {
      this.event(job, { kind: 'JOB_FAILED', message: `${state}: ${error}` });
      if (state === 'failed') this.digest(job, 'WARNING', `${status.model} training failed: ${error}`);
    }
    const final = this.view(job);
    for (const listener of this.finishListeners) listener(final);
  }

  private event(job: Job, e: Omit<TrainingEventInput, 'jobId' | 'model' | 'at'>): void {
    this.deps.sink.push({ jobId: job.status.id, model: job.spec.model, at: Date.now(), ...e });
  }

  private digest(job: Job, severity: 'INFO' | 'WARNING', message: string): void {
    void this.deps.events.publish({
      component: 'neuroweaver',
      kind: 'training',
      severity,
      subject: job.spec.model,
      message,
      data: { jobId: job.status.id, trigger: job.spec.trigger },
    });
  }

  private forgetOld(): void {
    const finished = [...this.jobs.values()]
      .filter((j) => j.status.finishedAt)
      .sort((a, b) => a.status.finishedAt! - b.status.finishedAt!);
    for (const j of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.jobs.delete(j.status.id);
  }
}

/** Sortable and unique across instances: `v20261127-101500-3fa2`. */
export function newVersionId(now = new Date()): string {
  const iso = now.toISOString();
  return `v${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${randomBytes(2).toString('hex')}`;
}

function describeData(d: Dataset): string {
  if (d.source === 'request') return 'the request';
  const at = (t: number | null) => (t === null ? 'the end' : new Date(t).toISOString());
  return `${d.source} from ${d.from === null ? 'the beginning' : at(d.from)} to ${at(d.to)}`;
}
