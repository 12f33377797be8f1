import { describe, expect, it } from 'vitest';
import type { ActionResult, OrchestratorAction } from '../../../schemas/index.ts';
import { ActionLifecycle, type Effect } from '../../../src/orchestrator/lifecycle.ts';

const action = (over: Partial<OrchestratorAction> = {}): OrchestratorAction => ({
  id: 'act-1',
  kind: 'drain_endpoint',
  target: 'orders/e0',
  reason: 'incident x',
  trigger: 'inc-1',
  dryRun: false,
  status: 'PROPOSED',
  params: { route: 'orders', endpoint: 'e0' },
  error: null,
  at: 1000,
  cause: 'anomaly',
  executor: null,
  detail: null,
  ...over,
});

const answer = (over: Partial<ActionResult> = {}): ActionResult => ({
  actionId: 'act-1',
  kind: 'drain_endpoint',
  target: 'orders/e0',
  executor: 'relay',
  instance: 'host:1',
  status: 'EXECUTED',
  detail: 'orders/e0 drained: no new deliveries',
  data: {},
  at: 1500,
  ...over,
});

const settings = { answerTimeoutMs: 1000, retrainAnswerTimeoutMs: 60_000, verifyAfterMs: 5000 };
const recovered: Effect = { recovered: true, detail: 'cpu back' };
const notRecovered: Effect = { recovered: false, detail: 'cpu still high' };

describe('the action lifecycle', () => {
  it('goes PROPOSED → EXECUTED on the answer → VERIFIED once the window has passed and the check says so', () => {
    const l = new ActionLifecycle(settings);
    l.track(action(), 1000);
    expect(l.due(1999, () => recovered).steps).toEqual([]);
    const [executed] = l.onResult(answer(), 1500);
    expect(executed).toMatchObject({ status: 'EXECUTED', executor: 'relay', detail: answer().detail, at: 1500 });
    expect(l.onResult(answer({ instance: 'host:2' }), 1600)).toEqual([]);
    expect(l.due(6499, () => recovered).steps).toEqual([]);
    const checked: number[] = [];
    const due = l.due(6500, (_a, executedAt) => {
      checked.push(executedAt);
      return recovered;
    });
    expect(checked).toEqual([1500]);
    expect(due.steps).toEqual([expect.objectContaining({ id: 'act-1', status: 'VERIFIED', detail: 'cpu back' })]);
    expect(due.rollbacks).toEqual([]);
    expect(l.pending).toBe(0);
  });

  it('marks an ineffective action for rollback, unless the check could not tell', () => {
    const l = new ActionLifecycle(settings);
    l.track(action(), 1000);
    l.track(action({ id: 'act-2' }), 1000);
    l.onResult(answer(), 1500);
    l.onResult(answer({ actionId: 'act-2' }), 1500);
    const due = l.due(7000, (a) => (a.id === 'act-1' ? notRecovered : { ...notRecovered, rollback: false }));
    expect(due.steps.map((s) => s.status)).toEqual(['INEFFECTIVE', 'INEFFECTIVE']);
    expect(due.rollbacks).toEqual([{ action: expect.objectContaining({ id: 'act-1' }), why: 'cpu still high' }]);
  });

  it('records FAILED when the executor says so, or when nobody answers in time', () => {
    const l = new ActionLifecycle(settings);
    l.track(action(), 1000);
    l.track(action({ id: 'act-2' }), 1000);
    expect(l.onResult(answer({ status: 'FAILED', detail: 'no endpoint' }), 1200)).toEqual([
      expect.objectContaining({ status: 'FAILED', error: 'no endpoint' }),
    ]);
    const due = l.due(2000, () => recovered);
    expect(due.steps).toEqual([
      expect.objectContaining({ id: 'act-2', status: 'FAILED', error: 'no RelayCore answered within 1 s' }),
    ]);
  });

  it('follows only live proposals: dry runs, later steps and scaling advice are not sent to anyone', () => {
    const l = new ActionLifecycle(settings);
    l.track(action({ dryRun: true }), 0);
    l.track(action({ status: 'EXECUTED' }), 0);
    l.track(action({ kind: 'scale' }), 0);
    expect(l.pending).toBe(0);
  });

  it('verifies a retrain by the promotion gate’s verdict in its answer', () => {
    const l = new ActionLifecycle(settings);
    l.track(action({ kind: 'retrain', target: 'routing', cause: 'breaker' }), 0);
    l.track(action({ id: 'act-2', kind: 'retrain', target: 'routing', cause: 'breaker' }), 0);
    const data = (decision: string) => ({ version: 'v9', decision });
    expect(
      l.onResult(answer({ kind: 'retrain', executor: 'neuroweaver', data: data('CHAMPION') }), 10).map((s) => s.status),
    ).toEqual(['EXECUTED', 'VERIFIED']);
    expect(
      l
        .onResult(answer({ actionId: 'act-2', kind: 'retrain', executor: 'neuroweaver', data: data('REJECTED') }), 10)
        .map((s) => [s.status, s.detail]),
    ).toEqual([
      ['EXECUTED', answer().detail],
      ['INEFFECTIVE', 'the retrained version v9 did not beat the champion; the champion stays'],
    ]);
    // A retrain may take minutes: its answer is awaited for retrainAnswerTimeoutMs, not answerTimeoutMs.
    l.track(action({ id: 'act-3', kind: 'retrain' }), 0);
    expect(l.due(30_000, () => recovered).steps).toEqual([]);
  });
});
