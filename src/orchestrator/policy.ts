/**
 * The self-healing policy engine: maps conditions (an anomaly, a breaker transition, a
 * predicted failure, a changed scaling recommendation) to actions, with the reason naming the
 * incident. Pure: no I/O, a clock passed in. Every action's id is derived from its condition, so
 * the same condition (also after a restart or on another instance) yields the same id, and the
 * engine emits an id once. Each target gets at most `perTargetPerHour` actions an hour; beyond
 * that, one RATE_LIMITED record per target and hour says what was held back.
 */
import { createHash } from 'node:crypto';
import type { ActionCause, ActionKind, Anomaly, OrchestratorAction } from '../../schemas/index.ts';
import type { Driver } from './failure.ts';
import type { Recommendation } from './scaling.ts';

export interface EndpointRef {
  route: string;
  endpoint: string;
}

export interface PolicySettings {
  dryRun: boolean;
  anomalyScore: number;
  failureProbability: number;
  breakerOpenMs: number;
  perTargetPerHour: number;
  webhookConfigured: boolean;
  /** RelayCore endpoints that serve a service. */
  endpoints: ReadonlyMap<string, EndpointRef[]>;
  /** Breaker openings of one endpoint within `flapWindowMs` that count as flapping. */
  flapCount?: number;
  flapWindowMs?: number;
}

export type Condition =
  | { type: 'anomaly'; anomaly: Anomaly }
  | {
      type: 'breaker';
      route: string;
      endpoint: string;
      state: 'open' | 'half_open' | 'closed';
      eventId: string;
      at: number;
    }
  | { type: 'failure'; service: string; probability: number; horizonMs: number; drivers: Driver[]; at: number }
  | { type: 'scale'; recommendation: Recommendation };

/** Endpoint actions whose rollback is a restore of the endpoint. */
const ROLLED_BACK_BY_RESTORE = new Set<ActionKind>(['drain_endpoint', 'downweight_endpoint', 'open_breaker']);

const pick = (o: Record<string, string>, keys: string[]) =>
  Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]!]));

const HOUR = 3_600_000;
const SEEN_MAX = 50_000;
const TOUCHED_MAX = 10_000;

export const actionId = (kind: string, target: string, trigger: string): string =>
  `act-${createHash('sha256').update(`${kind}\u0000${target}\u0000${trigger}`).digest('hex').slice(0, 24)}`;

interface Draft {
  kind: ActionKind;
  target: string;
  trigger: string;
  reason: string;
  params: Record<string, string>;
}

export class PolicyEngine {
  private readonly seen = new Set<string>();
  private readonly history = new Map<string, number[]>();
  private readonly limitedHour = new Map<string, number>();
  /** Endpoints acted on per incident, to restore when it closes. */
  private readonly touched = new Map<string, EndpointRef[]>();
  private readonly breakerOpens = new Map<string, number[]>();

  private readonly settings: PolicySettings;

  constructor(settings: PolicySettings) {
    this.settings = settings;
  }

  /** Actions for a condition at time `now` (already deduplicated and rate-limited). */
  decide(condition: Condition, now: number): OrchestratorAction[] {
    const drafts = this.draft(condition, now);
    const out: OrchestratorAction[] = [];
    for (const d of drafts) {
      const action = this.admit(d, condition.type, now);
      if (action) out.push(action);
    }
    return out;
  }

  /**
   * Undoes a live endpoint action whose check found it ineffective: a restore of the endpoint,
   * admitted like any decision (once, and within the rate limit).
   */
  rollback(action: OrchestratorAction, why: string, now: number): OrchestratorAction | undefined {
    if (!ROLLED_BACK_BY_RESTORE.has(action.kind)) return undefined;
    return this.admit(
      {
        kind: 'restore_endpoint',
        target: action.target,
        trigger: `rollback:${action.id}`,
        reason: `roll back ${action.kind} ${action.id} on ${action.target}: ${why}`,
        params: { ...pick(action.params, ['route', 'endpoint', 'service']), rollbackOf: action.id },
      },
      'rollback',
      now,
    );
  }

  private draft(c: Condition, now: number): Draft[] {
    switch (c.type) {
      case 'anomaly':
        return this.onAnomaly(c.anomaly);
      case 'breaker':
        return this.onBreaker(c, now);
      case 'failure':
        return this.onFailure(c);
      case 'scale':
        return this.onScale(c.recommendation);
    }
  }

  private onAnomaly(a: Anomaly): Draft[] {
    const endpoints = this.settings.endpoints.get(a.service) ?? [];
    const incident = `incident ${a.id} (${a.kind} on ${a.service}, ${a.metrics.slice(0, 3).join(', ')}, score ${a.score.toFixed(2)})`;
    if (a.state === 'CLOSED') {
      const acted = this.touched.get(a.id) ?? [];
      this.touched.delete(a.id);
      return acted.map((e) =>
        endpointDraft('restore_endpoint', e, a.id, `${incident} closed: restore full traffic`, {}),
      );
    }
    if (a.score < this.settings.anomalyScore) return [];
    const drafts: Draft[] = [];
    const severe = a.score >= 0.9;
    for (const e of endpoints) {
      if (severe)
        drafts.push(
          endpointDraft('drain_endpoint', e, a.id, `${incident}: drain the endpoint serving ${a.service}`, {}),
        );
      else {
        const weight = Math.max(0.1, Math.min(0.9, Math.round((1 - a.score) * 10) / 10 + 0.2));
        drafts.push(
          endpointDraft('downweight_endpoint', e, a.id, `${incident}: shift traffic away from ${a.service}`, {
            weight: weight.toFixed(2),
          }),
        );
      }
    }
    if (endpoints.length) this.touch(a.id, endpoints);
    drafts.push(
      this.webhookDraft(a.service, a.id, `${incident}: ${a.explanation}`, {
        anomalyId: a.id,
        service: a.service,
        kind: a.kind,
        score: a.score.toFixed(3),
        state: a.state,
      }),
    );
    return drafts;
  }

  private onBreaker(c: Extract<Condition, { type: 'breaker' }>, now: number): Draft[] {
    const e = { route: c.route, endpoint: c.endpoint };
    const target = `${c.route}/${c.endpoint}`;
    if (c.state !== 'open') {
      if (c.state === 'closed' && this.touched.delete(`breaker:${target}`)) {
        return [
          endpointDraft(
            'restore_endpoint',
            e,
            c.eventId,
            `breaker of ${target} closed again (event ${c.eventId}): restore its weight`,
            {},
          ),
        ];
      }
      return [];
    }
    const window = this.settings.flapWindowMs ?? 15 * 60_000;
    const opens = (this.breakerOpens.get(target) ?? []).filter((t) => t > now - window);
    opens.push(c.at);
    this.breakerOpens.set(target, opens);
    const why = `breaker of ${target} opened (event ${c.eventId})`;
    if (opens.length >= (this.settings.flapCount ?? 3)) {
      this.touch(`breaker:${target}`, [e]);
      // One trigger per flapping episode: the first opening in the window names it.
      const episode = `${target}:flapping@${opens[0]}`;
      return [
        endpointDraft(
          'drain_endpoint',
          e,
          episode,
          `${why}, the ${opens.length}th time in ${Math.round(window / 60_000)} min: drain the flapping endpoint`,
          {},
        ),
        {
          kind: 'retrain',
          target: 'routing',
          trigger: episode,
          reason: `${why} repeatedly: the routing model no longer matches ${target}; retrain it`,
          params: { model: 'routing' },
        },
      ];
    }
    this.touch(`breaker:${target}`, [e]);
    return [
      endpointDraft('downweight_endpoint', e, c.eventId, `${why}: keep its weight low while it recovers`, {
        weight: '0.25',
      }),
    ];
  }

  private onFailure(c: Extract<Condition, { type: 'failure' }>): Draft[] {
    if (c.probability < this.settings.failureProbability) return [];
    // One trigger per service and horizon-long window: repeated predictions in it are the same condition.
    const trigger = `${c.service}:failure@${Math.floor(c.at / c.horizonMs) * c.horizonMs}`;
    const drivers = c.drivers.map((d) => `${d.feature}=${d.value.toFixed(2)}`).join(', ');
    const why = `predicted SLO breach of ${c.service} within ${Math.round(c.horizonMs / 60_000)} min (p=${c.probability.toFixed(2)}; drivers ${drivers})`;
    const drafts: Draft[] = (this.settings.endpoints.get(c.service) ?? []).map((e) =>
      endpointDraft('open_breaker', e, trigger, `${why}: open the breaker early`, {
        durationMs: String(this.settings.breakerOpenMs),
        service: c.service,
      }),
    );
    drafts.push(
      this.webhookDraft(c.service, trigger, why, {
        service: c.service,
        probability: c.probability.toFixed(3),
        drivers,
      }),
    );
    return drafts;
  }

  private onScale(r: Recommendation): Draft[] {
    if (r.currentReplicas !== null && r.desiredReplicas === r.currentReplicas) return [];
    const trigger = `${r.service}:scale@${r.desiredReplicas}@${r.since}`;
    const cost = `${r.costDeltaPerHour >= 0 ? '+' : ''}${r.costDeltaPerHour.toFixed(2)}/h`;
    return [
      {
        kind: 'scale',
        target: r.service,
        trigger,
        reason: `scale ${r.service} from ${r.currentReplicas ?? '?'} to ${r.desiredReplicas} replicas: ${r.reason} (cost ${cost})`,
        params: {
          service: r.service,
          currentReplicas: String(r.currentReplicas ?? ''),
          desiredReplicas: String(r.desiredReplicas),
          peakRps: r.peakRps.toFixed(2),
          costDeltaPerHour: r.costDeltaPerHour.toFixed(4),
          costDeltaPerMonth: r.costDeltaPerMonth.toFixed(2),
        },
      },
    ];
  }

  private webhookDraft(service: string, trigger: string, reason: string, params: Record<string, string>): Draft {
    return { kind: 'webhook', target: service, trigger, reason, params };
  }

  /** Dedupe, rate-limit and stamp a draft. */
  private admit(d: Draft, cause: ActionCause, now: number): OrchestratorAction | undefined {
    // A proposal-only decision is a different decision from a live one on the same condition.
    const id = actionId(d.kind, d.target, this.settings.dryRun ? `${d.trigger}\u0000dry-run` : d.trigger);
    if (this.seen.has(id)) return undefined;
    this.remember(id);
    const base = {
      id,
      kind: d.kind,
      target: d.target,
      reason: d.reason,
      trigger: d.trigger,
      dryRun: this.settings.dryRun,
      params: d.params,
      error: null,
      at: now,
      cause,
      executor: null,
      detail: null,
    };
    if (d.kind === 'webhook' && !this.settings.webhookConfigured)
      return { ...base, status: 'SKIPPED', error: 'no webhook configured (ORCH_WEBHOOK_URL)' };
    const recent = (this.history.get(d.target) ?? []).filter((t) => t > now - HOUR);
    if (recent.length >= this.settings.perTargetPerHour) {
      const hour = Math.floor(now / HOUR);
      if (this.limitedHour.get(d.target) === hour) return undefined;
      this.limitedHour.set(d.target, hour);
      return {
        ...base,
        status: 'RATE_LIMITED',
        error: `${d.target} already had ${recent.length} actions in the last hour (limit ${this.settings.perTargetPerHour})`,
      };
    }
    recent.push(now);
    this.history.set(d.target, recent);
    // Live or not, a decision starts PROPOSED: live ones (dryRun false) are carried out by their
    // executor, whose answer the orchestrator records as the next step (see lifecycle.ts).
    return { ...base, status: 'PROPOSED' };
  }

  /** Remembers what was acted on for a condition (bounded: a close that never comes must not leak). */
  private touch(key: string, endpoints: EndpointRef[]): void {
    this.touched.delete(key);
    this.touched.set(key, endpoints);
    if (this.touched.size > TOUCHED_MAX) this.touched.delete(this.touched.keys().next().value as string);
  }

  /** Whether an action concerns a service: aimed at it, or at one of its endpoints. */
  concerns(action: { target: string; params: Record<string, string> }, service: string): boolean {
    if (action.target === service || action.params.service === service) return true;
    return (this.settings.endpoints.get(service) ?? []).some((e) => `${e.route}/${e.endpoint}` === action.target);
  }

  /** Forgets decisions that could not be written, so the same condition, seen again, decides them again. */
  forget(ids: string[]): void {
    for (const id of ids) this.seen.delete(id);
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > SEEN_MAX) this.seen.delete(this.seen.values().next().value as string);
  }
}

function endpointDraft(
  kind: ActionKind,
  e: EndpointRef,
  trigger: string,
  reason: string,
  extra: Record<string, string>,
): Draft {
  return {
    kind,
    target: `${e.route}/${e.endpoint}`,
    trigger,
    reason,
    params: { route: e.route, endpoint: e.endpoint, ...extra },
  };
}
