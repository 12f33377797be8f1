import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RelayHarness, startRelay, type TestEndpoint, testEndpoint, until } from '../helpers/relay.ts';

describe('RelayCore priority tiers', () => {
  let h: RelayHarness;
  let ep: TestEndpoint;
  beforeAll(async () => {
    // Few delivery slots and a slow endpoint, so the tiers compete for slots.
    h = await startRelay({ RELAY_MAX_INFLIGHT: '4', RELAY_TIER_WEIGHTS: 'high=8,normal=3,low=1' }, 'tiers');
    ep = await testEndpoint(() => ({ status: 200, delayMs: 5 }));
    await h.api('POST', '/relaycore/routes', {
      name: 'bulk',
      policy: 'round-robin',
      endpoints: [{ id: 'only', kind: 'HTTP', target: ep.url }],
    });
  });
  afterAll(async () => {
    await ep?.close();
    await h?.close();
  });

  it('serves high priority under a flood of low, and low still progresses', async () => {
    const producer = await h.kafka.producer();
    const low = Array.from({ length: 1500 }, (_, i) => ({ value: { id: `low-${i}`, route: 'bulk', payload: '{}' } }));
    await producer.send('messages.low', low);
    await until(() => ep.hits.length >= 50, 'the low flood to start');
    const high = Array.from({ length: 40 }, (_, i) => ({ value: { id: `high-${i}`, route: 'bulk', payload: '{}' } }));
    await producer.send('messages.high', high);
    await until(() => ep.delivered().filter((id) => id.startsWith('high-')).length >= 40, 'every high message');
    const order = ep.delivered();
    const lastHigh = order.findLastIndex((id) => id.startsWith('high-'));
    const firstHigh = order.findIndex((id) => id.startsWith('high-'));
    const lowBacklogAfterHigh = 1500 - order.slice(0, lastHigh + 1).filter((id) => id.startsWith('low-')).length;
    // High did not queue behind the low backlog...
    expect(lowBacklogAfterHigh).toBeGreaterThan(1000);
    // ...and low kept getting its share of slots while high was served.
    expect(order.slice(firstHigh, lastHigh).some((id) => id.startsWith('low-'))).toBe(true);
    await until(() => new Set(ep.delivered()).size >= 1540, 'the low flood to drain');
    const granted = h.relay.loop.gate.granted;
    expect(granted.high).toBe(40);
    expect(granted.low).toBe(1500);
  }, 120_000);
});
