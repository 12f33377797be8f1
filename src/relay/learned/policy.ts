/**
 * The `learned` policy: for every consumed batch, one batched inference predicts, for each
 * (message, candidate endpoint), the attempt's latency and failure probability; each decision
 * then takes the lowest expected cost, latency plus the price of a failure (a backoff and a
 * retry elsewhere). Endpoints whose predicted failure probability crosses the shed threshold are
 * skipped before their breaker would open; a little exploration (random picks, and one probe of
 * any endpoint unmeasured for a while) keeps every endpoint measured. Without a model it is
 * p2c-peak-ewma.
 */
import type { EndpointRuntime } from '../endpoint.ts';
import {
  baseScore,
  type EndpointScore,
  P2cPeakEwma,
  type Random,
  type RoutedMessage,
  type RoutingPolicy,
} from '../policies.ts';
import { FEATURE_COUNT, writeFeatures } from './features.ts';

export interface Prediction {
  /** Expected attempt latency, ms (the mean of the predicted distribution: its tail included). */
  latencyMs: Float32Array;
  /** Predicted probability that the attempt fails or times out. */
  failure: Float32Array;
}

/** A loaded routing model: pure batched inference over feature rows. */
export interface RoutingScorer {
  readonly version: string;
  predict(rows: Float32Array, count: number): Prediction;
  dispose(): void;
}

export interface LearnedOptions {
  exploration: number;
  shedThreshold: number;
  probeIntervalMs: number;
  retryBackoffMs: number;
  /** What a failed attempt costs beyond its own latency, in ms: the operator's price of a failure. */
  failureCostMs: number;
  /** Requests in flight at which an endpoint's expected cost doubles. */
  loadScale: number;
  onShed: (endpoint: EndpointRuntime, shed: boolean, failure: number) => void;
}

interface Predicted {
  latency: number;
  failure: number;
}

/** Predictions of one endpoint from the latest batch, for retries and messages scored without a batch. */
interface LatestPrediction extends Predicted {
  at: number;
}

/**
 * The cost the policy ranks by: a failed attempt costs its own time, a backoff, a retry on (at best) the
 * fastest endpoint, and the price of a failure (`retryPrice`). Requests already in flight (this batch's own
 * dispatches included) make an endpoint's latency dearer, so a burst spreads instead of herding onto the
 * cheapest endpoint; the price of a failure does not shrink with load, so a backlog never pushes traffic
 * onto a failing endpoint.
 */
export function expectedCost(
  latency: number,
  failure: number,
  inflight: number,
  weight: number,
  retryPrice: number,
  loadScale: number,
): number {
  return (latency * (1 + inflight / loadScale) + failure * retryPrice) / Math.max(weight, 1e-6);
}

/** Predictions of one batch: row = message.scoreRow * width + endpoint index. */
interface BatchScores {
  keys: Map<string, number>;
  latency: Float32Array;
  failure: Float32Array;
  width: number;
}

/**
 * What the endpoint's attempts took lately at the concurrency this one would start at (ms; 0 while that
 * level has fewer than 3 measurements). The batch's predictions were made before its own dispatches
 * raised the endpoint's load: past a capacity cliff, they must not be more optimistic than this.
 */
function latencyAtLoad(e: EndpointRuntime): number {
  const concurrent = e.stats.inflight + 1;
  if (e.stats.latByLoad.measured(concurrent) < 3) return 0;
  return Math.expm1(e.stats.latByLoad.at(concurrent) ?? 0);
}

export class LearnedPolicy implements RoutingPolicy {
  readonly name = 'learned';
  private readonly fallback: P2cPeakEwma;
  private readonly latest = new Map<string, LatestPrediction>();
  private rows = new Float32Array(0);
  private readonly lastProbe = new Map<string, number>();
  /** Total decision work (feature rows + inference + picks), for the status endpoint and the benchmark. */
  inferenceMs = 0;
  /** The last time the model's predictions could not be used (its batch ranked by p2c-peak-ewma), and why. */
  lastFallback: { at: number; reason: string } | null = null;

  private readonly scorer: () => RoutingScorer | null;
  private readonly options: () => LearnedOptions;
  private readonly random: Random;

  constructor(scorer: () => RoutingScorer | null, options: () => LearnedOptions, random: Random = Math.random) {
    this.scorer = scorer;
    this.options = options;
    this.random = random;
    this.fallback = new P2cPeakEwma(random);
  }

  prepare(endpoints: EndpointRuntime[], messages: RoutedMessage[], now: number): void {
    const scorer = this.scorer();
    if (!scorer || !endpoints.length || !messages.length) return;
    const started = performance.now();
    const width = endpoints.length;
    // Within a batch the endpoint features are the same for every message; messages that also agree on
    // their own features (payload size, type, attempt) have the same rows, so each such group is scored once.
    const groups = new Map<string, number>();
    const groupOf = new Int32Array(messages.length);
    const firsts: RoutedMessage[] = [];
    messages.forEach((m, i) => {
      const key = `${m.payloadBytes}|${m.type}|${m.attempt}`;
      let g = groups.get(key);
      if (g === undefined) {
        g = firsts.length;
        groups.set(key, g);
        firsts.push(m);
      }
      groupOf[i] = g;
    });
    const count = firsts.length * width;
    if (this.rows.length < count * FEATURE_COUNT) this.rows = new Float32Array(count * FEATURE_COUNT * 2);
    let row = 0;
    for (const m of firsts) {
      for (const e of endpoints) writeFeatures(this.rows, row++ * FEATURE_COUNT, e, m, now);
    }
    const { latencyMs, failure } = scorer.predict(this.rows, count);
    // A model that answers NaN (diverged training) is no model: the picks fall back to p2c.
    if (!latencyMs.every(Number.isFinite) || !failure.every(Number.isFinite)) {
      this.lastFallback = { at: now, reason: `model ${scorer.version} predicted a non-finite value for a batch` };
      return;
    }
    // The model may predict an endpoint worse than its recent record (a rising trend, a learned
    // pattern), never better: an optimistic guess for an endpoint that just did badly is the
    // extrapolation error that costs the tail, when it sees states its training traffic did not.
    for (let i = 0; i < count; i++) {
      const s = endpoints[i % width]!.stats;
      if (s.attempts === 0) continue;
      if (latencyMs[i]! < s.latFast.value) latencyMs[i] = s.latFast.value;
      if (failure[i]! < s.errFast.value) failure[i] = s.errFast.value;
    }
    const batch: BatchScores = {
      keys: new Map(endpoints.map((e, j) => [e.key, j])),
      latency: latencyMs,
      failure,
      width,
    };
    messages.forEach((m, i) => {
      m.scoreRow = groupOf[i]!;
      m.scoreBatch = batch;
    });
    const { shedThreshold, onShed } = this.options();
    endpoints.forEach((e, j) => {
      const lat = latencyMs[j]!;
      const fail = failure[j]!;
      this.latest.set(e.key, { latency: lat, failure: fail, at: now });
      // Hysteresis, so an endpoint near the threshold does not flap in and out.
      const shed = e.shedding ? fail > shedThreshold * 0.8 : fail > shedThreshold;
      if (shed !== e.shedding) {
        e.shedding = shed;
        onShed(e, shed, fail);
      }
    });
    this.inferenceMs += performance.now() - started;
  }

  pick(candidates: EndpointRuntime[], message: RoutedMessage, now: number): EndpointRuntime {
    if (!this.scorer() || candidates.length === 1) return this.fallback.pick(candidates, message, now);
    const opts = this.options();
    let bestLatency = Infinity;
    const latencies = new Float64Array(candidates.length);
    const failures = new Float64Array(candidates.length);
    for (let i = 0; i < candidates.length; i++) {
      const e = candidates[i]!;
      const s = this.prediction(e, message);
      if (!s) return this.fallback.pick(candidates, message, now);
      latencies[i] = Math.max(s.latency, latencyAtLoad(e));
      failures[i] = s.failure;
      if (latencies[i]! < bestLatency) bestLatency = latencies[i]!;
    }
    const probe = this.probe(candidates, failures, now, opts);
    if (probe) return probe;
    if (opts.exploration > 0 && this.random() < opts.exploration) {
      // Explore among endpoints not predicted to fail: probes alone re-measure the suspect ones.
      const safe = candidates.filter((_, i) => failures[i]! < opts.shedThreshold / 2);
      if (safe.length) return safe[Math.floor(this.random() * safe.length)]!;
    }
    const retryPrice = opts.retryBackoffMs + bestLatency + opts.failureCostMs;
    let best = -1;
    let bestCost = Infinity;
    for (const allowShed of [false, true]) {
      for (let i = 0; i < candidates.length; i++) {
        const e = candidates[i]!;
        if (!allowShed && failures[i]! > opts.shedThreshold) continue;
        const cost = expectedCost(latencies[i]!, failures[i]!, e.stats.inflight, e.weight, retryPrice, opts.loadScale);
        if (cost < bestCost) {
          bestCost = cost;
          best = i;
        }
      }
      if (best >= 0) break;
    }
    return best >= 0 ? candidates[best]! : this.fallback.pick(candidates, message, now);
  }

  /**
   * One probe to an endpoint nobody has measured for a while (also how a shed endpoint comes back);
   * an endpoint predicted to fail is probed five times less often.
   */
  private probe(
    candidates: EndpointRuntime[],
    failures: Float64Array,
    now: number,
    opts: LearnedOptions,
  ): EndpointRuntime | undefined {
    for (let i = 0; i < candidates.length; i++) {
      const e = candidates[i]!;
      const interval = failures[i]! >= opts.shedThreshold / 2 ? opts.probeIntervalMs * 5 : opts.probeIntervalMs;
      const lastSeen = Math.max(e.stats.lastObservedAt, e.stats.lastStartedAt, this.lastProbe.get(e.key) ?? 0);
      if (now - lastSeen > interval) {
        this.lastProbe.set(e.key, now);
        return e;
      }
    }
    return undefined;
  }

  /** The expected cost of the latest predictions, against the best predicted latency among the available endpoints. */
  score(e: EndpointRuntime, endpoints: EndpointRuntime[], now: number): EndpointScore {
    const own = this.scorer() ? this.latest.get(e.key) : undefined;
    if (!own) return this.fallback.score(e, endpoints, now);
    const opts = this.options();
    let bestLatency = own.latency;
    for (const other of endpoints) {
      const p = this.latest.get(other.key);
      if (p && other.available(now) && p.latency < bestLatency) bestLatency = p.latency;
    }
    const cost = expectedCost(
      own.latency,
      own.failure,
      e.stats.inflight,
      e.weight,
      opts.retryBackoffMs + bestLatency + opts.failureCostMs,
      opts.loadScale,
    );
    return {
      ...baseScore(this.name, e, now, cost),
      predictedLatencyMs: own.latency,
      failureProbability: own.failure,
      predictedAt: own.at,
    };
  }

  private prediction(e: EndpointRuntime, m: RoutedMessage): Predicted | undefined {
    const latest = this.latest.get(e.key);
    const b = m.scoreBatch as BatchScores | null;
    const j = b?.keys.get(e.key);
    if (!b || j === undefined || m.scoreRow < 0 || m.attempt > 1) return latest;
    const idx = m.scoreRow * b.width + j;
    if (idx >= b.latency.length) return latest;
    return { latency: b.latency[idx]!, failure: b.failure[idx]! };
  }
}
