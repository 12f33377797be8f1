/** NeuroWeaver, the component: registry, predictor, jobs and retraining wired together. */

import type { ApiInstance } from '../api/server.ts';
import type { Component, ComponentContext, ComponentHealth } from '../app/component.ts';
import { TopicSink } from '../kafka/index.ts';
import { ModelArtifactStore } from '../shared/model-artifacts.ts';
import { ModelRegistry } from '../shared/model-registry.ts';
import { type TensorflowRuntime, tensorflow } from '../shared/tensorflow.ts';
import { JobManager } from './jobs.ts';
import { MODEL_KINDS } from './kinds/index.ts';
import type { AnyModelKind } from './kinds/types.ts';
import { type ModelGaugeSource, predictionsTotal, reportGauges } from './metrics.ts';
import { Predictor } from './predictor.ts';
import { Retrainer } from './retrain.ts';
import { neuroweaverRoutes } from './routes.ts';
import { TrainingEventSink } from './training-events.ts';

export class NeuroWeaver implements Component {
  readonly name = 'neuroweaver';
  readonly kinds: AnyModelKind[] = Object.values(MODEL_KINDS);
  readonly registry: ModelRegistry;
  readonly predictor: Predictor;
  readonly jobs: JobManager;
  readonly retrainer: Retrainer;
  readonly sink: TrainingEventSink;
  private readonly replies: TopicSink<'retrain.replies'>;
  private readonly results: TopicSink<'action.results'>;
  runtime?: TensorflowRuntime;
  private started = false;
  private loads = new Map<string, Promise<void>>();

  readonly ctx: ComponentContext;

  constructor(ctx: ComponentContext) {
    this.ctx = ctx;
    const { config, kafka, log, events } = ctx;
    this.registry = new ModelRegistry(kafka, log);
    const artifacts = new ModelArtifactStore(kafka, config.MODEL_SAVE_PATH);
    this.predictor = new Predictor(() => tensorflow(config.TFJS_BACKEND), artifacts, log);
    this.sink = new TrainingEventSink(kafka, log);
    this.jobs = new JobManager({
      kafka,
      registry: this.registry,
      sink: this.sink,
      events,
      log,
      saveRoot: config.MODEL_SAVE_PATH,
      artifacts,
      backend: config.TFJS_BACKEND,
      minRows: config.ML_MIN_TRAINING_ROWS,
      minImprovement: config.ML_PROMOTION_MIN_IMPROVEMENT,
      keepVersions: config.ML_KEEP_VERSIONS,
      served: (model) => this.ready(model),
    });
    this.replies = new TopicSink(kafka, 'retrain.replies', log);
    this.results = new TopicSink(kafka, 'action.results', log);
    this.retrainer = new Retrainer({
      kafka,
      answers: {
        reply: (r) => this.replies.push({ key: r.requestId, value: r }),
        result: (r) => this.results.push({ key: r.actionId, value: r }),
      },
      jobs: this.jobs,
      predictor: this.predictor,
      kinds: this.kinds,
      log,
      settings: {
        enabled: config.ENABLE_ML_TRAINING,
        intervalMs: config.ML_RETRAIN_INTERVAL_MS,
        windowMs: config.ML_RETRAIN_WINDOW_MS,
        cooldownMs: config.ML_RETRAIN_COOLDOWN_MS,
        driftThreshold: config.ML_DRIFT_THRESHOLD,
        driftWindow: config.ML_DRIFT_WINDOW,
        defaults: { budget: this.defaultBudget(), holdoutFraction: 0.2, holdout: 'newest' },
      },
    });
  }

  defaultBudget() {
    const c = this.ctx.config;
    return { trials: c.ML_TUNE_TRIALS, timeS: c.ML_TUNE_TIME_BUDGET_S, maxEpochs: c.ML_TUNE_MAX_EPOCHS };
  }

  async start(): Promise<void> {
    const { config, log } = this.ctx;
    this.runtime = await tensorflow(config.TFJS_BACKEND);
    log.info(
      { backend: this.runtime.backend, fallbacks: this.runtime.fallbacks },
      `TensorFlow.js backend: ${this.runtime.backend}`,
    );
    this.registry.onChange((v) => {
      if (this.kinds.some((k) => k.name === v.model)) void this.ready(v.model);
    });
    await this.registry.start();
    await Promise.all(this.kinds.map((k) => this.ready(k.name)));
    await this.retrainer.start();
    if (!config.ENABLE_ML_TRAINING)
      log.info('training is disabled (ENABLE_ML_TRAINING=false): serving predictions only');
    reportGauges(this.gauges);
    this.started = true;
  }

  private readonly gauges: ModelGaugeSource = {
    models: () =>
      this.kinds.map((k) => ({
        model: k.name,
        driftRatio: this.retrainer.drift.get(k.name)?.status().ratio ?? null,
        evaluation: this.predictor.serving(k.name)?.evaluation ?? null,
      })),
    jobs: () => ({ running: this.jobs.current() ? 1 : 0, queued: this.jobs.queued().length }),
  };

  /** Loads the model's current champion if it is not the one serving (one load at a time per model); resolves once it serves. */
  ready(model: string): Promise<void> {
    const next = (this.loads.get(model) ?? Promise.resolve()).then(async () => {
      const champion = this.registry.champion(model);
      if (champion && this.predictor.serving(model)?.version !== champion.version) await this.predictor.load(champion);
    });
    this.loads.set(model, next);
    return next;
  }

  countPredictions(model: string, rows: number): void {
    predictionsTotal.inc({ model }, rows);
  }

  async stop(): Promise<void> {
    this.started = false;
    reportGauges(undefined, this.gauges);
    await this.retrainer.stop();
    await this.jobs.stop();
    await Promise.all([this.sink.flush(), this.replies.flush(), this.results.flush()]);
    await this.registry.stop();
    await Promise.all(this.loads.values());
    this.predictor.dispose();
  }

  health(): ComponentHealth {
    if (!this.started) return { status: 'stopped' };
    const broken = [
      this.registry.failure,
      this.retrainer.failure,
      ...this.kinds.map((k) => this.predictor.loadError(k.name)),
    ].filter(Boolean);
    if (broken.length) return { status: 'degraded', detail: broken.join('; ') };
    const job = this.jobs.current();
    return { status: 'ok', detail: job ? `training ${job.model} (${job.phase})` : `backend ${this.runtime?.backend}` };
  }

  routes(api: ApiInstance): void {
    neuroweaverRoutes(api, this);
  }
}

export function createNeuroWeaver(ctx: ComponentContext): Component {
  return new NeuroWeaver(ctx);
}
