import { describe, expect, it } from 'vitest';
import { ScalingAdvisor } from '../../../src/orchestrator/scaling.ts';

const settings = { headroom: 0.2, minReplicas: 1, maxReplicas: 20, cooldownMs: 600_000, pricePerReplicaHour: 0.5 };
const MIN = 60_000;

describe('scaling recommendations', () => {
  it('scales up at once for the forecast peak plus headroom, with the cost of it', () => {
    const a = new ScalingAdvisor('svc', settings);
    const r = a.recommend(450, 100, 3, 0);
    expect(r.neededReplicas).toBe(6); // 450 * 1.2 / 100 = 5.4
    expect(r.desiredReplicas).toBe(6);
    expect(r.costDeltaPerHour).toBeCloseTo(1.5);
    expect(r.costDeltaPerMonth).toBeCloseTo(1095);
  });

  it('scales down only after the cool-down, and not while the forecast still swings up', () => {
    const a = new ScalingAdvisor('svc', settings);
    a.recommend(900, 100, 5, 0); // 11
    const desired: number[] = [];
    // The forecast oscillates between low and high every 2 minutes for 8 minutes, then stays low.
    for (let m = 1; m <= 30; m++)
      desired.push(a.recommend(m <= 8 && m % 4 < 2 ? 900 : 200, 100, 11, m * MIN).desiredReplicas);
    expect(desired.slice(0, 8).every((d) => d === 11)).toBe(true);
    // No change until a full cool-down (10 min) of low forecasts after the last high one.
    const firstDown = desired.findIndex((d) => d < 11);
    expect(firstDown + 1).toBeGreaterThanOrEqual(17);
    expect(desired[firstDown]).toBe(3);
    expect(new Set(desired.slice(firstDown)).size).toBe(1);
  });

  it('stays within the configured bounds', () => {
    const a = new ScalingAdvisor('svc', { ...settings, minReplicas: 2, maxReplicas: 4 });
    expect(a.recommend(0, 100, null, 0).desiredReplicas).toBe(2);
    expect(a.recommend(1e6, 100, null, MIN).desiredReplicas).toBe(4);
  });
});
