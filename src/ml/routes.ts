/** NeuroWeaver's routes under /api/v2/neuroweaver. */
import type { Static } from '@fastify/type-provider-typebox';
import { HttpError } from '../api/errors.ts';
import type { ApiInstance } from '../api/server.ts';
import { parseTime } from '../shared/time.ts';
import {
  JobList,
  JobParams,
  JobSchema,
  ModelParams,
  ModelsQuery,
  ModelsReply,
  PredictBody,
  PredictQuery,
  PredictReply,
  PromoteReply,
  StatusReply,
  TrainAccepted,
  TrainBody,
  VersionParams,
  VersionSchema,
} from './api-schemas.ts';
import type { NeuroWeaver } from './component.ts';
import { DatasetError, parseRequestRows } from './dataset.ts';
import type { JobSpec } from './jobs.ts';
import { modelKind } from './kinds/index.ts';
import type { AnyModelKind } from './kinds/types.ts';

const tags = ['neuroweaver'];
const errors = {
  400: { $ref: 'Error#' },
  403: { $ref: 'Error#' },
  404: { $ref: 'Error#' },
  409: { $ref: 'Error#' },
  429: { $ref: 'Error#' },
};

export function neuroweaverRoutes(api: ApiInstance, nw: NeuroWeaver): void {
  const kindOf = (name: string | undefined, field: string): AnyModelKind => {
    const kind = modelKind(name ?? 'performance');
    if (!kind)
      throw new HttpError(
        404,
        `${field} ${name} is not a model kind; known: ${nw.kinds.map((k) => k.name).join(', ')}`,
        field,
      );
    return kind;
  };

  api.post(
    '/neuroweaver/train',
    {
      schema: {
        summary: 'Start a training job (tuning, evaluation, promotion gate); answers at once with the job id',
        tags,
        body: TrainBody,
        response: { 202: TrainAccepted, ...errors },
      },
    },
    async (req, reply) => {
      if (!nw.ctx.config.ENABLE_ML_TRAINING)
        throw new HttpError(
          403,
          'training is disabled on this instance (ENABLE_ML_TRAINING=false); predictions are still served',
        );
      const body = req.body;
      const kind = kindOf(body.model, 'body.model');
      if (body.data && (body.from !== undefined || body.to !== undefined || body.topic !== undefined)) {
        throw new HttpError(
          400,
          'body.data cannot be combined with from, to or topic: give rows, or a window to replay',
          'body.data',
        );
      }
      const spec = trainingSpec(nw, kind, body);
      if (spec.rows && spec.rows.length < nw.ctx.config.ML_MIN_TRAINING_ROWS) {
        throw new HttpError(
          400,
          `body.data has ${spec.rows.length} rows; at least ${nw.ctx.config.ML_MIN_TRAINING_ROWS} are needed (ML_MIN_TRAINING_ROWS)`,
          'body.data',
        );
      }
      const job = nw.jobs.submit(spec); // QueueFullError is a 429 (src/errors)
      return reply.status(202).send({
        jobId: job.id,
        model: job.model,
        state: job.state,
        statusUrl: `/api/v2/neuroweaver/jobs/${job.id}`,
        job,
      });
    },
  );

  api.get(
    '/neuroweaver/status',
    {
      schema: {
        summary: 'The running training job (trial, epoch, best so far, ETA), the queue, the backend and each model',
        tags,
        response: { 200: StatusReply },
      },
    },
    async () => ({
      backend: nw.runtime?.backend ?? 'loading',
      fallbacks: nw.runtime?.fallbacks ?? [],
      trainingEnabled: nw.ctx.config.ENABLE_ML_TRAINING,
      job: nw.jobs.current() ?? null,
      queued: nw.jobs.queued(),
      lastJob: nw.jobs.recent(1)[0] ?? null,
      models: Object.fromEntries(
        nw.kinds.map((k) => [
          k.name,
          {
            champion: nw.registry.champion(k.name)?.version ?? null,
            serving: nw.predictor.serving(k.name)?.version ?? null,
            loadError: nw.predictor.loadError(k.name) ?? null,
            drift: nw.retrainer.drift.get(k.name)!.status(),
          },
        ]),
      ),
    }),
  );

  api.get(
    '/neuroweaver/jobs',
    {
      schema: {
        summary: 'Training jobs: the running one, the queue, and the last finished ones, newest first',
        tags,
        response: { 200: JobList },
      },
    },
    async () => ({
      jobs: [...(nw.jobs.current() ? [nw.jobs.current()!] : []), ...nw.jobs.queued(), ...nw.jobs.recent(50)],
    }),
  );

  api.get(
    '/neuroweaver/jobs/:id',
    {
      schema: {
        summary: 'One training job (running, queued or among the last 50 finished)',
        tags,
        params: JobParams,
        response: { 200: JobSchema, ...errors },
      },
    },
    async (req) => {
      const job = nw.jobs.get(req.params.id);
      if (!job) throw new HttpError(404, `params.id: no training job ${req.params.id}`, 'params.id');
      return job;
    },
  );

  api.post(
    '/neuroweaver/jobs/:id/cancel',
    {
      schema: {
        summary: 'Cancel a queued or running training job',
        tags,
        params: JobParams,
        response: { 200: JobSchema, ...errors },
      },
    },
    async (req) => {
      const job = nw.jobs.cancel(req.params.id);
      if (!job) throw new HttpError(404, `params.id: no training job ${req.params.id}`, 'params.id');
      return job;
    },
  );

  api.post(
    '/neuroweaver/predict',
    {
      // Changes nothing: open like the other reads, whatever tokens are configured.
      config: { access: 'read' },
      // The schema only says "an object or an array": rows are checked against the model kind's own fields below, so errors name the exact field.
      schema: {
        summary: "Predict with the model's champion: one row or an array of rows",
        tags,
        querystring: PredictQuery,
        body: PredictBody,
        response: { 200: PredictReply, ...errors },
      },
    },
    async (req) => {
      const kind = kindOf(req.query.model, 'querystring.model');
      const single = !Array.isArray(req.body);
      const input = single ? [req.body] : (req.body as unknown[]);
      if (!input.length) throw new HttpError(400, 'body must hold at least one row', 'body');
      if (input.length > 10_000) throw new HttpError(400, 'body must hold at most 10000 rows', 'body');
      const rows = withDatasetErrors(() => parseRequestRows(kind, input, false, 'body'), single);
      const pinned = req.query.version === undefined ? undefined : nw.registry.get(kind.name, req.query.version);
      if (req.query.version !== undefined && !pinned)
        throw new HttpError(
          404,
          `querystring.version: no version ${req.query.version} of model ${kind.name}`,
          'querystring.version',
        );
      const prediction = await predictOrExplain(() => nw.predictor.predict(kind, rows, pinned));
      if (!prediction)
        throw new HttpError(
          409,
          nw.predictor.loadError(kind.name) ??
            `model ${kind.name} has no champion yet: train one with POST /api/v2/neuroweaver/train`,
        );
      nw.countPredictions(kind.name, rows.length);
      return { model: kind.name, version: prediction.version, predictions: prediction.outputs };
    },
  );

  api.get(
    '/neuroweaver/models',
    {
      schema: {
        summary:
          'Model versions, newest first, with what the promotion gate compared (evaluation), training figures, hyperparameters, data window, backend and parent',
        tags,
        querystring: ModelsQuery,
        response: { 200: ModelsReply },
      },
    },
    async (req) => ({
      champions: Object.fromEntries(
        nw.kinds.flatMap((k) =>
          nw.registry.champion(k.name) ? [[k.name, nw.registry.champion(k.name)!.version]] : [],
        ),
      ),
      versions: nw.registry.list(req.query.model),
    }),
  );

  api.get(
    '/neuroweaver/models/:model/:version',
    {
      schema: {
        summary: 'One model version',
        tags,
        params: VersionParams,
        response: { 200: VersionSchema, ...errors },
      },
    },
    async (req) => {
      const v = nw.registry.get(req.params.model, req.params.version);
      if (!v)
        throw new HttpError(404, `no version ${req.params.version} of model ${req.params.model}`, 'params.version');
      return v;
    },
  );

  api.post(
    '/neuroweaver/models/:model/:version/promote',
    {
      schema: {
        summary: 'Make a version the champion (manual promotion, bypassing the gate)',
        tags,
        params: VersionParams,
        response: { 200: PromoteReply, ...errors },
      },
    },
    async (req) => {
      const { model, version } = req.params;
      const v = nw.registry.get(model, version);
      if (!v) throw new HttpError(404, `no version ${version} of model ${model}`, 'params.version');
      const before = nw.registry.champion(model);
      const champion = await nw.registry.promote(
        model,
        version,
        `promoted manually${before ? ` over ${before.version}` : ''}`,
      );
      await nw.ready(model);
      return { champion, retired: before && before.version !== version ? before.version : null };
    },
  );

  api.post(
    '/neuroweaver/models/:model/rollback',
    {
      schema: {
        summary: 'Return to the champion the current one replaced',
        tags,
        params: ModelParams,
        response: { 200: PromoteReply, ...errors },
      },
    },
    async (req) => {
      const { model } = req.params;
      kindOf(model, 'params.model');
      const result = await nw.registry.rollback(model);
      if (!result) throw new HttpError(409, `model ${model} has no earlier champion to roll back to`);
      await nw.ready(model);
      return { champion: result.champion, retired: result.retired.version };
    },
  );
}

/** Artifacts of a version asked for by name may be gone (another host, deleted): a 409 saying so, not a 500. */
async function predictOrExplain<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new HttpError(409, `the version's artifacts are missing: ${(err as Error).message}`);
    throw err;
  }
}

function trainingSpec(nw: NeuroWeaver, kind: AnyModelKind, body: Static<typeof TrainBody>): JobSpec {
  const budget = { ...nw.defaultBudget(), ...body.budget };
  const common = {
    model: kind.name,
    budget,
    seed: body.seed ?? Math.floor(Math.random() * 2 ** 31),
    hyperparameters: body.hyperparameters,
    holdoutFraction: body.holdoutFraction ?? 0.2,
    trigger: 'api' as const,
  };
  if (body.data) {
    const rows = withDatasetErrors(() => parseRequestRows(kind, body.data!, true, 'body.data'), false);
    return { ...common, holdout: body.holdout ?? 'random', rows, reason: `${rows.length} rows from the request` };
  }
  const now = Date.now();
  const from = body.from === undefined ? now - nw.ctx.config.ML_RETRAIN_WINDOW_MS : time(body.from, 'body.from', now);
  const to = body.to === undefined ? now : time(body.to, 'body.to', now);
  if (to < from) throw new HttpError(400, 'body.to is before body.from', 'body.to');
  return {
    ...common,
    holdout: body.holdout ?? 'newest',
    replay: { topic: body.topic, from, to },
    reason: `replay of ${body.topic ?? kind.source} from ${new Date(from).toISOString()} to ${new Date(to).toISOString()}`,
  };
}

function time(value: string | number, field: string, now: number): number {
  try {
    return typeof value === 'number' ? value : parseTime(value, now);
  } catch (err) {
    throw new HttpError(400, `${field}: ${(err as Error).message}`, field);
  }
}

/** Dataset errors become 400s naming the field; a single-row body names `body.x`, not `body.0.x`. */
function withDatasetErrors<T>(fn: () => T, single: boolean): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof DatasetError)) throw err;
    const field = single ? err.field.replace(/^body\.0(\.|$)/, 'body$1') : err.field;
    throw new HttpError(400, single ? err.message.replace(/^body\.0(\.|$)/, 'body$1') : err.message, field);
  }
}
