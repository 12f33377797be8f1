/**
 * Applies the AI Orchestrator's executed actions on RelayCore endpoints. Every instance reads
 * `orchestrator.actions` whole (a group of its own), so a restarted instance rebuilds the same
 * drains and weights; actions read while catching up are applied silently, later ones are
 * announced on the ecosystem feed. The action id is the idempotency key.
 */
import { randomUUID } from 'node:crypto';
import type { OrchestratorAction } from '../../schemas/types.ts';
import type { EcosystemEventSpec } from '../app/events.ts';
import type { BatchConsumer, KafkaConnection } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import type { RelayEngine } from './engine.ts';

export const ACTION_KINDS = ['drain_endpoint', 'downweight_endpoint', 'open_breaker', 'restore_endpoint'] as const;

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
  private groupId = '';
  private live = false;

  private readonly kafka: KafkaConnection;
  private readonly engine: RelayEngine;
  private readonly log: Logger;
  private readonly publish: (e: EcosystemEventSpec) => void;

  constructor(kafka: KafkaConnection, engine: RelayEngine, log: Logger, publish: (e: EcosystemEventSpec) => void) {
    this.kafka = kafka;
    this.engine = engine;
    this.log = log;
    this.publish = publish;
  }

  async start(): Promise<void> {
    const topic = this.kafka.catalog.name('orchestrator.actions');
    const ends = await (await this.kafka.admin()).offsets(topic);
    const pending = new Map(ends.filter((e) => e.high !== e.low).map((e) => [e.partition, BigInt(e.high)]));
    this.live = pending.size === 0;
    this.groupId = `automatrix-relay-actions-${randomUUID()}`;
    this.consumer = this.kafka.consumer({ groupId: this.groupId, maxWaitTimeMs: 100 });
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

  /** Applies one action if it is an executed relay action not seen before; returns whether it did. */
  apply(action: OrchestratorAction): boolean {
    if (action.status !== 'EXECUTED' || !(ACTION_KINDS as readonly string[]).includes(action.kind)) return false;
    if (this.applied.has(action.id)) return false;
    const target = actionTarget(action);
    if (!target) {
      this.log.warn(
        { action: action.id, target: action.target },
        'orchestrator action names no route/endpoint; skipped',
      );
      return false;
    }
    const detail = this.carryOut(action, target.route, target.endpoint);
    if (detail === undefined) return false;
    this.applied.add(action.id);
    this.recent.push({ id: action.id, kind: action.kind, ...target, at: action.at, detail });
    if (this.recent.length > 50) this.recent.shift();
    this.log.info({ action: action.id, kind: action.kind, ...target }, `orchestrator action applied: ${detail}`);
    if (this.live) {
      this.publish({
        component: 'relay',
        kind: 'action_applied',
        severity: action.kind === 'restore_endpoint' ? 'INFO' : 'WARNING',
        subject: `${target.route}/${target.endpoint}`,
        message: `applied ${action.kind} on ${target.route}/${target.endpoint}: ${detail}`,
        data: {
          actionId: action.id,
          kind: action.kind,
          route: target.route,
          endpoint: target.endpoint,
          reason: action.reason,
        },
      });
    }
    return true;
  }

  private carryOut(action: OrchestratorAction, route: string, endpoint: string): string | undefined {
    const controls = this.engine.controlsOf(route, endpoint);
    const runtime = this.engine.endpoint(route, endpoint);
    controls.actions.push(action.id);
    if (controls.actions.length > 10) controls.actions.shift();
    switch (action.kind) {
      case 'drain_endpoint':
        controls.drained = true;
        return 'drained: no new deliveries';
      case 'downweight_endpoint': {
        const weight = Number(action.params.weight);
        if (!Number.isFinite(weight) || weight < 0 || weight > 1) {
          this.log.warn(
            { action: action.id, weight: action.params.weight },
            'downweight_endpoint needs params.weight from 0 to 1; skipped',
          );
          return undefined;
        }
        controls.weightFactor = weight;
        return `weight factor ${weight}`;
      }
      case 'open_breaker': {
        const duration = Number(action.params.durationMs);
        if (action.params.durationMs !== undefined && Number.isFinite(duration) && duration > 0) {
          controls.forcedOpenUntil = action.at + duration;
          if (controls.forcedOpenUntil <= Date.now()) return 'breaker open window already over';
        }
        runtime?.forceOpen(`orchestrator action ${action.id}`);
        return controls.forcedOpenUntil > Date.now()
          ? `breaker held open until ${new Date(controls.forcedOpenUntil).toISOString()}`
          : 'breaker opened (half-opens after the reset timeout)';
      }
      default:
        controls.drained = false;
        controls.weightFactor = 1;
        controls.forcedOpenUntil = 0;
        runtime?.close();
        return 'restored: undrained, full weight, breaker closed';
    }
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    if (this.groupId) await (await this.kafka.admin()).deleteGroup(this.groupId);
  }
}
