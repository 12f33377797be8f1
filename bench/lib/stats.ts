/** Least-squares trends of sampled series, for soak runs. */

export interface Trend {
  n: number;
  mean: number;
  first: number;
  last: number;
  /** Units per hour. */
  slopePerHour: number;
  /** Standard error of the slope, units per hour. */
  slopeStdErr: number;
}

/** Ordinary least squares of y on t (epoch ms). */
export function trend(points: { t: number; y: number }[]): Trend {
  const n = points.length;
  if (n < 3)
    return {
      n,
      mean: Number.NaN,
      first: Number.NaN,
      last: Number.NaN,
      slopePerHour: Number.NaN,
      slopeStdErr: Number.NaN,
    };
  const hours = points.map((p) => (p.t - points[0]!.t) / 3_600_000);
  const ys = points.map((p) => p.y);
  const mt = hours.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (hours[i]! - mt) ** 2;
    sxy += (hours[i]! - mt) * (ys[i]! - my);
  }
  const slope = sxy / sxx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (ys[i]! - (my + slope * (hours[i]! - mt))) ** 2;
  return {
    n,
    mean: my,
    first: ys[0]!,
    last: ys[n - 1]!,
    slopePerHour: slope,
    slopeStdErr: Math.sqrt(sse / (n - 2) / sxx),
  };
}

/**
 * Flat (not rising): what the slope adds in an hour is at most `tolerance` of the series' mean (or `floor`
 * units, for series near zero), or the slope is within two standard errors of zero.
 */
export function isFlat(t: Trend, tolerance: number, floor: number): boolean {
  if (!Number.isFinite(t.slopePerHour)) return false;
  // One-sided: a leak or a slowing loop rises; a series that falls (load on a shared machine easing) is not a failure.
  return t.slopePerHour <= Math.max(tolerance * Math.abs(t.mean), floor) || t.slopePerHour <= 2 * t.slopeStdErr;
}
