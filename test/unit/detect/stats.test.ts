import { describe, expect, it } from 'vitest';
import { partitionForKey } from '../../../src/kafka/partitioner.ts';
import {
  chiSquareSurprise,
  gaussianSurprise,
  scoreToSurprise,
  surpriseToScore,
  surpriseToZ,
} from '../../../src/timeseries/stats.ts';

describe('tail probabilities', () => {
  it('match the Gaussian and chi-square tables', () => {
    expect(gaussianSurprise(1.96)).toBeCloseTo(-Math.log10(0.05), 3);
    expect(gaussianSurprise(3)).toBeCloseTo(-Math.log10(0.0026998), 3);
    expect(gaussianSurprise(8)).toBeCloseTo(-Math.log10(1.2442e-15), 1);
    expect(surpriseToZ(gaussianSurprise(2.5))).toBeCloseTo(2.5, 4);
    expect(chiSquareSurprise(5.991, 2)).toBeCloseTo(-Math.log10(0.05), 3);
    expect(chiSquareSurprise(11.07, 5)).toBeCloseTo(-Math.log10(0.05), 2);
    expect(chiSquareSurprise(100, 3)).toBeGreaterThan(15);
  });

  it('maps evidence to a score through a fixed curve, 0.5 at the half point', () => {
    expect(surpriseToScore(0, 5)).toBe(0);
    expect(surpriseToScore(5, 5)).toBeCloseTo(0.5);
    expect(surpriseToScore(10, 5)).toBeGreaterThan(0.9);
    expect(scoreToSurprise(surpriseToScore(7, 5), 5)).toBeCloseTo(7);
  });
});

describe('the default partitioner', () => {
  it('spreads keys over partitions deterministically', () => {
    const counts = new Array(6).fill(0) as number[];
    for (let i = 0; i < 600; i++) counts[partitionForKey(`service-${i}`, 6)]!++;
    expect(counts.every((c) => c > 60)).toBe(true);
    expect(partitionForKey('checkout', 6)).toBe(partitionForKey('checkout', 6));
  });
});
