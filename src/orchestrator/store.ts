/** The incidents this instance has read from the anomalies topic: the latest record of each, bounded. */
import type { Anomaly, AnomalyKind, MetricContribution } from '../../schemas/index.ts';

export interface Incident {
  id: string;
  service: string;
  state: 'OPEN' | 'CLOSED';
  kind: AnomalyKind;
  metrics: string[];
  /** Highest score any of its records had. */
  peakScore: number;
  /** The metrics' values and expected ranges at that peak: what "recovered" means for this incident. */
  expected: MetricContribution[];
  /** The latest record. */
  latest: Anomaly;
  startedAt: number;
  endedAt: number | null;
  updatedAt: number;
  records: number;
}

export interface IncidentQuery {
  service?: string;
  /** Incidents active at some time in [from, to] (epoch ms). */
  from?: number;
  to?: number;
  minScore?: number;
  state?: 'open' | 'closed' | 'any';
  limit?: number;
}

export class AnomalyStore {
  private readonly incidents = new Map<string, Incident>();

  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  add(a: Anomaly): Incident {
    const prev = this.incidents.get(a.id);
    const inc: Incident = {
      id: a.id,
      service: a.service,
      state: a.state === 'CLOSED' || prev?.state === 'CLOSED' ? 'CLOSED' : 'OPEN',
      kind: a.state === 'CLOSED' && prev ? prev.kind : a.kind,
      metrics: a.state === 'CLOSED' && prev?.metrics.length ? prev.metrics : a.metrics,
      peakScore: Math.max(a.score, prev?.peakScore ?? 0),
      expected: prev && (prev.peakScore >= a.score || !a.contributions.length) ? prev.expected : a.contributions,
      latest: a,
      startedAt: a.startedAt,
      endedAt: a.endedAt ?? prev?.endedAt ?? null,
      updatedAt: Math.max(a.at, prev?.updatedAt ?? 0),
      records: (prev?.records ?? 0) + 1,
    };
    this.incidents.delete(a.id);
    this.incidents.set(a.id, inc);
    while (this.incidents.size > this.max) this.incidents.delete(this.incidents.keys().next().value as string);
    return inc;
  }

  get(id: string): Incident | undefined {
    return this.incidents.get(id);
  }

  get size(): number {
    return this.incidents.size;
  }

  query(q: IncidentQuery): Incident[] {
    const out: Incident[] = [];
    for (const inc of this.incidents.values()) {
      if (q.service !== undefined && inc.service !== q.service) continue;
      if (q.to !== undefined && inc.startedAt > q.to) continue;
      if (q.from !== undefined && (inc.endedAt ?? inc.updatedAt) < q.from && inc.state === 'CLOSED') continue;
      if (q.minScore !== undefined && inc.peakScore < q.minScore) continue;
      if (q.state === 'open' && inc.state !== 'OPEN') continue;
      if (q.state === 'closed' && inc.state !== 'CLOSED') continue;
      out.push(inc);
    }
    out.sort((a, b) => b.updatedAt - a.updatedAt);
    return out.slice(0, q.limit ?? 100);
  }

  openFor(service: string): Incident[] {
    return this.query({ service, state: 'open', limit: 20 });
  }
}
