/**
 * Small numeric helpers shared by anomaly detection and forecasting: Gaussian and chi-square
 * tails on a log scale (so extreme values do not underflow), and the mapping from evidence to a
 * score in [0, 1]. Allocation-free: they run on every sample.
 */

const LN10 = Math.LN10;
const LOG_SQRT_PI = 0.5 * Math.log(Math.PI);

/** Complementary error function (Numerical Recipes `erfcc`, relative error below 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** -log10 of the two-sided Gaussian tail P(|Z| >= z): 1.3 at z = 1.96, 4.2 at z = 4, 8.8 at z = 6. */
export function gaussianSurprise(z: number): number {
  const a = Math.abs(z) / Math.SQRT2;
  if (a < 5) return -Math.log10(erfc(a));
  // erfc(a) ~ exp(-a^2) / (a sqrt(pi)) for large a.
  return (a * a + Math.log(a) + LOG_SQRT_PI) / LN10;
}

/** Standard normal CDF. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** Inverse of `gaussianSurprise`: the |z| whose two-sided tail has -log10 probability `s` (bisection; not on the hot path). */
export function surpriseToZ(s: number): number {
  let lo = 0;
  let hi = 40;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (gaussianSurprise(mid) < s) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** ln Γ(x) (Lanczos). */
function lnGamma(x: number): number {
  // The published Lanczos coefficients, written as the doubles they round to.
  const g = [
    76.18009172947146, -86.50532032941678, 24.01409824083091, -1.231739572450155, 0.1208650973866179e-2,
    -0.5395239384953e-5,
  ];
  let y = x;
  const tmp = x + 5.5 - (x + 0.5) * Math.log(x + 5.5);
  let ser = 1.000000000190015;
  for (let j = 0; j < 6; j++) ser += g[j]! / ++y;
  return -tmp + Math.log((2.5066282746310007 * ser) / x);
}

/** ln of the upper regularized incomplete gamma Q(a, x). */
function lnGammaQ(a: number, x: number): number {
  if (x <= 0) return 0;
  const lnPre = -x + a * Math.log(x) - lnGamma(a);
  if (x < a + 1) {
    // Series for P, then Q = 1 - P.
    let ap = a;
    let sum = 1 / a;
    let del = sum;
    for (let n = 0; n < 200; n++) {
      del *= x / ++ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * 1e-12) break;
    }
    const p = Math.exp(lnPre) * sum;
    return Math.log(Math.max(1e-300, 1 - p));
  }
  // Continued fraction for Q (Lentz).
  let b = x + 1 - a;
  let c = 1e300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 200; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-12) break;
  }
  return lnPre + Math.log(h);
}

/** -log10 P(X >= x) for X ~ chi-square with k degrees of freedom. */
export function chiSquareSurprise(x: number, k: number): number {
  if (x <= 0) return 0;
  return -lnGammaQ(k / 2, x / 2) / LN10;
}

/**
 * Maps evidence (-log10 of a tail probability) to a score in [0, 1]: 0.5 at `half`, rising
 * steeply around it (0.06 at half/2, 0.94 at 2*half). A fixed, documented curve, so the same
 * score means the same rarity on every series.
 */
export function surpriseToScore(surprise: number, half: number): number {
  if (!(surprise > 0)) return 0;
  const r = surprise / half;
  const r4 = r * r * r * r;
  return r4 / (1 + r4);
}

/** Inverse of `surpriseToScore`. */
export function scoreToSurprise(score: number, half: number): number {
  if (score <= 0) return 0;
  if (score >= 1) return Number.POSITIVE_INFINITY;
  return half * (score / (1 - score)) ** 0.25;
}

export const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : Math.min(x, hi));
