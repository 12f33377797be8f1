/**
 * Published streaming anomaly detectors, implemented from their papers, as baselines for
 * bench:detect-eval. Each returns one score per sample computed from that sample and the ones
 * before it (no lookahead); higher is more anomalous.
 *
 * - rolling z-score: |x - mean| / std over the previous `window` samples.
 * - biDSPOT (Siffer et al., "Anomaly Detection in Streams with Extreme Value Theory", KDD 2017):
 *   drift-aware peaks-over-threshold on both tails; the GPD is fitted by maximum likelihood
 *   (Grimshaw's profile over gamma/sigma). Its output is an alarm (score 1) or not (0) at risk q.
 * - Spectral Residual (Ren et al., "Time-Series Anomaly Detection Service at Microsoft", KDD 2019):
 *   on a sliding window extended by 5 extrapolated points, the saliency map of the log-amplitude
 *   spectrum's residual; the score is the last point's saliency relative to the local mean.
 * - robust Holt-Winters residual: the project's own robust additive Holt-Winters with a daily
 *   season (src/timeseries/holt-winters.ts), |residual| / its error scale.
 */
import { binsFor, DAY_MS, HoltWinters } from '../../src/timeseries/holt-winters.ts';

export function rollingZ(x: Float64Array, window = 100): Float64Array {
  const out = new Float64Array(x.length);
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < x.length; i++) {
    const n = Math.min(i, window);
    if (n >= 10) {
      const mean = sum / n;
      const sd = Math.sqrt(Math.max(0, sumSq / n - mean * mean));
      out[i] = sd > 0 ? Math.abs(x[i]! - mean) / sd : x[i] === mean ? 0 : 1e9;
    }
    sum += x[i]!;
    sumSq += x[i]! * x[i]!;
    if (i >= window) {
      sum -= x[i - window]!;
      sumSq -= x[i - window]! * x[i - window]!;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// SPOT / DSPOT

/** Maximum-likelihood GPD fit of excesses y > 0 (Grimshaw: profile likelihood over x = gamma / sigma). */
export function fitGpd(y: ArrayLike<number>): { gamma: number; sigma: number } {
  const n = y.length;
  let mean = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    mean += y[i]! / n;
    max = Math.max(max, y[i]!);
  }
  // Exponential (gamma = 0) as the reference candidate.
  let best = { gamma: 0, sigma: mean, ll: -n * Math.log(mean) - n };
  const logLik = (x: number) => {
    let g = 0;
    for (let i = 0; i < n; i++) g += Math.log(1 + x * y[i]!);
    g /= n;
    if (!(g > 0) || !Number.isFinite(g)) return undefined;
    const sigma = g / x;
    return { gamma: g, sigma, ll: -n * Math.log(sigma) - n * (1 + g) };
  };
  const lo = -1 / max + 1e-9;
  // A log-spaced grid on both sides of zero, then a local refinement.
  const grid: number[] = [];
  for (let k = 1; k <= 20; k++) grid.push(lo * (1 - 10 ** (-k / 4)));
  for (let k = -20; k <= 20; k++) grid.push(10 ** (k / 5) / mean);
  let bestX = Number.NaN;
  for (const x of grid) {
    if (x <= lo) continue;
    const r = logLik(x);
    if (r && r.ll > best.ll) {
      best = r;
      bestX = x;
    }
  }
  if (Number.isFinite(bestX)) {
    let a = Math.max(lo, bestX / 2);
    let b = bestX * 2;
    if (bestX < 0) [a, b] = [Math.max(lo, bestX * 2), bestX / 2];
    for (let it = 0; it < 40; it++) {
      const m1 = a + (b - a) / 3;
      const m2 = b - (b - a) / 3;
      const l1 = logLik(m1)?.ll ?? Number.NEGATIVE_INFINITY;
      const l2 = logLik(m2)?.ll ?? Number.NEGATIVE_INFINITY;
      if (l1 < l2) a = m1;
      else b = m2;
    }
    const r = logLik((a + b) / 2);
    if (r && r.ll > best.ll) best = r;
  }
  return { gamma: best.gamma, sigma: best.sigma };
}

/** One tail of SPOT: threshold t, peaks over it, the alarm level z_q. */
class SpotTail {
  private readonly peaks: number[] = [];
  private n = 0;
  private t = 0;
  zq = Number.POSITIVE_INFINITY;
  private readonly q: number;

  constructor(q: number) {
    this.q = q;
  }

  /** Initial calibration on values (already drift-corrected, oriented so that large is anomalous). */
  init(values: number[]): void {
    const sorted = [...values].sort((a, b) => a - b);
    this.t = sorted[Math.floor(0.98 * (sorted.length - 1))]!;
    this.n = values.length;
    for (const v of values) if (v > this.t) this.peaks.push(v - this.t);
    this.refit();
  }

  private refit(): void {
    if (this.peaks.length < 5) {
      this.zq = Number.POSITIVE_INFINITY;
      return;
    }
    const { gamma, sigma } = fitGpd(this.peaks);
    const r = (this.q * this.n) / this.peaks.length;
    this.zq = Math.abs(gamma) < 1e-9 ? this.t - sigma * Math.log(r) : this.t + (sigma / gamma) * (r ** -gamma - 1);
  }

  /** 1 if v is an alarm (not learned), else learns it. */
  step(v: number): number {
    if (v > this.zq) return 1;
    this.n++;
    if (v > this.t) {
      this.peaks.push(v - this.t);
      this.refit();
    }
    return 0;
  }
}

/**
 * Bidirectional DSPOT: X'_t = X_t - mean of the last `depth` normal values, both tails at risk
 * q; calibrated on the first `init` samples (no alarms there). Score 1 on an alarm, else 0.
 */
export function biDspot(x: Float64Array, q = 1e-3, depth = 10, init = 1000): Float64Array {
  const out = new Float64Array(x.length);
  if (x.length <= init + depth) return out;
  const window: number[] = Array.from(x.subarray(0, depth));
  let sum = window.reduce((a, b) => a + b, 0);
  const calib: number[] = [];
  for (let i = depth; i < init; i++) {
    calib.push(x[i]! - sum / depth);
    sum += x[i]! - window.shift()!;
    window.push(x[i]!);
  }
  const up = new SpotTail(q);
  const down = new SpotTail(q);
  up.init(calib);
  down.init(calib.map((v) => -v));
  for (let i = init; i < x.length; i++) {
    const v = x[i]! - sum / depth;
    const alarm = up.step(v) || down.step(-v);
    out[i] = alarm;
    if (!alarm) {
      sum += x[i]! - window.shift()!;
      window.push(x[i]!);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Spectral Residual

/** In-place radix-2 FFT (re, im of a power-of-two length); inverse without the 1/N. */
export function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const ar = re[i + k + len / 2]! * cr - im[i + k + len / 2]! * ci;
        const ai = re[i + k + len / 2]! * ci + im[i + k + len / 2]! * cr;
        re[i + k + len / 2] = re[i + k]! - ar;
        im[i + k + len / 2] = im[i + k]! - ai;
        re[i + k] = re[i + k]! + ar;
        im[i + k] = im[i + k]! + ai;
        const t = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = t;
      }
    }
  }
}

/**
 * Spectral Residual score of each sample: the window of the last `size - 5` samples plus 5
 * extrapolated ones (size a power of two), amplitude-spectrum residual with a 3-wide average
 * filter, saliency map back in time; score = (S_t - mean of the 21 saliencies up to t) / that mean.
 */
export function spectralResidual(x: Float64Array, size = 128): Float64Array {
  const m = 5;
  const w = size - m;
  const zWindow = 21;
  const out = new Float64Array(x.length);
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  const logAmp = new Float64Array(size);
  for (let t = w - 1; t < x.length; t++) {
    const start = t - w + 1;
    for (let i = 0; i < w; i++) re[i] = x[start + i]!;
    // Extrapolation (the paper's eq. 7): mean gradient between the last point and the m before it.
    let g = 0;
    for (let i = 1; i <= m; i++) g += (re[w - 1]! - re[w - 1 - i]!) / i;
    g /= m;
    const next = re[w - m]! + g * m;
    for (let i = w; i < size; i++) re[i] = next;
    im.fill(0);
    fft(re, im, false);
    for (let k = 0; k < size; k++) logAmp[k] = Math.log(Math.hypot(re[k]!, im[k]!) + 1e-8);
    for (let k = 0; k < size; k++) {
      let avg = 0;
      // Average filter of width 3 as in the authors' reference implementation (the point and the two before it).
      const width = Math.min(3, k + 1);
      for (let j = 0; j < width; j++) avg += logAmp[k - j]!;
      const residual = logAmp[k]! - avg / width;
      const amp = Math.hypot(re[k]!, im[k]!) + 1e-8;
      const scale = Math.exp(residual) / amp;
      re[k] = re[k]! * scale;
      im[k] = im[k]! * scale;
    }
    fft(re, im, true);
    // Saliency of the window's points; the score of t is its last real point against the 21 before.
    let mean = 0;
    for (let i = w - zWindow; i < w; i++) mean += Math.hypot(re[i]!, im[i]!) / size;
    mean /= zWindow;
    const s = Math.hypot(re[w - 1]!, im[w - 1]!) / size;
    out[t] = mean > 0 ? Math.abs(s - mean) / mean : 0;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Robust Holt-Winters residual

/** |x - forecast| / error scale of a robust additive Holt-Winters model with a daily season. */
export function holtWintersResidual(t: Float64Array, x: Float64Array, alpha = 0.1, gamma = 0.1): Float64Array {
  const interval = x.length > 1 ? (t[t.length - 1]! - t[0]!) / (x.length - 1) : 1;
  const hw = new HoltWinters({ alpha, beta: 0, phi: 1, gamma, periodMs: DAY_MS, bins: binsFor(DAY_MS, interval, 288) });
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const sigma = hw.sigma;
    const f = hw.predict(t[i]!);
    out[i] = i > 30 && sigma > 0 ? Math.abs(x[i]! - f) / sigma : 0;
    hw.update(t[i]!, x[i]!);
  }
  return out;
}
