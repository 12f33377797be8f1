import { describe, expect, it } from 'vitest';
import type { MetricSample } from '../../../schemas/types.ts';
import { ServiceState } from '../../../src/detect/engine.ts';
import { DEFAULT_HYSTERESIS, IncidentTracker, incidentId } from '../../../src/detect/incidents.ts';
import { KIND_MULTIVARIATE, ServiceDetector } from '../../../src/detect/service-detector.ts';
import { Random } from '../../../src/timeseries/random.ts';

const T0 = Date.UTC(2026, 0, 5);
const STEP = 5 * 60_000;

/** Requests drive CPU and latency; `cpuShift` adds to CPU alone. */
function sample(rng: Random, i: number, cpuShift = 0, latencyFactor = 1): MetricSample {
  const day = Math.sin((2 * Math.PI * (i % 288)) / 288);
  const requests = 1000 * (1 + 0.4 * day) + 60 * rng.normal();
  return {
    service: 'checkout',
    timestamp: T0 + i * STEP,
    cpu_usage: 10 + requests / 20 + 0.5 * rng.normal() + cpuShift,
    memory_usage: 60 + rng.normal(),
    network_latency: (40 + requests / 50 + 2 * rng.normal()) * latencyFactor,
    error_rate: Math.max(0, 0.5 + 0.1 * rng.normal()),
    request_count: requests,
    performance_score: null,
    replicas: 3,
    extra: { queue_depth: 5 + rng.normal() },
  };
}

describe('the service detector', () => {
  it('sees a broken relationship between metrics that no single metric shows', () => {
    const rng = new Random(3);
    const d = new ServiceDetector(8);
    const slots = ['request_count', 'cpu_usage'].map((m) => d.slot(m));
    let mvPeak = 0;
    let uniPeak = 0;
    for (let i = 0; i < 4 * 288; i++) {
      const s = sample(rng, i, i >= 3 * 288 && i < 3 * 288 + 30 ? 6 : 0);
      d.set(slots[0]!, s.request_count);
      d.set(slots[1]!, s.cpu_usage);
      d.update(s.timestamp);
      if (i >= 3 * 288 && i < 3 * 288 + 30) {
        mvPeak = Math.max(mvPeak, d.multivariateScore);
        uniPeak = Math.max(uniPeak, d.univariateScore);
      }
    }
    expect(uniPeak).toBeLessThan(0.5);
    expect(mvPeak).toBeGreaterThan(0.5);
  });

  it('explains the last sample: expected ranges, shares that sum to 1, most anomalous first', () => {
    const rng = new Random(4);
    const state = ServiceState.create('checkout');
    for (let i = 0; i < 3 * 288; i++) state.score(sample(rng, i));
    state.score(sample(rng, 3 * 288, 0, 12));
    const rows = state.detector.explain();
    expect(rows[0]!.metric).toBe('network_latency');
    expect(rows[0]!.value).toBeGreaterThan(rows[0]!.expectedHigh);
    expect(rows.reduce((s, r) => s + r.share, 0)).toBeCloseTo(1, 6);
    expect(state.detector.metrics).toContain('queue_depth');
  });

  it('turns an incident into one OPEN and one CLOSED record with the same id and a sentence naming the service and metric', () => {
    const rng = new Random(5);
    const state = ServiceState.create('checkout');
    const records = [];
    for (let i = 0; i < 4 * 288; i++) {
      const a = state.score(sample(rng, i, 0, i >= 3 * 288 && i < 3 * 288 + 20 ? 8 : 1));
      if (a) records.push(a);
    }
    const incident = records.filter((r) => r.startedAt >= T0 + 3 * 288 * STEP);
    expect(incident[0]!.state).toBe('OPEN');
    expect(incident.filter((r) => r.state === 'OPEN')).toHaveLength(1);
    expect(incident.at(-1)!.state).toBe('CLOSED');
    expect(new Set(incident.map((r) => r.id)).size).toBe(1);
    expect(incident[0]!.id).toBe(incidentId('checkout', T0 + 3 * 288 * STEP));
    expect(incident[0]!.metrics[0]).toBe('network_latency');
    expect(incident[0]!.explanation).toMatch(/network_latency of checkout rose to .* ms where .* was expected/);
    expect(incident[0]!.score).toBeGreaterThanOrEqual(0.5);
    expect(incident[0]!.contributions?.[0]?.metric).toBe('network_latency');
    expect(incident.at(-1)!.endedAt).not.toBeNull();
  });

  it('round-trips through a JSON snapshot', () => {
    const rng = new Random(6);
    const a = ServiceState.create('checkout');
    for (let i = 0; i < 400; i++) a.score(sample(rng, i));
    const b = ServiceState.fromJSON('checkout', JSON.parse(JSON.stringify(a.toJSON())));
    const next = sample(rng, 400, 0, 5);
    a.score(next);
    b.score(next);
    expect(b.detector.score).toBe(a.detector.score);
    expect(b.detector.metrics).toEqual(a.detector.metrics);
  });

  it('labels a relationship break as multivariate', () => {
    expect(KIND_MULTIVARIATE).toBe(6);
  });
});

describe('incident hysteresis', () => {
  it('opens once, updates only when materially worse (rate-limited), closes after the quiet streak', () => {
    const tr = new IncidentTracker('svc', { ...DEFAULT_HYSTERESIS, closeAfter: 3, updateEvery: 5 });
    const scores = [0.1, 0.6, 0.65, 0.9, 0.95, 0.68, 0.68, 0.8, 0.99, 0.4, 0.2, 0.25, 0.6, 0.1, 0.1, 0.1, 0.1];
    const events = scores.map((s, i) => tr.observe(1000 + i, s, 1, 'cpu_usage'));
    expect(events.filter((e) => e === 'OPEN')).toHaveLength(1);
    expect(events.indexOf('OPEN')).toBe(1);
    // 0.9 at index 3 is worse but too soon; 0.8 at index 7 is 6 samples on; 0.99 at 8 is again too soon.
    expect(events.filter((e) => e === 'UPDATE')).toEqual(['UPDATE']);
    expect(events.indexOf('UPDATE')).toBe(7);
    // Below 0.3 at 10, 11 then 0.6 resets the streak; 13, 14, 15 close it.
    expect(events.indexOf('CLOSED')).toBe(15);
    expect(events.filter((e) => e === 'CLOSED')).toHaveLength(1);
    expect(tr.open).toBeUndefined();
  });

  it('restores an open incident from a snapshot', () => {
    const a = new IncidentTracker('svc');
    a.observe(5, 0.9, 2, 'error_rate');
    const b = new IncidentTracker('svc');
    b.restore(JSON.parse(JSON.stringify(a.toJSON())));
    expect(b.open?.id).toBe(incidentId('svc', 5));
    const quiet = DEFAULT_HYSTERESIS.closeAfter;
    for (let i = 0; i < quiet - 1; i++) expect(b.observe(6 + i, 0.1, 0, '')).toBeUndefined();
    expect(b.observe(6 + quiet, 0.1, 0, '')).toBe('CLOSED');
  });
});
