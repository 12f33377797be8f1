import { describe, expect, it } from 'vitest';
import {
  breaches,
  FailureModel,
  FEATURES,
  FeatureTracker,
  LabelQueue,
  ruleProbability,
} from '../../../src/orchestrator/failure.ts';
import { Random } from '../../../src/timeseries/random.ts';

const SLO = { errorRate: 5, latencyMs: 500 };

describe('the failure model', () => {
  it('learns which feature predicts a breach, and names it as the driver', () => {
    const rng = new Random(1);
    const model = new FailureModel();
    const x = new Float64Array(FEATURES.length);
    const row = () => {
      for (let i = 0; i < x.length; i++) x[i] = rng.normal();
      return x;
    };
    // Breaches follow high memory (index 7); the rest is noise.
    for (let i = 0; i < 5000; i++) {
      const r = row();
      model.observe(r);
      model.learn(r, r[7]! > 1 ? 1 : 0);
    }
    let correct = 0;
    for (let i = 0; i < 1000; i++) {
      const r = row();
      if ((model.predict(r) >= 0.5 ? 1 : 0) === (r[7]! > 1 ? 1 : 0)) correct++;
    }
    expect(correct).toBeGreaterThan(900);
    x.fill(0);
    x[7] = 3;
    expect(model.predict(x)).toBeGreaterThan(0.9);
    expect(model.drivers(x)[0]!.feature).toBe('memory');
  });

  it('labels a row positive only when a breach follows within the horizon, and learns it once the horizon has passed', () => {
    const model = new FailureModel();
    const q = new LabelQueue(10_000);
    const x = new Float64Array(FEATURES.length);
    q.push(0, x, false, model);
    q.push(5_000, x, true, model); // a breach 5 s after the first row: positive
    expect(model.trained).toBe(0);
    q.push(10_001, x, false, model); // the first row's horizon has passed
    expect(model.trained).toBe(1);
    q.push(30_000, x, false, model);
    expect(model.trained).toBe(3);
    expect(q.size).toBe(1);
  });

  it('derives features as ratios to the SLO, with trends over the horizon', () => {
    const tracker = new FeatureTracker(SLO);
    const out = new Float64Array(FEATURES.length);
    const base = { cpu_usage: 50, memory_usage: 40, utilization: 0.5 };
    tracker.features({ ...base, timestamp: 0, error_rate: 1, network_latency: 100 }, 3_600_000, out);
    tracker.features({ ...base, timestamp: 60_000, error_rate: 2, network_latency: 100 }, 3_600_000, out);
    expect(out[FEATURES.indexOf('error_ratio')]).toBeCloseTo(0.4);
    expect(out[FEATURES.indexOf('latency_ratio')]).toBeCloseTo(0.2);
    expect(out[FEATURES.indexOf('error_trend')]).toBeGreaterThan(0);
    expect(out[FEATURES.indexOf('utilization')]).toBe(0.5);
  });

  it('defines a breach and the rule baseline from the SLO', () => {
    expect(breaches({ error_rate: 6, network_latency: 10 }, SLO)).toBe(true);
    expect(breaches({ error_rate: 1, network_latency: 600 }, SLO)).toBe(true);
    expect(breaches({ error_rate: 1, network_latency: 100 }, SLO)).toBe(false);
    expect(ruleProbability({ error_rate: 4, network_latency: 100 }, SLO)).toBeCloseTo(0.8);
    expect(ruleProbability({ error_rate: 40, network_latency: 100 }, SLO)).toBe(1);
  });
});
