/**
 * Live statistics of one endpoint, updated on every attempt: what the policies decide on and
 * what the learned model sees as features. The EWMAs are time-based (the weight of an
 * observation depends on the time since the previous one), so irregular traffic is handled; the
 * count-based windows next to them (the last N attempts, streaming quantiles, latency by
 * concurrency) move with every attempt, so a burst of failures in one millisecond shows at once.
 */

/** Exponentially weighted moving average over time with time constant `tauMs`. */
export class TimeEwma {
  value: number;
  private stamp = 0;
  private readonly tauMs: number;

  constructor(tauMs: number, initial = 0) {
    this.tauMs = tauMs;
    this.value = initial;
  }
  observe(x: number, now: number): void {
    if (this.stamp === 0) {
      this.value = x;
    } else {
      const w = Math.exp(-Math.max(0, now - this.stamp) / this.tauMs);
      this.value = this.value * w + x * (1 - w);
    }
    this.stamp = now;
  }
}

/**
 * Finagle's peak-EWMA: a latency above the estimate replaces it at once (peaks count fully),
 * lower ones decay it smoothly; reading it decays it towards zero, so an endpoint that has not
 * been tried for a while looks cheaper again and gets re-measured.
 */
export class PeakEwma {
  private cost = 0;
  private stamp = 0;
  private readonly decayMs: number;

  constructor(decayMs = 10_000) {
    this.decayMs = decayMs;
  }

  observe(rttMs: number, now: number): void {
    const w = this.stamp === 0 ? 0 : Math.exp(-Math.max(0, now - this.stamp) / this.decayMs);
    this.cost = rttMs > this.cost ? rttMs : this.cost * w + rttMs * (1 - w);
    this.stamp = now;
  }

  /** The estimate now, decayed since the last observation (without changing it). */
  estimate(now: number): number {
    if (this.stamp === 0) return 0;
    return this.cost * Math.exp(-Math.max(0, now - this.stamp) / this.decayMs);
  }
}

/** Fixed-size ring of recent latencies, for the status endpoint's percentiles. */
class Reservoir {
  private readonly values: Float64Array;
  private next = 0;
  private size = 0;
  constructor(capacity = 512) {
    this.values = new Float64Array(capacity);
  }
  add(v: number): void {
    this.values[this.next] = v;
    this.next = (this.next + 1) % this.values.length;
    this.size = Math.min(this.size + 1, this.values.length);
  }
  percentile(p: number): number | null {
    if (!this.size) return null;
    const sorted = Array.from(this.values.subarray(0, this.size)).sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? null;
  }
}

/** Failure share of the last `size` attempts: a ring, O(1) per attempt. */
export class CountWindow {
  private readonly ring: Uint8Array;
  private next = 0;
  private count = 0;
  private failures = 0;

  constructor(size: number) {
    this.ring = new Uint8Array(size);
  }

  observe(failed: boolean): void {
    if (this.count === this.ring.length) this.failures -= this.ring[this.next]!;
    else this.count++;
    this.ring[this.next] = failed ? 1 : 0;
    if (failed) this.failures++;
    this.next = (this.next + 1) % this.ring.length;
  }

  /** Failures / attempts in the window (0 before any attempt). */
  get value(): number {
    return this.count ? this.failures / this.count : 0;
  }
}

/**
 * A streaming quantile of log1p(latency) (the "frugal" estimator): each observation moves the estimate up by
 * `step * q` when above it and down by `step * (1 - q)` when below, so it settles where a share q of observations
 * is below. O(1), count-based, no sort.
 */
export class StreamingQuantile {
  value = 0;
  private seen = false;
  private readonly q: number;
  private readonly step: number;

  constructor(q: number, step = 0.2) {
    this.q = q;
    this.step = step;
  }

  observe(latencyMs: number): void {
    const x = Math.log1p(Math.max(0, latencyMs));
    if (!this.seen) {
      this.value = x;
      this.seen = true;
    } else if (x > this.value) this.value = Math.min(x, this.value + this.step * this.q);
    else if (x < this.value) this.value = Math.max(x, this.value - this.step * (1 - this.q));
  }
}

/**
 * Concurrency levels for latency by concurrency: each count from 1 to 16 requests at once (the new one
 * included) is a level of its own, so a cliff at a given concurrency shows sharply; then 17-32, 33-64, 65+.
 */
const EXACT_LEVELS = 16;
const LOAD_LEVELS = EXACT_LEVELS + 3;
export const loadLevel = (concurrent: number) => {
  const c = Math.max(1, concurrent);
  if (c <= EXACT_LEVELS) return c - 1;
  return Math.min(LOAD_LEVELS - 1, EXACT_LEVELS + Math.floor(Math.log2((c - 1) / EXACT_LEVELS)));
};

/**
 * Latency (log1p ms) of attempts by the concurrency they started at, each level a count-based EWMA: what an
 * attempt costs at the endpoint's current load, such as a capacity cliff past some concurrency.
 */
export class LatencyByLoad {
  private readonly values = new Float64Array(LOAD_LEVELS);
  private readonly counts = new Uint32Array(LOAD_LEVELS);

  observe(concurrent: number, latencyMs: number): void {
    const level = loadLevel(concurrent);
    const x = Math.log1p(Math.max(0, latencyMs));
    const n = this.counts[level]!;
    this.values[level] = n === 0 ? x : this.values[level]! * 0.8 + x * 0.2;
    this.counts[level] = n + 1;
  }

  /** The estimate at this concurrency: its own level once measured, else the nearest measured level below, else null. */
  at(concurrent: number): number | null {
    for (let level = loadLevel(concurrent); level >= 0; level--)
      if (this.counts[level]! > 0) return this.values[level]!;
    return null;
  }

  /** Attempts measured at this concurrency's level. */
  measured(concurrent: number): number {
    return this.counts[loadLevel(concurrent)]!;
  }
}

export type AttemptResult = 'ok' | 'failed' | 'timeout';

export class EndpointStats {
  inflight = 0;
  readonly latFast = new TimeEwma(1_000);
  readonly latSlow = new TimeEwma(15_000);
  readonly peak = new PeakEwma(10_000);
  readonly errFast = new TimeEwma(2_000);
  readonly errSlow = new TimeEwma(20_000);
  readonly timeoutFast = new TimeEwma(2_000);
  /** Attempts per second, smoothed. */
  readonly rate = new TimeEwma(5_000);
  readonly errLast16 = new CountWindow(16);
  readonly errLast64 = new CountWindow(64);
  readonly latP50 = new StreamingQuantile(0.5);
  readonly latP95 = new StreamingQuantile(0.95);
  readonly latByLoad = new LatencyByLoad();
  /** Failed attempts since the last success. */
  consecutiveFailures = 0;
  lastFailureAt = 0;
  lastSuccessAt = 0;
  lastObservedAt = 0;
  lastStartedAt = 0;
  attempts = 0;
  delivered = 0;
  failed = 0;
  timeouts = 0;
  rejected = 0;
  shed = 0;
  private readonly recent = new Reservoir();

  /** Returns the concurrency the attempt starts at (itself included), for `finished`. */
  started(now: number): number {
    this.inflight++;
    if (this.lastStartedAt) this.rate.observe(1000 / Math.max(1, now - this.lastStartedAt), now);
    this.lastStartedAt = now;
    return this.inflight;
  }

  finished(result: AttemptResult, latencyMs: number, now: number, concurrent: number): void {
    this.inflight = Math.max(0, this.inflight - 1);
    this.attempts++;
    const failed = result !== 'ok';
    this.errLast16.observe(failed);
    this.errLast64.observe(failed);
    this.latP50.observe(latencyMs);
    this.latP95.observe(latencyMs);
    this.latByLoad.observe(concurrent, latencyMs);
    this.latFast.observe(latencyMs, now);
    this.latSlow.observe(latencyMs, now);
    this.peak.observe(latencyMs, now);
    this.errFast.observe(failed ? 1 : 0, now);
    this.errSlow.observe(failed ? 1 : 0, now);
    this.timeoutFast.observe(result === 'timeout' ? 1 : 0, now);
    this.lastObservedAt = now;
    this.recent.add(latencyMs);
    if (result === 'ok') {
      this.delivered++;
      this.lastSuccessAt = now;
      this.consecutiveFailures = 0;
    } else {
      this.consecutiveFailures++;
      this.lastFailureAt = now;
      if (result === 'timeout') this.timeouts++;
      else this.failed++;
    }
  }

  snapshot(now: number) {
    return {
      inflight: this.inflight,
      attempts: this.attempts,
      delivered: this.delivered,
      failed: this.failed,
      timeouts: this.timeouts,
      rejected: this.rejected,
      shed: this.shed,
      latencyEwmaMs: round(this.latFast.value),
      peakEwmaMs: round(this.peak.estimate(now)),
      p50Ms: this.recent.percentile(50),
      p99Ms: this.recent.percentile(99),
      errorRate: round(this.errFast.value),
      errorRateLast16: round(this.errLast16.value),
      ratePerS: round(this.rate.value),
      lastFailureAt: this.lastFailureAt || null,
    };
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;
