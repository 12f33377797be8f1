import { describe, expect, it } from 'vitest';
import type { DeliveryOutcome } from '../../schemas/types.ts';
import { overallStatus } from '../../src/api/index.ts';
import { PerformanceAnalytics } from '../../src/gateway/analytics.ts';

const NOW = 1_800_000_000_000;
function outcome(over: Partial<DeliveryOutcome>): DeliveryOutcome {
  return {
    messageId: 'm',
    route: 'orders',
    endpoint: 'eu',
    policy: 'p',
    attempt: 1,
    status: 'DELIVERED',
    httpStatus: 200,
    latencyMs: 10,
    error: null,
    messageType: 'x',
    payloadBytes: 1,
    featureVersion: 0,
    featureValues: [],
    decidedAt: NOW - 1000,
    ...over,
  };
}

describe('delivery performance analytics', () => {
  it('counts by status and window, per route and endpoint', () => {
    const a = new PerformanceAnalytics(() => NOW);
    for (let i = 0; i < 30; i++) a.add(outcome({ decidedAt: NOW - i * 1000 }));
    for (let i = 0; i < 10; i++) a.add(outcome({ status: 'FAILED', decidedAt: NOW - 10_000 - i * 60_000 }));
    a.add(outcome({ status: 'REJECTED', endpoint: 'us', latencyMs: 0 }));
    a.add(outcome({ status: 'DELIVERED', decidedAt: NOW - 2 * 3_600_000 }));
    const m1 = a.report('1m');
    expect(m1.total.attempts).toBe(30 + 1 + 1);
    const eu = m1.routes[0]!.endpoints.find((e) => e.endpoint === 'eu')!;
    expect(eu).toMatchObject({ attempts: 31, delivered: 30, failed: 1 });
    expect(m1.routes[0]!.endpoints.find((e) => e.endpoint === 'us')).toMatchObject({
      attempts: 1,
      rejected: 1,
      latencyMs: { p50: null },
    });
    const h1 = a.report('1h');
    expect(h1.total.attempts).toBe(30 + 10 + 1);
    expect(h1.total.successRate).toBeCloseTo(30 / 41, 4);
    expect(a.report('1m', 'nope').total.attempts).toBe(0);
  });

  it('estimates latency percentiles within 5%', () => {
    const a = new PerformanceAnalytics(() => NOW);
    const latencies = Array.from({ length: 1000 }, (_, i) => 1 + i * 2.5);
    for (const l of latencies) a.add(outcome({ latencyMs: l }));
    const { latencyMs } = a.report('5m').total;
    const exact = (p: number) => latencies[Math.ceil((p / 100) * latencies.length) - 1]!;
    for (const [p, got] of [
      [50, latencyMs.p50],
      [90, latencyMs.p90],
      [99, latencyMs.p99],
    ] as const) {
      expect(got!).toBeGreaterThanOrEqual(exact(p));
      expect(got!).toBeLessThanOrEqual(exact(p) * 1.05 + 0.01);
    }
    expect(latencyMs.max).toBe(latencies.at(-1));
  });

  it('draws a timeline in 10-second buckets', () => {
    const a = new PerformanceAnalytics(() => NOW);
    a.add(outcome({ decidedAt: NOW - 25_000 }));
    a.add(outcome({ decidedAt: NOW - 25_000, status: 'FAILED' }));
    const points = a.timeline(60);
    expect(points.length).toBeGreaterThanOrEqual(6);
    expect(points.reduce((n, p) => n + p.attempts, 0)).toBe(2);
    expect(points.find((p) => p.attempts === 2)!.successRate).toBe(0.5);
  });
});

describe('overall health', () => {
  const ok = { ok: true, latencyMs: 1 };
  const bad = { ok: false, latencyMs: 2000, detail: 'no answer' };
  it('is degraded while a dependency is unreachable or a component degraded, and down when every component is', () => {
    expect(overallStatus([ok, ok], [{ status: 'ok' }])).toBe('ok');
    expect(overallStatus([bad, ok], [{ status: 'ok' }])).toBe('degraded');
    expect(overallStatus([ok, ok], [{ status: 'ok' }, { status: 'degraded' }])).toBe('degraded');
    expect(overallStatus([ok, ok], [{ status: 'down' }, { status: 'stopped' }])).toBe('down');
    expect(overallStatus([ok, ok], [])).toBe('ok');
  });
});
