/**
 * A route whose endpoints are all down (issue 12): under a steady 200 messages/s, both endpoints of
 * the route answer 503 for a while. Their breakers open, the route pauses (its partitions stop being
 * fetched, /health and ecosystem.events say so) instead of dead-lettering the backlog as no_endpoint;
 * when the endpoints come back, a half-open probe succeeds, the route resumes, and every message is
 * delivered: none dead-lettered, none lost. (The acceptance figure is a 60 s outage; `npm run chaos --
 * --only outage` runs it at full length; here it is shorter, with the same mechanism.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EcosystemEvent } from '../../schemas/types.ts';
import { follow, type RelayHarness, startRelay, type TestEndpoint, testEndpoint, until } from '../helpers/relay.ts';

const RATE = 200;
const UP_BEFORE_MS = 2_000;
const DOWN_MS = 10_000;
const UP_AFTER_MS = 3_000;

interface Health {
  status: string;
  components: Record<string, { status: string; detail?: string }>;
}
interface Status {
  uncommitted: { pausedPartitions: { partition: number }[] };
  routes: { name: string; outage: { since: number; waiting: number } | null }[];
}

describe('a route with every endpoint down', () => {
  let h: RelayHarness;
  let down = false;
  const endpoints: TestEndpoint[] = [];

  beforeAll(async () => {
    // The longest wait is well past the outage: nothing may be dead-lettered for lack of an endpoint.
    h = await startRelay({ RELAY_NO_ENDPOINT_MAX_WAIT_MS: '120000' }, 'outage');
    for (let i = 0; i < 2; i++) endpoints.push(await testEndpoint(() => ({ status: down ? 503 : 200 })));
    const res = await h.api('POST', '/relaycore/routes', {
      name: 'orders',
      policy: 'p2c-peak-ewma',
      maxAttempts: 3,
      settings: { volumeThreshold: 5, resetTimeoutMs: 1000, rollingWindowMs: 2000 },
      endpoints: endpoints.map((e, i) => ({ id: `e${i}`, kind: 'HTTP', target: e.url, timeoutMs: 2000 })),
    });
    expect(res.status).toBe(201);
  });
  afterAll(async () => {
    await Promise.all(endpoints.map((e) => e.close()));
    await h?.close();
  });

  it('pauses instead of dead-lettering, says so, and delivers every message once the endpoints are back', async () => {
    const [events, dead] = await Promise.all([follow(h.kafka, 'ecosystem.events'), follow(h.kafka, 'deadletter')]);
    const producer = await h.kafka.producer();
    const ids: string[] = [];
    const health: Health[] = [];
    const status: Status[] = [];
    let consumedWhenDown = 0;
    const t0 = Date.now();
    // 200 messages/s in 50 ms steps, the route's endpoints down from UP_BEFORE_MS for DOWN_MS.
    while (Date.now() - t0 < UP_BEFORE_MS + DOWN_MS + UP_AFTER_MS) {
      const elapsed = Date.now() - t0;
      const wasDown = down;
      down = elapsed >= UP_BEFORE_MS && elapsed < UP_BEFORE_MS + DOWN_MS;
      if (down && !wasDown) consumedWhenDown = h.relay.loop.counters.consumed;
      if (down && elapsed > UP_BEFORE_MS + DOWN_MS / 2 && health.length < 3) {
        health.push(await healthOf(h));
        status.push((await h.api<Status>('GET', '/relaycore/status')).body);
      }
      const batch = Array.from(
        { length: RATE / 20 },
        () => `m-${ids.length}-${Math.random().toString(36).slice(2, 8)}`,
      );
      ids.push(...batch);
      await producer.send(
        'messages.normal',
        batch.map((id) => ({ key: null, value: { id, route: 'orders', payload: JSON.stringify({ id }) } })),
      );
      await new Promise((r) => setTimeout(r, 50));
    }
    const producedWhileDown = Math.round((DOWN_MS / 1000) * RATE);
    const consumedDuringOutage = h.relay.loop.counters.consumed - consumedWhenDown;

    // Every message delivered after the endpoints came back; none dead-lettered.
    const delivered = () => new Set(endpoints.flatMap((e) => e.delivered()));
    await until(() => ids.every((id) => delivered().has(id)), 'every message to be delivered', 120_000);
    await until(() => h.relay.loop.outages.active().length === 0, 'the route to resume', 30_000);
    expect(dead.records).toHaveLength(0);
    expect(h.relay.loop.counters.deadLettered).toBe(0);

    // While down, the partitions were paused: the backlog stayed in Kafka (far fewer messages taken than produced).
    expect(consumedDuringOutage).toBeLessThan(producedWhileDown + (UP_AFTER_MS / 1000) * RATE);
    expect(status.some((s) => s.uncommitted.pausedPartitions.length > 0)).toBe(true);
    expect(status.some((s) => (s.routes.find((r) => r.name === 'orders')?.outage?.waiting ?? 0) > 0)).toBe(true);
    // /health said so.
    const relayHealth = health.map((x) => x.components.relay!);
    expect(relayHealth.some((c) => c.status === 'degraded' && /route orders paused/.test(c.detail ?? ''))).toBe(true);

    // ecosystem.events: paused, then resumed.
    await until(
      async () => (await decode(h, events.records)).some((e) => e.kind === 'route_resumed' && e.subject === 'orders'),
      'route_resumed',
    );
    const kinds = (await decode(h, events.records)).filter((e) => e.subject === 'orders').map((e) => e.kind);
    expect(kinds.indexOf('route_paused')).toBeGreaterThanOrEqual(0);
    expect(kinds.lastIndexOf('route_resumed')).toBeGreaterThan(kinds.indexOf('route_paused'));
    // Healthy again, and the consumer group caught up (nothing left uncommitted).
    await until(async () => (await healthOf(h)).components.relay?.status === 'ok', 'relay health ok');
    await until(
      async () =>
        (await h.api<{ lag: { normal: { total: number } } }>('GET', '/relaycore/status')).body.lag.normal.total === 0,
      'lag 0',
    );
    await Promise.all([events.stop(), dead.stop()]);
  }, 240_000);
});

async function healthOf(h: RelayHarness): Promise<Health> {
  return (await fetch(h.base.replace(/\/api\/v2$/, '/health'))).json() as Promise<Health>;
}

async function decode(h: RelayHarness, records: { value: Buffer | null }[]): Promise<EcosystemEvent[]> {
  return Promise.all(
    records.map(async (r) => (await h.kafka.serde.decode('ecosystem.events', r.value)).value as EcosystemEvent),
  );
}
