/**
 * Routing policies: given the endpoints a message may go to now, pick one. Candidates are
 * already filtered (breaker not open, not drained, not tried for this message when others remain).
 */
import type { EndpointRuntime } from './endpoint.ts';
import type { PolicyName } from './store.ts';

/** What a policy knows of the message it routes. */
export interface RoutedMessage {
  payloadBytes: number;
  type: string;
  attempt: number;
  /** Learned policy: this message's row in its batch's predictions, or -1. */
  scoreRow: number;
  /** Learned policy: the predictions of the batch the message came in (opaque to others). */
  scoreBatch: unknown;
}

/** What a policy currently thinks of an endpoint, for the status endpoint (never on the hot path). */
export interface EndpointScore {
  /** The rule that ranks it now: the route's policy, or p2c-peak-ewma for `learned` while it has no prediction. */
  basis: PolicyName;
  /** The cost the policy ranks by, lower is chosen first; null for round-robin, which takes turns by weight. */
  score: number | null;
  /** learned: predicted latency of an attempt (ms), never below the endpoint's recent record. */
  predictedLatencyMs: number | null;
  /** learned: predicted probability that an attempt fails or times out, never below its recent failure share. */
  failureProbability: number | null;
  /** learned: when these predictions were made (the last batch scored on the route). */
  predictedAt: number | null;
  /** The decayed peak-EWMA latency (ms) p2c-peak-ewma multiplies by in-flight + 1. */
  peakEwmaMs: number;
  inflight: number;
}

export interface RoutingPolicy {
  readonly name: PolicyName;
  /** Called once per consumed batch with the messages bound to the route, before any pick. */
  prepare?(endpoints: EndpointRuntime[], messages: RoutedMessage[], now: number): void;
  pick(candidates: EndpointRuntime[], message: RoutedMessage, now: number): EndpointRuntime;
  /** The endpoint's standing among the route's `endpoints` now. */
  score(endpoint: EndpointRuntime, endpoints: EndpointRuntime[], now: number): EndpointScore;
}

/** A score with the fields every policy reports. */
export function baseScore(basis: PolicyName, e: EndpointRuntime, now: number, score: number | null): EndpointScore {
  return {
    basis,
    score,
    predictedLatencyMs: null,
    failureProbability: null,
    predictedAt: null,
    peakEwmaMs: e.stats.peak.estimate(now),
    inflight: e.stats.inflight,
  };
}

export type Random = () => number;

/** Smooth weighted round-robin (nginx): even interleaving, shares proportional to weight. */
export class RoundRobin implements RoutingPolicy {
  readonly name = 'round-robin';
  private readonly current = new Map<string, number>();

  pick(candidates: EndpointRuntime[]): EndpointRuntime {
    let total = 0;
    let best = candidates[0]!;
    let bestValue = -Infinity;
    for (const e of candidates) {
      const w = e.weight;
      total += w;
      const v = (this.current.get(e.key) ?? 0) + w;
      this.current.set(e.key, v);
      if (v > bestValue) {
        bestValue = v;
        best = e;
      }
    }
    this.current.set(best.key, bestValue - total);
    return best;
  }

  score(e: EndpointRuntime, _all: EndpointRuntime[], now: number): EndpointScore {
    return baseScore(this.name, e, now, null);
  }
}

/** Fewest requests in flight relative to weight; ties broken by a rotating start. */
export class LeastInflight implements RoutingPolicy {
  readonly name = 'least-inflight';
  private turn = 0;

  pick(candidates: EndpointRuntime[]): EndpointRuntime {
    const n = candidates.length;
    const start = this.turn++ % n;
    let best = candidates[start]!;
    let bestLoad = (best.stats.inflight + 1) / best.weight;
    for (let i = 1; i < n; i++) {
      const e = candidates[(start + i) % n]!;
      const load = (e.stats.inflight + 1) / e.weight;
      if (load < bestLoad) {
        best = e;
        bestLoad = load;
      }
    }
    return best;
  }

  score(e: EndpointRuntime, _all: EndpointRuntime[], now: number): EndpointScore {
    return baseScore(this.name, e, now, (e.stats.inflight + 1) / e.weight);
  }
}

/** Finagle's penalty for an endpoint with requests in flight but no latency measured yet. */
const UNMEASURED_PENALTY = 1e9;

/** Peak-EWMA cost weighted by load, as Finagle and Linkerd balance. */
export function peakEwmaCost(e: EndpointRuntime, now: number): number {
  const rtt = e.stats.peak.estimate(now);
  const pending = e.stats.inflight;
  const cost = rtt === 0 && pending !== 0 ? UNMEASURED_PENALTY + pending : rtt * (pending + 1);
  return cost / e.weight;
}

/** Power of two choices: two distinct endpoints drawn (by weight), the one of lower peak-EWMA cost wins. */
export class P2cPeakEwma implements RoutingPolicy {
  readonly name: PolicyName = 'p2c-peak-ewma';
  private readonly random: Random;

  constructor(random: Random = Math.random) {
    this.random = random;
  }

  pick(candidates: EndpointRuntime[], _message: RoutedMessage, now: number): EndpointRuntime {
    if (candidates.length === 1) return candidates[0]!;
    const a = this.draw(candidates, -1);
    const b = this.draw(candidates, a);
    const ea = candidates[a]!;
    const eb = candidates[b]!;
    return peakEwmaCost(ea, now) <= peakEwmaCost(eb, now) ? ea : eb;
  }

  score(e: EndpointRuntime, _all: EndpointRuntime[], now: number): EndpointScore {
    return baseScore('p2c-peak-ewma', e, now, peakEwmaCost(e, now));
  }

  private draw(candidates: EndpointRuntime[], exclude: number): number {
    let total = 0;
    for (let i = 0; i < candidates.length; i++) if (i !== exclude) total += candidates[i]!.weight;
    let r = this.random() * total;
    for (let i = 0; i < candidates.length; i++) {
      if (i === exclude) continue;
      r -= candidates[i]!.weight;
      if (r <= 0) return i;
    }
    return exclude === candidates.length - 1 ? candidates.length - 2 : candidates.length - 1;
  }
}
