/**
 * Live statistics of one endpoint, updated on every attempt: what the policies decide on and
 * what the learned model sees as features. All EWMAs are time-based (the weight of an
 * observation depends on the time since the previous one), so irregular traffic is handled.
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

  started(now: number): void {
    this.inflight++;
    if (this.lastStartedAt) this.rate.observe(1000 / Math.max(1, now - this.lastStartedAt), now);
    this.lastStartedAt = now;
  }

  finished(result: AttemptResult, latencyMs: number, now: number): void {
    this.inflight = Math.max(0, this.inflight - 1);
    this.attempts++;
    this.latFast.observe(latencyMs, now);
    this.latSlow.observe(latencyMs, now);
    this.peak.observe(latencyMs, now);
    const failed = result === 'ok' ? 0 : 1;
    this.errFast.observe(failed, now);
    this.errSlow.observe(failed, now);
    this.timeoutFast.observe(result === 'timeout' ? 1 : 0, now);
    this.lastObservedAt = now;
    this.recent.add(latencyMs);
    if (result === 'ok') {
      this.delivered++;
      this.lastSuccessAt = now;
    } else {
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
      ratePerS: round(this.rate.value),
      lastFailureAt: this.lastFailureAt || null,
    };
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;
