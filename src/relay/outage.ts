/**
 * Route outages: while no endpoint of a route is available (every breaker open, or drained, forced
 * open, weighted to 0), its messages wait here instead of being dead-lettered, and the partitions
 * they came from are paused (window.ts), so the backlog stays in Kafka. The wait ends when an
 * endpoint can be tried again (a breaker half-opens: one delivery is its probe; if that fails, the
 * breaker opens again and the wait goes on), or after the longest wait (RELAY_NO_ENDPOINT_MAX_WAIT_MS),
 * when the message is dead-lettered as `no_endpoint`. An outage is announced on ecosystem.events
 * (`route_paused`, then `route_resumed`) and shows in /health and the status.
 */
import type { EcosystemEventSpec } from '../app/events.ts';
import type { Logger } from '../log/index.ts';
import type { EndpointRuntime } from './endpoint.ts';

const POLL_MS = 100;

export type WaitResult = 'available' | 'expired' | 'stopped';

interface Waiter {
  deadline: number;
  resolve: (r: WaitResult) => void;
}

interface Outage {
  since: number;
  waiters: Set<Waiter>;
  /** Messages that waited in this outage so far. */
  waited: number;
  expired: number;
  /** The last time a message started or went on waiting. */
  lastWaitAt: number;
}

/** An outage nobody has waited in for this long ends, even if no breaker has closed (the route gets no traffic). */
const IDLE_END_MS = 5000;

export interface OutageStatus {
  since: number;
  waiting: number;
  waited: number;
  /** Dead-lettered as no_endpoint after the longest wait, in this outage. */
  expired: number;
}

/** What the outages need to know of a route. */
export interface OutageRoute {
  name: string;
  endpoints: EndpointRuntime[];
}

const describeEndpoints = (endpoints: EndpointRuntime[], now: number) =>
  endpoints.map((e) => `${e.endpoint.id}: ${e.state(now)}`).join(', ');

export class RouteOutages {
  private readonly outages = new Map<string, Outage>();
  private timer?: NodeJS.Timeout;

  private readonly route: (name: string) => OutageRoute | undefined;
  private readonly publish: (e: EcosystemEventSpec) => void;
  private readonly log: Logger;

  constructor(route: (name: string) => OutageRoute | undefined, publish: (e: EcosystemEventSpec) => void, log: Logger) {
    this.route = route;
    this.publish = publish;
    this.log = log;
  }

  /** Waits until an endpoint of the route may be tried again, at most `maxMs` (`again`: the same message waited before). */
  wait(rt: OutageRoute, maxMs: number, again = false): Promise<WaitResult> {
    if (maxMs <= 0) return Promise.resolve('expired');
    const now = Date.now();
    let outage = this.outages.get(rt.name);
    if (!outage) {
      outage = { since: now, waiters: new Set(), waited: 0, expired: 0, lastWaitAt: now };
      this.outages.set(rt.name, outage);
      const states = describeEndpoints(rt.endpoints, now);
      this.log.warn({ route: rt.name, endpoints: states }, `route ${rt.name} paused: no endpoint available`);
      this.publish({
        component: 'relay',
        kind: 'route_paused',
        severity: 'WARNING',
        subject: rt.name,
        message: `route ${rt.name} paused: no endpoint is available (${states}); its messages wait (their partitions are paused) until a breaker's probe succeeds`,
        data: { route: rt.name, endpoints: states },
      });
    }
    if (!again) outage.waited++;
    outage.lastWaitAt = now;
    this.timer ??= setInterval(() => this.tick(), POLL_MS);
    const o = outage;
    return new Promise((resolve) => o.waiters.add({ deadline: now + maxMs, resolve }));
  }

  /** Ends every wait (consumption stops). */
  stopAll(): void {
    for (const outage of this.outages.values()) this.wake(outage, 'stopped');
  }

  status(route: string): OutageStatus | null {
    const o = this.outages.get(route);
    return o ? { since: o.since, waiting: o.waiters.size, waited: o.waited, expired: o.expired } : null;
  }

  active(): string[] {
    return [...this.outages.keys()];
  }

  private tick(): void {
    const now = Date.now();
    for (const [name, outage] of this.outages) {
      for (const w of outage.waiters)
        if (w.deadline <= now) {
          outage.waiters.delete(w);
          outage.expired++;
          w.resolve('expired');
        }
      const rt = this.route(name);
      const available = rt?.endpoints.filter((e) => e.available(now)) ?? [];
      // A route deleted meanwhile: the waiters find that out (unknown_route).
      if (rt && !available.length) continue;
      const waiting = outage.waiters.size > 0;
      // Every waiter tries again; one takes a half-open breaker's probe, the others wait on.
      this.wake(outage, 'available');
      // The probe may still fail: the outage ends once a breaker is closed, or when nobody has waited for a while.
      const recovered = !rt || available.some((e) => e.breakerState() === 'closed');
      if (recovered || (!waiting && now - outage.lastWaitAt > IDLE_END_MS)) this.end(name, outage, now);
    }
    if (!this.outages.size) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private wake(outage: Outage, result: WaitResult): void {
    const waiters = [...outage.waiters];
    outage.waiters.clear();
    for (const w of waiters) w.resolve(result);
  }

  private end(name: string, outage: Outage, now: number): void {
    this.outages.delete(name);
    const seconds = ((now - outage.since) / 1000).toFixed(1);
    const message = `route ${name} resumed after ${seconds} s: an endpoint is available again (${outage.waited} messages waited${outage.expired ? `, ${outage.expired} dead-lettered after the longest wait` : ''})`;
    this.log.info(
      { route: name, pausedMs: now - outage.since, waited: outage.waited, expired: outage.expired },
      message,
    );
    this.publish({
      component: 'relay',
      kind: 'route_resumed',
      severity: 'INFO',
      subject: name,
      message,
      data: {
        route: name,
        pausedMs: String(now - outage.since),
        waited: String(outage.waited),
        expired: String(outage.expired),
      },
    });
  }
}
