/**
 * A digest of the ecosystem feed for `GET /api/v2/ecosystem/status`: the last status each
 * component reported (including components running in other processes), the last state of each
 * circuit breaker, and the most recent events. Rebuilt from the last hour of the topic at start.
 */
import type { EcosystemEvent } from '../../schemas/types.ts';
import type { Subscription, SubscriptionTarget } from './loop.ts';
import type { DataPiece } from './records.ts';

const RECENT = 50;

export interface ComponentReport {
  status: string;
  message: string;
  severity: string;
  at: number;
}

export interface BreakerReport {
  subject: string;
  state: string;
  message: string;
  at: number;
}

export class EcosystemTracker implements SubscriptionTarget {
  private readonly components = new Map<string, ComponentReport>();
  private readonly breakers = new Map<string, BreakerReport>();
  private readonly recent: EcosystemEvent[] = [];
  private readonly counts = { INFO: 0, WARNING: 0, CRITICAL: 0 };
  caughtUp = false;

  deliver(_sub: Subscription, pieces: readonly DataPiece[]): void {
    for (const { records } of pieces) for (const r of records) if (r.value) this.add(r.value as EcosystemEvent);
  }

  room(): Promise<void> {
    return Promise.resolve();
  }

  notify(message: Record<string, unknown>): void {
    if (
      message.type === 'caught_up' ||
      (message.type === 'subscribed' && (message.partitions as { live: boolean }[]).every((p) => p.live))
    )
      this.caughtUp = true;
  }

  add(e: EcosystemEvent): void {
    this.counts[e.severity]++;
    this.recent.push(e);
    if (this.recent.length > RECENT) this.recent.shift();
    if (e.kind === 'component_status') {
      const seen = this.components.get(e.component);
      if (!seen || seen.at <= e.at)
        this.components.set(e.component, {
          status: e.data.status ?? statusFrom(e),
          message: e.message,
          severity: e.severity,
          at: e.at,
        });
    }
    if (e.kind === 'breaker_state' && e.subject) {
      const seen = this.breakers.get(e.subject);
      if (!seen || seen.at <= e.at)
        this.breakers.set(e.subject, {
          subject: e.subject,
          state: e.data.state ?? e.data.to ?? e.message,
          message: e.message,
          at: e.at,
        });
    }
  }

  componentReports(): Map<string, ComponentReport> {
    return this.components;
  }

  breakerReports(): BreakerReport[] {
    return [...this.breakers.values()].sort((a, b) => a.subject.localeCompare(b.subject));
  }

  recentEvents(limit = 20): EcosystemEvent[] {
    return this.recent.slice(-limit).reverse();
  }

  severityCounts() {
    return { ...this.counts };
  }
}

function statusFrom(e: EcosystemEvent): string {
  if (/\bstopp(ed|ing)\b/i.test(e.message)) return 'stopped';
  if (e.severity === 'CRITICAL') return 'down';
  if (e.severity === 'WARNING') return 'degraded';
  return 'ok';
}
