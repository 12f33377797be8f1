/**
 * Delivery performance per route and endpoint over recent windows, from the `delivery.outcomes`
 * topic that RelayCore writes. Kept as 10-second buckets of counts and log-scale latency
 * histograms (a fixed-size digest, not a copy of the records); at start the last hour is replayed
 * from Kafka, then the topic is followed live.
 */
import type { DeliveryOutcome, DeliveryStatus } from '../../schemas/types.ts';
import type { Subscription, SubscriptionTarget } from './loop.ts';
import type { DataPiece } from './records.ts';

export const WINDOWS = { '1m': 60, '5m': 300, '15m': 900, '1h': 3600 } as const;
export type WindowName = keyof typeof WINDOWS;

const BUCKET_MS = 10_000;
const KEEP_MS = 3_600_000 + BUCKET_MS;
/** Latency histogram bucket i holds values up to GROWTH^i ms: percentiles are within 5%. */
const GROWTH = 1.05;
const LOG_GROWTH = Math.log(GROWTH);
/** Route/endpoint pairs tracked per bucket at most; more are counted under `(other)`. */
const MAX_PAIRS = 5000;
/** Attempts that called the endpoint (REJECTED and SHED did not, so they have no latency). */
const CALLED = new Set<DeliveryStatus>(['DELIVERED', 'FAILED', 'TIMEOUT']);

class Counts {
  attempts = 0;
  delivered = 0;
  failed = 0;
  timeouts = 0;
  rejected = 0;
  shed = 0;
  latencySum = 0;
  latencyCount = 0;
  latencyMax = 0;
  lastAt = 0;
  lastStatus: DeliveryStatus | null = null;
  readonly histogram = new Map<number, number>();

  add(o: DeliveryOutcome): void {
    this.attempts++;
    if (o.status === 'DELIVERED') this.delivered++;
    else if (o.status === 'FAILED') this.failed++;
    else if (o.status === 'TIMEOUT') this.timeouts++;
    else if (o.status === 'REJECTED') this.rejected++;
    else this.shed++;
    if (o.decidedAt >= this.lastAt) {
      this.lastAt = o.decidedAt;
      this.lastStatus = o.status;
    }
    if (!CALLED.has(o.status) || !Number.isFinite(o.latencyMs) || o.latencyMs < 0) return;
    this.latencySum += o.latencyMs;
    this.latencyCount++;
    this.latencyMax = Math.max(this.latencyMax, o.latencyMs);
    const i = o.latencyMs <= 1 ? 0 : Math.ceil(Math.log(o.latencyMs) / LOG_GROWTH);
    this.histogram.set(i, (this.histogram.get(i) ?? 0) + 1);
  }

  merge(other: Counts): void {
    this.attempts += other.attempts;
    this.delivered += other.delivered;
    this.failed += other.failed;
    this.timeouts += other.timeouts;
    this.rejected += other.rejected;
    this.shed += other.shed;
    this.latencySum += other.latencySum;
    this.latencyCount += other.latencyCount;
    this.latencyMax = Math.max(this.latencyMax, other.latencyMax);
    if (other.lastAt >= this.lastAt) {
      this.lastAt = other.lastAt;
      this.lastStatus = other.lastStatus;
    }
    for (const [i, n] of other.histogram) this.histogram.set(i, (this.histogram.get(i) ?? 0) + n);
  }

  percentile(p: number): number | null {
    if (!this.latencyCount) return null;
    const rank = Math.ceil((p / 100) * this.latencyCount);
    let seen = 0;
    for (const i of [...this.histogram.keys()].sort((a, b) => a - b)) {
      seen += this.histogram.get(i)!;
      if (seen >= rank) return Math.min(round(GROWTH ** i), round(this.latencyMax));
    }
    return round(this.latencyMax);
  }

  summary(seconds: number): PerformanceStats {
    return {
      attempts: this.attempts,
      delivered: this.delivered,
      failed: this.failed,
      timeouts: this.timeouts,
      rejected: this.rejected,
      shed: this.shed,
      successRate: this.attempts ? round(this.delivered / this.attempts, 4) : null,
      throughputPerS: round(this.attempts / seconds, 3),
      latencyMs: {
        p50: this.percentile(50),
        p90: this.percentile(90),
        p99: this.percentile(99),
        max: this.latencyCount ? round(this.latencyMax) : null,
        mean: this.latencyCount ? round(this.latencySum / this.latencyCount) : null,
      },
      lastStatus: this.lastStatus,
      lastAt: this.lastAt || null,
    };
  }
}

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

export interface PerformanceStats {
  attempts: number;
  delivered: number;
  failed: number;
  timeouts: number;
  rejected: number;
  shed: number;
  /** Delivered attempts over all attempts; null without attempts. */
  successRate: number | null;
  throughputPerS: number;
  latencyMs: { p50: number | null; p90: number | null; p99: number | null; max: number | null; mean: number | null };
  lastStatus: DeliveryStatus | null;
  lastAt: number | null;
}

export interface WindowReport {
  window: WindowName;
  seconds: number;
  from: number;
  to: number;
  total: PerformanceStats;
  routes: (PerformanceStats & { route: string; endpoints: (PerformanceStats & { endpoint: string })[] })[];
}

export interface TimelinePoint {
  at: number;
  attempts: number;
  delivered: number;
  successRate: number | null;
  p99LatencyMs: number | null;
}

export class PerformanceAnalytics implements SubscriptionTarget {
  /** bucket start → `route\u0000endpoint` → counts */
  private readonly buckets = new Map<number, Map<string, Counts>>();
  records = 0;
  caughtUp = false;

  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  deliver(_sub: Subscription, pieces: readonly DataPiece[]): void {
    for (const { records } of pieces) for (const r of records) if (r.value) this.add(r.value as DeliveryOutcome);
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

  add(o: DeliveryOutcome): void {
    const now = this.now();
    if (o.decidedAt < now - KEEP_MS || o.decidedAt > now + 60_000) return;
    this.records++;
    const start = Math.floor(o.decidedAt / BUCKET_MS) * BUCKET_MS;
    let bucket = this.buckets.get(start);
    if (!bucket) {
      this.buckets.set(start, (bucket = new Map()));
      this.evict(now);
    }
    let pair = `${o.route}\u0000${o.endpoint}`;
    if (!bucket.has(pair) && bucket.size >= MAX_PAIRS) pair = '(other)\u0000(other)';
    let counts = bucket.get(pair);
    if (!counts) bucket.set(pair, (counts = new Counts()));
    counts.add(o);
  }

  private evict(now: number): void {
    for (const start of this.buckets.keys()) if (start < now - KEEP_MS) this.buckets.delete(start);
  }

  report(window: WindowName, route?: string): WindowReport {
    const seconds = WINDOWS[window];
    const to = this.now();
    const from = to - seconds * 1000;
    const total = new Counts();
    const routes = new Map<string, { counts: Counts; endpoints: Map<string, Counts> }>();
    for (const [start, bucket] of this.buckets) {
      if (start + BUCKET_MS <= from) continue;
      for (const [pair, counts] of bucket) {
        const [r, endpoint] = pair.split('\u0000') as [string, string];
        if (route !== undefined && r !== route) continue;
        total.merge(counts);
        let entry = routes.get(r);
        if (!entry) routes.set(r, (entry = { counts: new Counts(), endpoints: new Map() }));
        entry.counts.merge(counts);
        let ep = entry.endpoints.get(endpoint);
        if (!ep) entry.endpoints.set(endpoint, (ep = new Counts()));
        ep.merge(counts);
      }
    }
    return {
      window,
      seconds,
      from,
      to,
      total: total.summary(seconds),
      routes: [...routes]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, e]) => ({
          route: name,
          ...e.counts.summary(seconds),
          endpoints: [...e.endpoints]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([id, c]) => ({ endpoint: id, ...c.summary(seconds) })),
        })),
    };
  }

  /** Per 10-second bucket over the last `seconds`, oldest first: what the dashboard charts. */
  timeline(seconds: number, route?: string): TimelinePoint[] {
    const now = this.now();
    const first = Math.floor((now - seconds * 1000) / BUCKET_MS) * BUCKET_MS;
    const points: TimelinePoint[] = [];
    for (let start = first; start <= now; start += BUCKET_MS) {
      const c = new Counts();
      for (const [pair, counts] of this.buckets.get(start) ?? [])
        if (route === undefined || pair.startsWith(`${route}\u0000`)) c.merge(counts);
      points.push({
        at: start,
        attempts: c.attempts,
        delivered: c.delivered,
        successRate: c.attempts ? round(c.delivered / c.attempts, 4) : null,
        p99LatencyMs: c.percentile(99),
      });
    }
    return points;
  }
}
