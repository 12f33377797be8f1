import { afterEach, describe, expect, it, vi } from 'vitest';
import type {
  ActionResultInput,
  Evaluation,
  OrchestratorAction,
  RetrainReplyInput,
  RetrainRequest,
} from '../../schemas/index.ts';
import type { KafkaConnection } from '../../src/kafka/index.ts';
import { logger } from '../../src/log/index.ts';
import { type JobManager, type JobSpec, type JobStatus, QueueFullError } from '../../src/ml/jobs.ts';
import { performanceKind } from '../../src/ml/kinds/performance.ts';
import { routingKind } from '../../src/ml/kinds/routing.ts';
import type { Predictor } from '../../src/ml/predictor.ts';
import { retrainParams } from '../../src/ml/requests.ts';
import { Retrainer, type RetrainSettings } from '../../src/ml/retrain.ts';

const evaluation: Evaluation = { holdoutRows: 10, network: {}, linear: null, classic: null, champion: null };

/** A stand-in for the job queue: records what would have been submitted, and ends jobs on demand. */
function fakeJobs(opts: { full?: boolean } = {}) {
  const submitted: JobSpec[] = [];
  let pending: JobStatus | undefined;
  const finished: ((s: JobStatus) => void)[] = [];
  const jobs = {
    submit(spec: JobSpec) {
      if (opts.full) throw new QueueFullError('full');
      submitted.push(spec);
      return { id: spec.id ?? `job-${submitted.length}`, model: spec.model } as JobStatus;
    },
    get: (id: string) => submitted.find((s) => s.id === id) && ({ id } as JobStatus),
    pendingFor: () => pending,
    onFinished: (l: (s: JobStatus) => void) => finished.push(l),
  } as unknown as JobManager;
  const end = (status: Partial<JobStatus>) => {
    for (const l of finished) l(status as JobStatus);
  };
  return { jobs, submitted, end, setPending: (j: JobStatus | undefined) => (pending = j) };
}

/** Answers the retrainer would publish on retrain.replies and action.results. */
function fakeAnswers() {
  const replies: RetrainReplyInput[] = [];
  const results: ActionResultInput[] = [];
  return {
    replies,
    results,
    answers: { reply: (r: RetrainReplyInput) => replies.push(r), result: (r: ActionResultInput) => results.push(r) },
  };
}

const settings = (over: Partial<RetrainSettings> = {}): RetrainSettings => ({
  enabled: true,
  intervalMs: 0,
  windowMs: 3_600_000,
  cooldownMs: 60_000,
  driftThreshold: 1.5,
  driftWindow: 100,
  defaults: { budget: { trials: 2, maxEpochs: 4, timeS: 60 }, holdoutFraction: 0.2, holdout: 'newest' },
  ...over,
});

const retrainer = (jobs: JobManager, s: RetrainSettings, answers = fakeAnswers().answers) =>
  new Retrainer({
    kafka: {} as KafkaConnection,
    answers,
    jobs,
    predictor: {} as Predictor,
    kinds: [performanceKind, routingKind],
    settings: s,
    log: logger('test'),
  });

afterEach(() => vi.useRealTimers());

describe('retraining triggers', () => {
  it('replays the recent window with the default budget', () => {
    const { jobs, submitted } = fakeJobs();
    vi.useFakeTimers({ now: 10_000_000 });
    retrainer(jobs, settings()).trigger('performance', 'drift', 'because');
    expect(submitted).toEqual([
      expect.objectContaining({
        model: 'performance',
        trigger: 'drift',
        reason: 'because',
        replay: { from: 10_000_000 - 3_600_000, to: 10_000_000 },
        budget: { trials: 2, maxEpochs: 4, timeS: 60 },
      }),
    ]);
  });

  it('respects the cooldown per model, and lets a run through once it has passed', () => {
    const { jobs, submitted } = fakeJobs();
    vi.useFakeTimers({ now: 0 });
    const r = retrainer(jobs, settings());
    expect(r.trigger('performance', 'drift', 'one')).toBeDefined();
    vi.setSystemTime(59_999);
    expect(r.trigger('performance', 'regime_change', 'two')).toBeUndefined();
    vi.setSystemTime(60_000);
    expect(r.trigger('performance', 'orchestrator', 'three')).toBeDefined();
    expect(submitted.map((s) => s.reason)).toEqual(['one', 'three']);
  });

  it('does not pile up: a pending job of the model is returned instead', () => {
    const { jobs, submitted, setPending } = fakeJobs();
    setPending({ id: 'running-1' } as JobStatus);
    expect(retrainer(jobs, settings({ cooldownMs: 0 })).trigger('performance', 'schedule', 'x')).toMatchObject({
      id: 'running-1',
    });
    expect(submitted).toHaveLength(0);
  });

  it('queues nothing when training is disabled or the queue is full', () => {
    const disabled = fakeJobs();
    expect(retrainer(disabled.jobs, settings({ enabled: false })).trigger('performance', 'drift', 'x')).toBeUndefined();
    expect(disabled.submitted).toHaveLength(0);
    expect(retrainer(fakeJobs({ full: true }).jobs, settings()).trigger('performance', 'drift', 'x')).toBeUndefined();
  });

  it('runs on its schedule', () => {
    const { jobs, submitted } = fakeJobs();
    vi.useFakeTimers({ now: 0 });
    const r = retrainer(jobs, settings({ intervalMs: 3_600_000, cooldownMs: 0 }));
    r.startSchedule();
    vi.advanceTimersByTime(3 * 3_600_000);
    // Every model kind retrains on the schedule, the routing model included.
    expect(submitted.map((s) => `${s.model}:${s.trigger}`)).toEqual(
      Array.from({ length: 3 }, () => ['performance:schedule', 'routing:schedule']).flat(),
    );
    expect(submitted[0]!.reason).toBe('scheduled every 60 min');
  });
});

describe('explicit retraining requests', () => {
  const request = (over: Partial<RetrainRequest> = {}): RetrainRequest => ({
    id: 'req-1',
    model: 'routing',
    requestedBy: 'relaycore test',
    reason: 'optimize',
    from: 1000,
    to: 5000,
    deadline: Date.now() + 60_000,
    budget: { trials: null, maxEpochs: null, timeS: null },
    hyperparameters: null,
    holdout: null,
    at: Date.now(),
    ...over,
  });

  it('becomes a job with the request id, its window and budget, without the cooldown, and is answered QUEUED then FINISHED', () => {
    const { jobs, submitted, end } = fakeJobs();
    const { answers, replies } = fakeAnswers();
    const r = retrainer(jobs, settings({ cooldownMs: 3_600_000 }), answers);
    r.trigger('routing', 'drift', 'an automatic run first');
    const hp = {
      layers: 1,
      units: 8,
      learningRate: 0.01,
      batchSize: 64,
      l2: 0,
      dropout: 0,
      activation: 'relu' as const,
    };
    expect(
      r.answer(request({ budget: { trials: 1, maxEpochs: 5, timeS: null }, hyperparameters: hp, holdout: 'random' })),
    ).toMatchObject({ id: 'req-1' });
    expect(submitted[1]).toMatchObject({
      id: 'req-1',
      model: 'routing',
      trigger: 'request',
      replay: { from: 1000, to: 5000 },
      budget: { trials: 1, maxEpochs: 5, timeS: 60 },
      hyperparameters: hp,
      holdout: 'random',
      reason: 'requested by relaycore test: optimize',
    });
    expect(replies).toEqual([expect.objectContaining({ requestId: 'req-1', status: 'QUEUED', jobId: 'req-1' })]);
    end({
      id: 'req-1',
      model: 'routing',
      state: 'succeeded',
      result: { version: 'v1', status: 'REJECTED', decision: 'worse than the baseline', metrics: {}, evaluation },
    });
    expect(replies[1]).toMatchObject({ requestId: 'req-1', status: 'FINISHED', version: 'v1', decision: 'REJECTED' });
  });

  it('is answered once: a request read again after a rebalance is not a second job', () => {
    const { jobs, submitted } = fakeJobs();
    const r = retrainer(jobs, settings());
    r.answer(request());
    r.answer(request());
    expect(submitted).toHaveLength(1);
  });

  it('is refused with the reason when training is disabled, the model or a parameter is unknown, or the queue is full', () => {
    const refusals = (jobs: JobManager, s: RetrainSettings, ...requests: RetrainRequest[]) => {
      const { answers, replies } = fakeAnswers();
      for (const q of requests) retrainer(jobs, s, answers).answer(q);
      expect(replies.every((x) => x.status === 'REFUSED')).toBe(true);
      return replies.map((x) => x.message);
    };
    expect(refusals(fakeJobs().jobs, settings({ enabled: false }), request())).toEqual([
      expect.stringContaining('ENABLE_ML_TRAINING=false'),
    ]);
    expect(
      refusals(
        fakeJobs().jobs,
        settings(),
        request({ model: 'weather' }),
        request({ id: 'req-2', budget: { trials: 500, maxEpochs: null, timeS: null } }),
        request({
          id: 'req-3',
          hyperparameters: {
            layers: 1,
            units: 0,
            learningRate: 0.1,
            batchSize: 8,
            l2: 0,
            dropout: 0,
            activation: 'relu',
          },
        }),
        request({ id: 'req-4', from: 5, to: 1 }),
      ),
    ).toEqual([
      expect.stringContaining('weather is not a model kind'),
      'budget.trials must be from 1 to 64, got 500',
      expect.stringMatching(/^hyperparameters\.units/),
      'to (1) is before from (5)',
    ]);
    expect(refusals(fakeJobs({ full: true }).jobs, settings(), request())).toEqual(['full']);
  });

  it('is ignored once its deadline has passed: the requester no longer waits', () => {
    const { jobs, submitted } = fakeJobs();
    const { answers, replies } = fakeAnswers();
    expect(retrainer(jobs, settings(), answers).answer(request({ deadline: Date.now() - 1 }))).toBeUndefined();
    expect(submitted).toHaveLength(0);
    expect(replies).toHaveLength(0);
  });

  it('turns the typed request into the job parameters, the budget left to the defaults where null', () => {
    expect(retrainParams(request({ budget: { trials: null, maxEpochs: null, timeS: 30 } }))).toEqual({
      from: 1000,
      to: 5000,
      budget: { timeS: 30 },
    });
  });
});

describe('orchestrator retrain actions', () => {
  const action = (over: Partial<OrchestratorAction> = {}): OrchestratorAction => ({
    id: 'act-1',
    kind: 'retrain',
    target: 'routing',
    reason: 'the breaker flaps',
    trigger: 'x',
    dryRun: false,
    status: 'PROPOSED',
    params: { model: 'routing' },
    error: null,
    at: Date.now(),
    cause: 'breaker',
    executor: null,
    detail: null,
    ...over,
  });

  it('carries out a live one and answers when its job ends, with the version and the gate decision', () => {
    const { jobs, submitted, end } = fakeJobs();
    const { answers, results } = fakeAnswers();
    const r = retrainer(jobs, settings(), answers);
    const job = r.execute(action());
    expect(submitted[0]).toMatchObject({ model: 'routing', trigger: 'orchestrator' });
    expect(results).toHaveLength(0);
    end({
      id: job!.id,
      model: 'routing',
      state: 'succeeded',
      result: { version: 'v2', status: 'CHAMPION', decision: 'beats the champion', metrics: {}, evaluation },
    });
    expect(results).toEqual([
      expect.objectContaining({
        actionId: 'act-1',
        executor: 'neuroweaver',
        status: 'EXECUTED',
        data: expect.objectContaining({ version: 'v2', decision: 'CHAMPION' }),
      }),
    ]);
  });

  it('ignores proposals, dry runs and other kinds; answers FAILED when no job can start', () => {
    const { jobs, submitted } = fakeJobs();
    const { answers, results } = fakeAnswers();
    const r = retrainer(jobs, settings({ cooldownMs: 3_600_000 }), answers);
    r.execute(action({ dryRun: true }));
    r.execute(action({ status: 'EXECUTED' }));
    r.execute(action({ kind: 'scale' }));
    expect(submitted).toHaveLength(0);
    r.execute(action({ id: 'a' }));
    r.execute(action({ id: 'b', params: { model: 'weather' } }));
    r.execute(action({ id: 'c' })); // the same model within its cooldown, and no job pending
    expect(submitted).toHaveLength(1);
    expect(results.map((x) => [x.actionId, x.status])).toEqual([
      ['b', 'FAILED'],
      ['c', 'FAILED'],
    ]);
  });
});
