import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KafkaConnection } from '../../src/kafka/index.ts';
import { logger } from '../../src/log/index.ts';
import { type JobManager, type JobSpec, type JobStatus, QueueFullError } from '../../src/ml/jobs.ts';
import { performanceKind } from '../../src/ml/kinds/performance.ts';
import { routingKind } from '../../src/ml/kinds/routing.ts';
import type { Predictor } from '../../src/ml/predictor.ts';
import { parseRetrainParams, retrainAction } from '../../src/ml/requests.ts';
import { Retrainer, type RetrainSettings } from '../../src/ml/retrain.ts';

/** A stand-in for the job queue: records what would have been submitted. */
function fakeJobs(opts: { full?: boolean } = {}) {
  const submitted: JobSpec[] = [];
  const refused: { id: string; model: string; reason: string }[] = [];
  let pending: JobStatus | undefined;
  const jobs = {
    submit(spec: JobSpec) {
      if (opts.full) throw new QueueFullError('full');
      submitted.push(spec);
      return { id: spec.id ?? `job-${submitted.length}`, model: spec.model } as JobStatus;
    },
    get: (id: string) => submitted.find((s) => s.id === id) && ({ id } as JobStatus),
    refuse: (id: string, model: string, reason: string) => refused.push({ id, model, reason }),
    pendingFor: () => pending,
  } as unknown as JobManager;
  return { jobs, submitted, refused, setPending: (j: JobStatus | undefined) => (pending = j) };
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

const retrainer = (jobs: JobManager, s: RetrainSettings) =>
  new Retrainer({
    kafka: {} as KafkaConnection,
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
  const request = (over: Partial<Parameters<typeof retrainAction>[0]> = {}) =>
    retrainAction({
      id: 'req-1',
      model: 'routing',
      requestedBy: 'relaycore test',
      reason: 'optimize',
      from: 1000,
      to: 5000,
      deadline: Date.now() + 60_000,
      ...over,
    });

  it('becomes a job with the request id, its window and budget, without the cooldown', () => {
    const { jobs, submitted } = fakeJobs();
    const r = retrainer(jobs, settings({ cooldownMs: 3_600_000 }));
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
      r.answer(request({ budget: { trials: 1, maxEpochs: 5 }, hyperparameters: hp, holdout: 'random' })),
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
  });

  it('is answered once: a request read again after a rebalance is not a second job', () => {
    const { jobs, submitted } = fakeJobs();
    const r = retrainer(jobs, settings());
    r.answer(request());
    r.answer(request());
    expect(submitted).toHaveLength(1);
  });

  it('is refused with the reason when training is disabled, the model or a parameter is unknown, or the queue is full', () => {
    const disabled = fakeJobs();
    retrainer(disabled.jobs, settings({ enabled: false })).answer(request());
    expect(disabled.refused).toEqual([
      { id: 'req-1', model: 'routing', reason: expect.stringContaining('ENABLE_ML_TRAINING=false') },
    ]);
    const other = fakeJobs();
    retrainer(other.jobs, settings()).answer(request({ model: 'weather' }));
    retrainer(other.jobs, settings()).answer({
      ...request({ id: 'req-2' }),
      params: { ...request().params, trials: 'many' },
    });
    retrainer(other.jobs, settings()).answer({
      ...request({ id: 'req-3' }),
      params: { ...request().params, hyperparameters: '{"layers":1}' },
    });
    expect(other.refused.map((x) => x.reason)).toEqual([
      expect.stringContaining('weather is not a model kind'),
      'params.trials must be an integer from 1 to 64, got "many"',
      expect.stringMatching(/^params\.hyperparameters/),
    ]);
    const full = fakeJobs({ full: true });
    retrainer(full.jobs, settings()).answer(request());
    expect(full.refused.map((x) => x.reason)).toEqual(['full']);
  });

  it('is ignored once its deadline has passed: the requester no longer waits', () => {
    const { jobs, submitted, refused } = fakeJobs();
    expect(retrainer(jobs, settings()).answer(request({ deadline: Date.now() - 1 }))).toBeUndefined();
    expect(submitted).toHaveLength(0);
    expect(refused).toHaveLength(0);
  });

  it('round-trips through the action record', () => {
    const action = request({ budget: { timeS: 30 } });
    expect(action).toMatchObject({
      kind: 'retrain',
      status: 'EXECUTED',
      dryRun: false,
      target: 'routing',
      params: { model: 'routing', requestedBy: 'relaycore test', timeS: '30' },
    });
    expect(parseRetrainParams(action.params, { from: 0, to: 0 })).toEqual({
      from: 1000,
      to: 5000,
      budget: { timeS: 30 },
      holdout: undefined,
      hyperparameters: undefined,
    });
    expect(() => parseRetrainParams({ holdout: 'oldest' }, { from: 0, to: 0 })).toThrow(
      'params.holdout must be newest or random, got "oldest"',
    );
    expect(() => parseRetrainParams({ from: '5', to: '1' }, { from: 0, to: 0 })).toThrow(
      'params.to (1) is before params.from (5)',
    );
  });
});
