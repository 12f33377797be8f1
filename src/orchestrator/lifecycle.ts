/**
 * The closed loop of a live action, without Kafka: PROPOSED (sent to its executor) → EXECUTED or
 * FAILED (from the executor's answer on action.results, or FAILED when none comes in time) →
 * VERIFIED or INEFFECTIVE (its effect checked after a window) → a rollback when an ineffective
 * action has one. Each step is a new record of the same action id; the runner writes them to
 * orchestrator.actions. Pure: a clock is passed in, and the check of an effect is a function.
 */
import type { ActionResult, OrchestratorAction } from '../../schemas/index.ts';

export interface LifecycleSettings {
  /** How long an executor has to answer an endpoint or webhook action. */
  answerTimeoutMs: number;
  /** How long NeuroWeaver has to answer a retrain action (it answers when the job ends). */
  retrainAnswerTimeoutMs: number;
  /** How long after its execution an action's effect is checked. */
  verifyAfterMs: number;
}

/** What the check of an action's effect found. `rollback: false` when it could not tell (no data). */
export interface Effect {
  recovered: boolean;
  detail: string;
  rollback?: boolean;
}

export type EffectCheck = (action: OrchestratorAction, executedAt: number) => Effect;

interface Tracked {
  action: OrchestratorAction;
  /** Until when an answer is awaited, or when the effect is due to be checked. */
  due: number;
  executedAt?: number;
}

export interface DueSteps {
  /** New records of tracked actions (FAILED for no answer, VERIFIED, INEFFECTIVE). */
  steps: OrchestratorAction[];
  /** Ineffective actions to roll back, with why. */
  rollbacks: { action: OrchestratorAction; why: string }[];
}

const MAX_TRACKED = 10_000;

export class ActionLifecycle {
  private readonly tracked = new Map<string, Tracked>();

  private readonly settings: LifecycleSettings;

  constructor(settings: LifecycleSettings) {
    this.settings = settings;
  }

  /** Starts following a decision that an executor will carry out (live and PROPOSED; scale is advice only). */
  track(action: OrchestratorAction, now: number): void {
    if (action.dryRun || action.status !== 'PROPOSED' || action.kind === 'scale') return;
    const wait = action.kind === 'retrain' ? this.settings.retrainAnswerTimeoutMs : this.settings.answerTimeoutMs;
    this.tracked.set(action.id, { action, due: now + wait });
    if (this.tracked.size > MAX_TRACKED) this.tracked.delete(this.tracked.keys().next().value as string);
  }

  get pending(): number {
    return this.tracked.size;
  }

  /**
   * An executor's answer: the EXECUTED or FAILED step of a tracked action awaiting one. Later answers
   * (another RelayCore instance, a duplicate) change nothing. A retrain is verified by its answer
   * (the promotion gate compared the new model with the champion on one holdout), so its check step
   * comes with it.
   */
  onResult(result: ActionResult, now: number): OrchestratorAction[] {
    const t = this.tracked.get(result.actionId);
    if (!t || t.executedAt !== undefined) return [];
    const answered = step(t.action, result.status, now, result.detail, result.executor);
    if (result.status === 'FAILED') {
      this.tracked.delete(result.actionId);
      return [answered];
    }
    if (t.action.kind === 'retrain' || t.action.kind === 'restore_endpoint') {
      this.tracked.delete(result.actionId);
      const [status, detail] = immediateCheck(t.action, result);
      return [answered, step(t.action, status, now + 1, detail, null)];
    }
    t.executedAt = now;
    t.due = now + this.settings.verifyAfterMs;
    return [answered];
  }

  /** The steps due at `now`: FAILED for actions nobody answered in time, checks of effects whose window has passed. */
  due(now: number, check: EffectCheck): DueSteps {
    const out: DueSteps = { steps: [], rollbacks: [] };
    for (const [id, t] of this.tracked) {
      if (t.due > now) continue;
      this.tracked.delete(id);
      if (t.executedAt === undefined) {
        const wait = Math.round((now - t.action.at) / 1000);
        out.steps.push(step(t.action, 'FAILED', now, `no ${executorOf(t.action)} answered within ${wait} s`, null));
        continue;
      }
      const effect = check(t.action, t.executedAt);
      out.steps.push(step(t.action, effect.recovered ? 'VERIFIED' : 'INEFFECTIVE', now, effect.detail, null));
      if (!effect.recovered && effect.rollback !== false) out.rollbacks.push({ action: t.action, why: effect.detail });
    }
    return out;
  }
}

function immediateCheck(action: OrchestratorAction, result: ActionResult): ['VERIFIED' | 'INEFFECTIVE', string] {
  if (action.kind === 'restore_endpoint') return ['VERIFIED', 'the endpoint is back in full service'];
  const version = result.data.version ?? '?';
  return result.data.decision === 'CHAMPION'
    ? ['VERIFIED', `new champion ${version}: it beat the previous one on the same holdout`]
    : ['INEFFECTIVE', `the retrained version ${version} did not beat the champion; the champion stays`];
}

const executorOf = (a: OrchestratorAction) =>
  a.kind === 'retrain' ? 'NeuroWeaver' : a.kind === 'webhook' ? 'webhook' : 'RelayCore';

function step(
  action: OrchestratorAction,
  status: OrchestratorAction['status'],
  at: number,
  detail: string,
  executor: OrchestratorAction['executor'],
): OrchestratorAction {
  return {
    ...action,
    status,
    at,
    detail,
    executor,
    error: status === 'FAILED' ? detail : null,
  };
}
