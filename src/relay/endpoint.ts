/**
 * One endpoint of a route at run time: its live statistics, its circuit breaker (opossum:
 * timeout, error percentage over a rolling window, reset timeout, half-open probe; plus a
 * slow-call rate check opossum lacks), and the orchestrator's controls (drain, weight, forced open).
 */
import CircuitBreaker from 'opossum';
import type { Endpoint, Route } from '../../schemas/types.ts';
import type { EcosystemEventSpec } from '../app/events.ts';
import type { DeliveryRequest, HttpSender, KafkaSender, SendResult } from './senders.ts';
import { SendError } from './senders.ts';
import { type AttemptResult, EndpointStats } from './stats.ts';
import { setting } from './store.ts';

export type BreakerState = 'closed' | 'open' | 'half-open';
export type EndpointState = BreakerState | 'forced-open' | 'drained';

/** What the orchestrator (or an operator) set on an endpoint; survives route updates. */
export interface EndpointControls {
  drained: boolean;
  /** Multiplies the endpoint's configured weight, 0..1. */
  weightFactor: number;
  forcedOpenUntil: number;
  /** Action ids that set these controls, newest last. */
  actions: string[];
}

export const freshControls = (): EndpointControls => ({
  drained: false,
  weightFactor: 1,
  forcedOpenUntil: 0,
  actions: [],
});

export interface AttemptOutcome {
  status: 'DELIVERED' | 'FAILED' | 'TIMEOUT' | 'REJECTED';
  httpStatus: number | null;
  latencyMs: number;
  error: string | null;
  /** The endpoint refused the message itself (4xx): retrying elsewhere will not help. */
  permanent: boolean;
}

export interface Senders {
  http: HttpSender;
  kafka: KafkaSender;
}

/** Counts calls and slow calls over a rolling window of 10 buckets. */
class SlowCallWindow {
  private readonly calls = new Uint32Array(10);
  private readonly slow = new Uint32Array(10);
  private bucket = 0;
  private bucketStart = 0;
  private readonly windowMs: number;

  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  record(isSlow: boolean, now: number): { calls: number; slow: number } {
    const width = this.windowMs / 10;
    if (now - this.bucketStart >= width) {
      const steps = Math.min(10, Math.floor((now - this.bucketStart) / width));
      for (let i = 0; i < steps; i++) {
        this.bucket = (this.bucket + 1) % 10;
        this.calls[this.bucket] = 0;
        this.slow[this.bucket] = 0;
      }
      this.bucketStart = now;
    }
    this.calls[this.bucket]!++;
    if (isSlow) this.slow[this.bucket]!++;
    let calls = 0;
    let slow = 0;
    for (let i = 0; i < 10; i++) {
      calls += this.calls[i]!;
      slow += this.slow[i]!;
    }
    return { calls, slow };
  }

  reset(): void {
    this.calls.fill(0);
    this.slow.fill(0);
  }
}

export class EndpointRuntime {
  readonly stats = new EndpointStats();
  readonly key: string;
  readonly route: string;
  readonly url: URL | null;
  private readonly breaker: CircuitBreaker<[DeliveryRequest], SendResult>;
  private readonly slowCalls: SlowCallWindow;
  private readonly slowCallMs: number;
  private readonly slowCallRate: number;
  private readonly volumeThreshold: number;
  private readonly consecutiveFailures: number;
  private openReason = 'error rate';
  /** Set by the learned policy while it sheds this endpoint. */
  shedding = false;

  readonly endpoint: Endpoint;
  private readonly senders: Senders;
  readonly controls: EndpointControls;
  private readonly publish: (e: EcosystemEventSpec) => void;

  constructor(
    route_: Route,
    endpoint: Endpoint,
    senders: Senders,
    controls: EndpointControls,
    publish: (e: EcosystemEventSpec) => void,
  ) {
    this.endpoint = endpoint;
    this.senders = senders;
    this.controls = controls;
    this.publish = publish;
    this.route = route_.name;
    this.key = `${route_.name}/${endpoint.id}`;
    this.url = endpoint.kind === 'HTTP' ? new URL(endpoint.target) : null;
    this.slowCallMs = setting(route_, 'slowCallMs');
    this.slowCallRate = setting(route_, 'slowCallRatePercent');
    this.volumeThreshold = setting(route_, 'volumeThreshold');
    this.consecutiveFailures = setting(route_, 'consecutiveFailures');
    this.slowCalls = new SlowCallWindow(setting(route_, 'rollingWindowMs'));
    this.breaker = new CircuitBreaker((req: DeliveryRequest) => this.send(req), {
      name: this.key,
      timeout: endpoint.timeoutMs,
      errorThresholdPercentage: setting(route_, 'errorThresholdPercentage'),
      rollingCountTimeout: setting(route_, 'rollingWindowMs'),
      rollingCountBuckets: 10,
      resetTimeout: setting(route_, 'resetTimeoutMs'),
      volumeThreshold: this.volumeThreshold,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      // A 4xx is the message's fault, not the endpoint's: it must not trip the breaker.
      errorFilter: (err: unknown) => err instanceof SendError && err.kind === 'rejected',
    } as CircuitBreaker.Options);
    this.breaker.on('open', () => this.transition('open'));
    this.breaker.on('halfOpen', () => this.transition('half-open'));
    this.breaker.on('close', () => this.transition('closed'));
  }

  private send(req: DeliveryRequest): Promise<SendResult> {
    return this.endpoint.kind === 'HTTP'
      ? this.senders.http.send(this.endpoint, this.url!, req)
      : this.senders.kafka.send(this.endpoint, req);
  }

  private transition(state: BreakerState): void {
    const reason =
      state === 'open'
        ? this.openReason
        : state === 'half-open'
          ? 'reset timeout elapsed: one probe allowed'
          : 'probe succeeded';
    this.openReason = 'error rate';
    this.publish({
      component: 'relay',
      kind: 'breaker_state',
      severity: state === 'open' ? 'WARNING' : 'INFO',
      subject: this.key,
      message: `breaker of ${this.key} is ${state} (${reason})`,
      data: {
        route: this.route,
        endpoint: this.endpoint.id,
        state,
        reason,
        errorRate: this.stats.errFast.value.toFixed(3),
      },
    });
  }

  get weight(): number {
    return this.endpoint.weight * this.controls.weightFactor;
  }

  breakerState(): BreakerState {
    return this.breaker.opened ? 'open' : this.breaker.halfOpen ? 'half-open' : 'closed';
  }

  state(now = Date.now()): EndpointState {
    if (this.controls.drained) return 'drained';
    if (this.controls.forcedOpenUntil > now) return 'forced-open';
    return this.breakerState();
  }

  /** May a policy choose it now? A half-open breaker is available only until its one probe is taken. */
  available(now: number): boolean {
    if (this.controls.drained || this.weight <= 0 || this.controls.forcedOpenUntil > now) return false;
    if (this.breaker.opened) return false;
    return !this.breaker.halfOpen || this.breaker.pendingClose;
  }

  /** Opens the breaker (orchestrator action or slow calls); it half-opens after the reset timeout as usual. */
  forceOpen(reason: string): void {
    this.openReason = reason;
    this.breaker.open();
  }

  close(): void {
    this.breaker.close();
  }

  async attempt(req: DeliveryRequest): Promise<AttemptOutcome> {
    const started = performance.now();
    const now = Date.now();
    const concurrent = this.stats.started(now);
    let outcome: AttemptOutcome;
    try {
      const res = await this.breaker.fire(req);
      outcome = {
        status: 'DELIVERED',
        httpStatus: res.httpStatus,
        latencyMs: performance.now() - started,
        error: null,
        permanent: false,
      };
    } catch (err) {
      outcome = this.failure(err, performance.now() - started);
    }
    if (outcome.status === 'REJECTED') {
      this.stats.inflight = Math.max(0, this.stats.inflight - 1);
      this.stats.rejected++;
      return outcome;
    }
    const result: AttemptResult =
      outcome.status === 'DELIVERED' ? 'ok' : outcome.status === 'TIMEOUT' ? 'timeout' : 'failed';
    this.stats.finished(result, outcome.latencyMs, Date.now(), concurrent);
    this.checkSlowCalls(outcome.latencyMs);
    // A 4xx is the message's fault: the endpoint answered, so it is up.
    if (outcome.permanent) this.stats.consecutiveFailures = 0;
    else this.checkConsecutiveFailures();
    return outcome;
  }

  private failure(err: unknown, latencyMs: number): AttemptOutcome {
    const code = (err as { code?: string }).code;
    if (code === 'EOPENBREAKER')
      return { status: 'REJECTED', httpStatus: null, latencyMs, error: 'breaker open', permanent: false };
    if (code === 'ETIMEDOUT')
      return {
        status: 'TIMEOUT',
        httpStatus: null,
        latencyMs,
        error: `timed out after ${this.endpoint.timeoutMs} ms`,
        permanent: false,
      };
    if (err instanceof SendError)
      return {
        status: err.kind === 'timeout' ? 'TIMEOUT' : 'FAILED',
        httpStatus: err.httpStatus,
        latencyMs,
        error: err.message,
        permanent: err.kind === 'rejected',
      };
    return {
      status: 'FAILED',
      httpStatus: null,
      latencyMs,
      error: (err as Error).message ?? String(err),
      permanent: false,
    };
  }

  private checkSlowCalls(latencyMs: number): void {
    const { calls, slow } = this.slowCalls.record(latencyMs >= this.slowCallMs, Date.now());
    if (
      calls >= Math.max(1, this.volumeThreshold) &&
      (slow / calls) * 100 >= this.slowCallRate &&
      !this.breaker.opened
    ) {
      this.slowCalls.reset();
      this.forceOpen(`${slow} of ${calls} calls slower than ${this.slowCallMs} ms`);
    }
  }

  /**
   * Failures in a row open the breaker at once. opossum's error percentage is over a time window, so
   * right after a busy healthy stretch it takes as many failures as there were successes to open; a
   * route whose endpoints all went down meanwhile would burn its messages' attempts.
   */
  private checkConsecutiveFailures(): void {
    const n = this.stats.consecutiveFailures;
    if (this.consecutiveFailures > 0 && n >= this.consecutiveFailures && !this.breaker.opened)
      this.forceOpen(`${n} calls in a row failed`);
  }

  dispose(): void {
    this.breaker.shutdown();
  }
}
