/** TypeBox schemas of NeuroWeaver's HTTP API (they are also its OpenAPI documentation under /docs). */
import { Type } from '@fastify/type-provider-typebox';
import { Nullable } from '../api/schema.ts';
import { EvaluationSchema } from '../shared/evaluation.ts';
import { HyperparametersSchema } from '../shared/hyperparameters.ts';
import { exampleTrainingRows } from './synthetic.ts';

const Metrics = Type.Record(Type.String(), Type.Number());
const TrainingFigures = Type.Record(Type.String(), Type.Number(), {
  description: "The training's own figures: val_loss, epochs, trials, train_rows, val_rows, duration_s.",
});
const Strings = Type.Record(Type.String(), Type.String());

export const EXAMPLE_ROW = {
  cpu_usage: 75,
  memory_usage: 60,
  network_latency: 150,
  error_rate: 2,
  request_count: 1500,
};
const EXAMPLE_TRAINING_ROW = { ...EXAMPLE_ROW, performance_score: 0.8 };
/** The first rows of examples/performance-train.json: the fewest the API takes (ML_MIN_TRAINING_ROWS). */
const EXAMPLE_TRAINING_ROWS = exampleTrainingRows(50);

export const Time = Type.Union([Type.String(), Type.Integer()], {
  description: 'ISO date-time, epoch milliseconds, `now`, or relative to now (`-2h`, `-15m`, `-7d`).',
  examples: ['-24h', '2026-11-27T00:00:00Z', 1795737600000],
});

export const TrainBody = Type.Object(
  {
    model: Type.Optional(
      Type.String({ default: 'performance', description: 'Model kind to train.', examples: ['performance'] }),
    ),
    data: Type.Optional(
      Type.Array(Type.Object({}, { additionalProperties: true }), {
        minItems: 1,
        maxItems: 500_000,
        description:
          "Training rows: the model's features and its target (performance: cpu_usage, memory_usage, network_latency, error_rate, request_count, performance_score). Without data, the window from/to of the model's topic is replayed.",
        examples: [[EXAMPLE_TRAINING_ROW]],
      }),
    ),
    topic: Type.Optional(
      Type.String({
        description:
          "Topic to replay instead of the model's own (e.g. a copy made with `automatrix replay --to-topic`).",
      }),
    ),
    from: Type.Optional(Time),
    to: Type.Optional(Time),
    budget: Type.Optional(
      Type.Object(
        {
          trials: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 64, description: 'Hyperparameter trials (default ML_TUNE_TRIALS).' }),
          ),
          timeS: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 86_400,
              description: 'Tuning time budget in seconds (default ML_TUNE_TIME_BUDGET_S).',
            }),
          ),
          maxEpochs: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 1000,
              description: 'Epochs of a trial that survives every rung (default ML_TUNE_MAX_EPOCHS).',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    hyperparameters: Type.Optional(HyperparametersSchema),
    holdoutFraction: Type.Optional(
      Type.Number({
        minimum: 0.05,
        maximum: 0.5,
        default: 0.2,
        description: 'Share of rows held out for the reported metrics and the promotion gate.',
      }),
    ),
    holdout: Type.Optional(
      Type.Union([Type.Literal('newest'), Type.Literal('random')], {
        description:
          'Which rows are held out: the newest (by record time; for `data`, the last rows) or a random sample. Default: newest for a replay, random for `data`.',
      }),
    ),
    seed: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 2 ** 31 - 1,
        description: 'Seed of the split and the search (random when absent).',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'A first model becomes champion only if it beats a linear regression on the holdout: the 50 rows of the first example are the fewest accepted and rarely enough (the job then reports the version REJECTED, with why); examples/performance-train.json has 1000. The second example replays what services sent to metrics.samples.',
    examples: [
      { seed: 7, data: EXAMPLE_TRAINING_ROWS },
      { from: '-24h', to: 'now', budget: { trials: 8, timeS: 300 } },
    ],
  },
);

const Progress = Nullable(
  Type.Object({
    trial: Type.Integer(),
    trials: Type.Integer(),
    epoch: Type.Integer(),
    rung: Type.Integer(),
    rungs: Type.Integer(),
    epochsDone: Type.Integer(),
    epochsPlanned: Type.Integer(),
    best: Nullable(
      Type.Object({
        trial: Type.Integer(),
        valLoss: Type.Number(),
        hyperparameters: Type.Object({}, { additionalProperties: true }),
      }),
    ),
  }),
);

export const JobSchema = Type.Object(
  {
    id: Type.String(),
    model: Type.String(),
    trigger: Type.String({ description: 'api, schedule, drift, regime_change or orchestrator.' }),
    reason: Type.String(),
    state: Type.String({
      description: 'queued, running, succeeded, failed, cancelled or skipped (too little data for an automatic run).',
    }),
    phase: Type.String({ description: 'queued, loading_data, training, registering or done.' }),
    createdAt: Type.Number(),
    startedAt: Nullable(Type.Number()),
    finishedAt: Nullable(Type.Number()),
    budget: Type.Object({ trials: Type.Integer(), timeS: Type.Number(), maxEpochs: Type.Integer() }),
    data: Type.Object({
      source: Type.String(),
      from: Nullable(Type.Number()),
      to: Nullable(Type.Number()),
      rows: Nullable(Type.Integer()),
      read: Type.Integer(),
      total: Nullable(Type.Integer()),
      holdout: Type.String(),
    }),
    backend: Nullable(Type.String()),
    progress: Progress,
    lastEpoch: Nullable(Type.Object({ trial: Type.Integer(), epoch: Type.Integer(), metrics: Metrics })),
    etaS: Nullable(Type.Number({ description: 'Estimated seconds left (bounded by the time budget).' })),
    result: Nullable(
      Type.Object({
        version: Type.String(),
        status: Type.String(),
        decision: Type.String(),
        metrics: TrainingFigures,
        evaluation: EvaluationSchema,
      }),
    ),
    error: Nullable(Type.String()),
  },
  {
    examples: [
      {
        id: '0b7c…',
        model: 'performance',
        trigger: 'api',
        state: 'running',
        phase: 'training',
        progress: { trial: 3, trials: 8, epoch: 7, rung: 1, rungs: 4 },
      },
    ],
  },
);

export const JobList = Type.Object({ jobs: Type.Array(JobSchema) }, { examples: [{ jobs: [] }] });

export const TrainAccepted = Type.Object(
  { jobId: Type.String(), model: Type.String(), state: Type.String(), statusUrl: Type.String(), job: JobSchema },
  {
    examples: [
      { jobId: '0b7c2d0e-…', model: 'performance', state: 'queued', statusUrl: '/api/v2/neuroweaver/jobs/0b7c2d0e-…' },
    ],
  },
);

const EXAMPLE_VERSION = {
  model: 'performance',
  version: 'v20261127-101500-3fa2',
  parent: 'v20261126-101500-91c0',
  status: 'CHAMPION',
  metrics: { val_loss: 0.0712, epochs: 21, trials: 8, train_rows: 64000, val_rows: 16000, duration_s: 94.2 },
  hyperparameters: {
    layers: '2',
    units: '64',
    learningRate: '0.003',
    batchSize: '64',
    l2: '0',
    dropout: '0',
    activation: 'relu',
  },
  dataSource: 'automatrix.metrics.samples',
  dataFrom: 1795651200000,
  dataTo: 1795737600000,
  rows: 100000,
  backend: 'wasm',
  artifactPath: 'performance/v20261127-101500-3fa2',
  createdAt: 1795737700000,
  updatedAt: 1795737700000,
  note: 'beats the champion: rmse 0.02010 vs champion v20261126-101500-91c0 0.02250 on the same holdout',
  replaced: 'v20261126-101500-91c0',
  evaluation: {
    holdoutRows: 20000,
    network: { rmse: 0.0201, mae: 0.0158, r2: 0.963 },
    linear: { rmse: 0.0276, mae: 0.0219, r2: 0.93 },
    classic: null,
    champion: { version: 'v20261126-101500-91c0', metrics: { rmse: 0.0225, mae: 0.0177, r2: 0.954 }, error: null },
  },
};

export const VersionSchema = Type.Object(
  {
    model: Type.String(),
    version: Type.String(),
    parent: Nullable(Type.String()),
    status: Type.String({ description: 'CANDIDATE, CHAMPION, REJECTED or RETIRED.' }),
    metrics: TrainingFigures,
    hyperparameters: Strings,
    dataSource: Type.String(),
    dataFrom: Nullable(Type.Number()),
    dataTo: Nullable(Type.Number()),
    rows: Type.Number(),
    backend: Type.String(),
    artifactPath: Type.String(),
    createdAt: Type.Number(),
    updatedAt: Type.Number(),
    note: Nullable(Type.String()),
    replaced: Nullable(Type.String()),
    evaluation: Nullable(EvaluationSchema),
  },
  { examples: [EXAMPLE_VERSION] },
);

export const ModelsReply = Type.Object(
  { champions: Strings, versions: Type.Array(VersionSchema) },
  { examples: [{ champions: { performance: 'v20261127-101500-3fa2' }, versions: [EXAMPLE_VERSION] }] },
);

export const StatusReply = Type.Object(
  {
    backend: Type.String({ description: 'TensorFlow.js backend of this process (training workers load the same).' }),
    fallbacks: Type.Array(Type.String(), { description: 'Why faster backends were not used.' }),
    trainingEnabled: Type.Boolean(),
    job: Nullable(JobSchema),
    queued: Type.Array(JobSchema),
    lastJob: Nullable(JobSchema),
    models: Type.Record(
      Type.String(),
      Type.Object({
        champion: Nullable(Type.String()),
        serving: Nullable(Type.String()),
        loadError: Nullable(Type.String()),
        drift: Type.Object({
          samples: Type.Integer(),
          window: Type.Integer(),
          recent: Nullable(Type.Number()),
          holdout: Nullable(Type.Number()),
          ratio: Nullable(Type.Number()),
          threshold: Type.Number(),
        }),
      }),
    ),
  },
  {
    examples: [
      {
        backend: 'wasm',
        fallbacks: ['tensorflow: Cannot find module'],
        trainingEnabled: true,
        job: null,
        queued: [],
        lastJob: null,
        models: {},
      },
    ],
  },
);

export const PredictBody = Type.Union(
  [Type.Object({}, { additionalProperties: true }), Type.Array(Type.Object({}, { additionalProperties: true }))],
  {
    description:
      "One row of the model's features, or an array of up to 10000 rows (performance: cpu_usage, memory_usage, network_latency, error_rate, request_count).",
    examples: [EXAMPLE_ROW, [EXAMPLE_ROW, { ...EXAMPLE_ROW, cpu_usage: 95, network_latency: 900 }]],
  },
);

export const PredictQuery = Type.Object(
  {
    model: Type.Optional(Type.String({ default: 'performance', examples: ['performance'] })),
    // No example: Swagger would pre-fill it, and a made-up version is not found.
    version: Type.Optional(
      Type.String({
        description:
          'Predict with this version instead of the champion (e.g. to compare a rejected challenger); versions are listed by GET /neuroweaver/models.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const PredictReply = Type.Object(
  { model: Type.String(), version: Type.String(), predictions: Type.Array(Metrics) },
  {
    examples: [{ model: 'performance', version: 'v20261127-101500-3fa2', predictions: [{ performance_score: 0.81 }] }],
  },
);

export const ModelParams = Type.Object({ model: Type.String({ examples: ['performance'] }) });
export const VersionParams = Type.Object({
  model: Type.String({ examples: ['performance'] }),
  version: Type.String({ description: 'A version listed by GET /neuroweaver/models.' }),
});
export const JobParams = Type.Object({
  id: Type.String({
    description: 'A job id, as POST /neuroweaver/train answers it (GET /neuroweaver/jobs lists them).',
  }),
});
export const ModelsQuery = Type.Object(
  { model: Type.Optional(Type.String({ examples: ['performance'] })) },
  { additionalProperties: false },
);
export const PromoteReply = Type.Object(
  { champion: VersionSchema, retired: Nullable(Type.String()) },
  { examples: [{ champion: EXAMPLE_VERSION, retired: 'v20261126-101500-91c0' }] },
);
