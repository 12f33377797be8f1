import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KafkaConnection } from '../../src/kafka/index.js';
import { logger } from '../../src/log/index.js';
import { QueueFullError, type JobManager, type JobSpec, type JobStatus } from '../../src/ml/jobs.js';
import { performanceKind } from '../../src/ml/kinds/performance.js';
import type { Predictor } from '../../src/ml/predictor.js';
import { Retrainer, type RetrainSettings } from '../../src/ml/retrain.js';

/** A stand-in for the job queue: records what would have been submitted. */
function fakeJobs(opts: { full?: boolean } = {}) {
  const submitted: JobSpec[] = [];
  let pending: JobStatus | undefined;
  const jobs = {
    submit(spec: JobSpec) {
      if (opts.full) throw new QueueFullError('full');
      submitted.push(spec);
      return { id: `job-${submitted.length}`, model: spec.model } as JobStatus;
    },
    pendingFor: () => pending,
  } as unknown as JobManager;
  return { jobs, submitted, setPending: (j: JobStatus | undefined) => (pending = j) };
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
  new Retrainer({ kafka: {} as KafkaConnection, jobs, predictor: {} as Predictor, kinds: [performanceKind], settings: s, log: logger('test') });

afterEach(() => vi.useRealTimers());

describe('retraining triggers', () => {
  it('replays the recent window with the default budget', () => {
    const { jobs, submitted } = fakeJobs();
    vi.useFakeTimers({ now: 10_000_000 });
    retrainer(jobs, settings()).trigger('performance', 'drift', 'because');
    expect(submitted).toEqual([expect.objectContaining({ model: 'performance', trigger: 'drift', reason: 'because', replay: { from: 10_000_000 - 3_600_000, to: 10_000_000 }, budget: { trials: 2, maxEpochs: 4, timeS: 60 } })]);
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
    expect(retrainer(jobs, settings({ cooldownMs: 0 })).trigger('performance', 'schedule', 'x')).toMatchObject({ id: 'running-1' });
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
    expect(submitted.map((s) => s.trigger)).toEqual(['schedule', 'schedule', 'schedule']);
    expect(submitted[0]!.reason).toBe('scheduled every 60 min');
  });
});
