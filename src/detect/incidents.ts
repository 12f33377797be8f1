/**
 * Hysteresis from scores to incidents: one incident opens when the score reaches `open`, is
 * updated only when it gets materially worse (or its kind or lead metric changes, at most every
 * `updateEvery` samples), and closes once the score has stayed below `close` for `closeAfter`
 * samples. So one incident is one OPEN, a few UPDATEs and one CLOSED, never a storm.
 */
export interface HysteresisSettings {
  open: number;
  close: number;
  closeAfter: number;
  /** Least number of samples between two UPDATE records of one incident. */
  updateEvery: number;
  /** Score rise over the last published score that warrants an UPDATE. */
  updateRise: number;
}

export const DEFAULT_HYSTERESIS: HysteresisSettings = {
  open: 0.5,
  close: 0.3,
  closeAfter: 12,
  updateEvery: 10,
  updateRise: 0.1,
};

export type Transition = 'OPEN' | 'UPDATE' | 'CLOSED';

export interface IncidentView {
  id: string;
  startedAt: number;
  peak: number;
  /** Score and kind of the last published record. */
  score: number;
  kind: number;
  lead: string;
  /** Metrics named by the last OPEN or UPDATE record (the CLOSED record names the same). */
  metrics?: string[];
}

/** Deterministic: replaying the same samples gives the same incident id. */
export const incidentId = (service: string, startedAt: number): string => `${service}@${startedAt}`;

export class IncidentTracker {
  private current: IncidentView | undefined;
  private below = 0;
  private sinceUpdate = 0;

  readonly service: string;
  private readonly settings: HysteresisSettings;

  constructor(service: string, settings: HysteresisSettings = DEFAULT_HYSTERESIS) {
    this.service = service;
    this.settings = settings;
  }

  get open(): IncidentView | undefined {
    return this.current;
  }

  /**
   * Takes one scored sample; returns the transition it causes, if any. `lead` names the most
   * anomalous metric (used to notice a change of what is wrong).
   */
  observe(at: number, score: number, kind: number, lead: string): Transition | undefined {
    const cur = this.current;
    if (!cur) {
      if (score < this.settings.open) return undefined;
      this.current = { id: incidentId(this.service, at), startedAt: at, peak: score, score, kind, lead };
      this.below = 0;
      this.sinceUpdate = 0;
      return 'OPEN';
    }
    this.sinceUpdate++;
    if (score < this.settings.close) {
      if (++this.below >= this.settings.closeAfter) {
        this.current = undefined;
        return 'CLOSED';
      }
      return undefined;
    }
    this.below = 0;
    if (score > cur.peak) cur.peak = score;
    const worse = score >= cur.score + this.settings.updateRise;
    const changed = score >= this.settings.open && (kind !== cur.kind || lead !== cur.lead);
    if ((worse || changed) && this.sinceUpdate >= this.settings.updateEvery) {
      cur.score = score;
      cur.kind = kind;
      cur.lead = lead;
      this.sinceUpdate = 0;
      return 'UPDATE';
    }
    return undefined;
  }

  /** Ends an open incident (e.g. the service went silent); returns it, if there was one. */
  forceClose(): IncidentView | undefined {
    const cur = this.current;
    this.current = undefined;
    return cur;
  }

  toJSON(): IncidentSnapshot {
    return { current: this.current ?? null, below: this.below, sinceUpdate: this.sinceUpdate };
  }

  restore(snap: IncidentSnapshot): void {
    this.current = snap.current ?? undefined;
    this.below = snap.below;
    this.sinceUpdate = snap.sinceUpdate;
  }
}

export interface IncidentSnapshot {
  current: IncidentView | null;
  below: number;
  sinceUpdate: number;
}
