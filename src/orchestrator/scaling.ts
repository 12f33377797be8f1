/**
 * Scaling recommendations: replicas for the forecast peak plus headroom, with asymmetric
 * stabilisation so they do not flap: a scale-up applies at once, a scale-down only once the
 * cool-down since the last change has passed and the forecast has stayed low all that time
 * (the recommendation is the largest need seen in the cool-down window, as Kubernetes' HPA does).
 */

export interface ScalingSettings {
  headroom: number;
  minReplicas: number;
  maxReplicas: number;
  cooldownMs: number;
  pricePerReplicaHour: number;
}

export interface Recommendation {
  service: string;
  currentReplicas: number | null;
  desiredReplicas: number;
  /** Replicas the forecast peak needs, before stabilisation. */
  neededReplicas: number;
  peakRps: number;
  capacityPerReplicaRps: number;
  /** Change of the hourly cost if applied (negative: saving). */
  costDeltaPerHour: number;
  costDeltaPerMonth: number;
  reason: string;
  at: number;
  /** When this desired value was first recommended (stable while it stands). */
  since: number;
}

const HOURS_PER_MONTH = 730;

export class ScalingAdvisor {
  private desired: number | undefined;
  private changedAt = 0;
  /** (time, needed) in the cool-down window, for scale-down stabilisation. */
  private readonly window: { at: number; needed: number }[] = [];

  readonly service: string;
  private readonly settings: ScalingSettings;

  constructor(service: string, settings: ScalingSettings) {
    this.service = service;
    this.settings = settings;
  }

  /** The recommendation for a forecast peak (requests per second) and the replicas now serving. */
  recommend(peakRps: number, capacityRps: number, currentReplicas: number | null, now: number): Recommendation {
    const s = this.settings;
    const raw = Math.ceil((Math.max(0, peakRps) * (1 + s.headroom)) / capacityRps);
    const needed = Math.min(s.maxReplicas, Math.max(s.minReplicas, raw));
    this.window.push({ at: now, needed });
    while (this.window.length && this.window[0]!.at < now - s.cooldownMs) this.window.shift();
    const stable = Math.max(...this.window.map((w) => w.needed));
    const previous = this.desired ?? currentReplicas ?? needed;
    let desired = previous;
    let reason: string;
    if (needed > previous) {
      desired = needed;
      reason = `forecast peak ${peakRps.toFixed(1)} req/s needs ${needed} replicas with ${Math.round(s.headroom * 100)}% headroom`;
    } else if (stable < previous && now - this.changedAt >= s.cooldownMs) {
      desired = stable;
      reason = `forecast peak has needed at most ${stable} replicas for the whole cool-down`;
    } else {
      reason =
        stable < previous
          ? `fewer replicas would do, but the cool-down keeps ${previous}`
          : `${previous} replicas cover the forecast peak`;
    }
    if (desired !== this.desired) {
      this.desired = desired;
      this.changedAt = now;
    }
    const base = currentReplicas ?? desired;
    const delta = (desired - base) * s.pricePerReplicaHour;
    return {
      service: this.service,
      currentReplicas,
      desiredReplicas: desired,
      neededReplicas: needed,
      peakRps,
      capacityPerReplicaRps: capacityRps,
      costDeltaPerHour: delta,
      costDeltaPerMonth: delta * HOURS_PER_MONTH,
      reason,
      at: now,
      since: this.changedAt,
    };
  }
}
