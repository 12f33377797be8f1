/**
 * RelayCore as the executor of the AI Orchestrator's endpoint actions. Every instance reads
 * `orchestrator.actions` whole (a group of its own) and carries out each live PROPOSED action of
 * an endpoint kind, so a restarted instance rebuilds the same drains and weights; actions read
 * while catching up are applied silently, later ones are announced on the ecosystem feed. Each
 * instance answers on action.results (EXECUTED with what it did, or FAILED with why not); while
 * catching up it answers only actions recent enough for the orchestrator to still be waiting.
 * The action id is the idempotency key.
 */
import { hostname } from 'node:os';
import type { ActionKind, OrchestratorAction } from '../../schemas/index.ts';
import type { EcosystemEventSpec } from '../app/events.ts';
import { type BatchConsumer, type KafkaConnection, TopicSink } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import type { RelayLoop } from './loop.ts';

/** The action kinds RelayCore executes. */
export const ACTION_KINDS = [
  'drain_endpoint',
  'downweight_endpoint',
  'open_breaker',
  'restore_endpoint',
] as const satisfies readonly ActionKind[];

/** While catching up, actions older than this are applied without an answer: nobody waits for it any more. */
const ANSWER_WINDOW_MS = 15 * 60_000;

export interface AppliedAction {
  id: string;
  kind: string;
  route: string;
  endpoint: string;
  at: number;
  detail: string;
}

/** Route and endpoint named by an action: params.route/params.endpoint, else target `<route>/<endpoint>`. */
export function actionTarget(
  a: Pick<OrchestratorAction, 'target' | 'params'>,
): { route: string; endpoint: string } | undefined {
  const route = a.params.route;
  const endpoint = a.params.endpoint;
  if (route && endpoint) return { route, endpoint };
  const slash = a.target.indexOf('/');
  if (slash <= 0 || slash === a.target.length - 1) return undefined;
  return { route: a.target.slice(0, slash), endpoint: a.target.slice(slash + 1) };
}

export class ActionApplier {
  private readonly applied = new Set<string>();
  readonly recent: AppliedAction[] = [];
  private consumer?: BatchConsumer;
  private live = false;
  private readonly results: TopicSink<'action.results'>;
  private readonly instance = `${hostname()}:${process.pid}`;

  private readonly kafka: KafkaConnection;
  private readonly loop: RelayLoop;
  private readonly log: Logger;
  private readonly publish: (e: EcosystemEventSpec) => void;

  constructor(kafka: KafkaConnection, loop: RelayLoop, log: Logger, publish: (e: EcosystemEventSpec) => void) {
    this.kafka = kafka;
    this.loop = loop;
    this.log = log;
    this.publish = publish;
    this.results = new TopicSink(kafka, 'action.results', log);
  }

  async start(): Promise<void> {
    const topic = this.kafka.catalog.name('orchestrator.actions');
    const ends = await (await this.kafka.admin()).offsets(topic);
    const pending = new Map(ends.filter((e) => e.high !== e.low).map((e) => [e.partition, BigInt(e.high)]));
    this.live = pending.size === 0;
    this.consumer = this.kafka.privateConsumer('relay-actions', { maxWaitTimeMs: 100 });
    await this.consumer.subscribe([topic], { fromBeginning: true });
    await this.consumer.run(async (batch) => {
      for (const record of batch.records) {
        try {
          const { value } = await this.kafka.serde.decode('orchestrator.actions', record.value);
          this.apply(value as OrchestratorAction);
        } catch (err) {
          this.log.warn(
            { offset: record.offset, err: (err as Error).message },
            'skipping an undecodable orchestrator action',
          );
        }
      }
      const end = pending.get(batch.partition);
      const last = batch.records.at(-1);
      if (end !== undefined && last && BigInt(last.offset) + 1n >= end) {
        pending.delete(batch.partition);
        if (!pending.size) this.live = true;
      }
    });
  }

  /** Carries out one live relay action not seen before and answers it; returns whether it applied it. */
  apply(action: OrchestratorAction): boolean {
    if (action.status !== 'PROPOSED' || action.dryRun) return false;
    if (!(ACTION_KINDS as readonly string[]).includes(action.kind) || this.applied.has(action.id)) return false;
    this.applied.add(action.id);
    const target = actionTarget(action);
    const outcome = target
      ? this.carryOut(action, target.route, target.endpoint)
      : { failed: `names no route/endpoint (target "${action.target}")` };
    if ('failed' in outcome) {
      this.log.warn({ action: action.id, kind: action.kind }, `orchestrator action not carried out: ${outcome.failed}`);
      this.answer(action, 'FAILED', outcome.failed);
      return false;
    }
    const { route, endpoint } = target!;
    const detail = outcome.done;
    this.recent.push({ id: action.id, kind: action.kind, route, endpoint, at: action.at, detail });
    if (this.recent.length > 50) this.recent.shift();
    this.log.info({ action: action.id, kind: action.kind, route, endpoint }, `orchestrator action applied: ${detail}`);
    this.answer(action, 'EXECUTED', `${route}/${endpoint} ${detail}`);
    if (this.live) {
      this.publish({
        component: 'relay',
        kind: 'action_applied',
        severity: action.kind === 'restore_endpoint' ? 'INFO' : 'WARNING',
        subject: `${route}/${endpoint}`,
        message: `applied ${action.kind} on ${route}/${endpoint}: ${detail}`,
        data: { actionId: action.id, kind: action.kind, route, endpoint, reason: action.reason },
      });
    }
    return true;
  }

  private answer(action: OrchestratorAction, status: 'EXECUTED' | 'FAILED', detail: string): void {
    if (!this.live && action.at < Date.now() - ANSWER_WINDOW_MS) return;
    this.results.push({
      key: action.id,
      value: {
        actionId: action.id,
        kind: action.kind,
        target: action.target,
        executor: 'relay',
        instance: this.instance,
        status,
        detail,
        at: Date.now(),
      },
    });
  }

  private carryOut(action: OrchestratorAction, route: string, endpoint: string): { done: string } | { failed: string } {
    const runtime = this.loop.endpoint(route, endpoint);
    if (!runtime) return { failed: `no endpoint ${route}/${endpoint} on this RelayCore` };
    const controls = this.loop.controlsOf(route, endpoint);
    controls.actions.push(action.id);
    if (controls.actions.length > 10) controls.actions.shift();
    switch (action.kind) {
      case 'drain_endpoint':
        controls.drained = true;
        return { done: 'drained: no new deliveries' };
      case 'downweight_endpoint': {
        const weight = Number(action.params.weight);
        if (!Number.isFinite(weight) || weight < 0 || weight > 1)
          return { failed: `downweight_endpoint needs params.weight from 0 to 1, got "${action.params.weight}"` };
        controls.weightFactor = weight;
        return { done: `weight factor ${weight}` };
      }
      case 'open_breaker': {
        const duration = Number(action.params.durationMs);
        if (action.params.durationMs !== undefined && Number.isFinite(duration) && duration > 0) {
          controls.forcedOpenUntil = action.at + duration;
          if (controls.forcedOpenUntil <= Date.now()) return { done: 'breaker open window already over' };
        }
        runtime.forceOpen(`orchestrator action ${action.id}`);
        return {
          done:
            controls.forcedOpenUntil > Date.now()
              ? `breaker held open until ${new Date(controls.forcedOpenUntil).toISOString()}`
              : 'breaker opened (half-opens after the reset timeout)',
        };
      }
      default:
        controls.drained = false;
        controls.weightFactor = 1;
        controls.forcedOpenUntil = 0;
        runtime.close();
        return { done: 'restored: undrained, full weight, breaker closed' };
    }
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    await this.results.flush();
  }
}
