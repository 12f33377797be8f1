/** The uncommitted window of a partition and route outages: pure logic, with a fake consumer and fake endpoints. */
import { describe, expect, it } from 'vitest';
import type { EcosystemEventSpec } from '../../src/app/events.ts';
import type { BatchConsumer, ConsumedRecord } from '../../src/kafka/index.ts';
import { logger } from '../../src/log/index.ts';
import type { EndpointRuntime } from '../../src/relay/endpoint.ts';
import { WeightedGate } from '../../src/relay/gate.ts';
import { RouteOutages } from '../../src/relay/outage.ts';
import { PartitionWindow } from '../../src/relay/window.ts';

const log = logger('test');
const weights = { high: 8, normal: 3, low: 1 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fakeConsumer() {
  const commits: string[] = [];
  const paused: number[] = [];
  const consumer = {
    commits,
    paused,
    async commit(offsets: { offset: string }[]) {
      commits.push(...offsets.map((o) => o.offset));
    },
    pause: (_t: string, p: number[]) => paused.push(...p),
    resume: (_t: string, p: number[]) => {
      for (const x of p) paused.splice(paused.indexOf(x), 1);
    },
  };
  return consumer as unknown as BatchConsumer & { commits: string[]; paused: number[] };
}

const record = (offset: number, key: string | null = null): ConsumedRecord => ({
  topic: 't',
  partition: 0,
  offset: String(offset),
  key: key === null ? null : Buffer.from(key),
  value: Buffer.from('v'),
  headers: {},
  timestamp: 0,
});

describe('the uncommitted window of a partition', () => {
  it('completes records out of order and commits only past the completed run from its start', async () => {
    const units = new WeightedGate(10, weights);
    const consumer = fakeConsumer();
    const w = new PartitionWindow<null>('normal', 't', 0, consumer, units, log);
    const entries = [10, 11, 12, 13].map((o) => {
      expect(units.tryAcquire('normal')).toBe(true);
      return w.take(record(o), null).entry;
    });
    expect(units.inUse()).toBe(4);
    // The slow first record holds the commit back, not the completion of the others.
    w.complete(entries[1]!);
    w.complete(entries[2]!);
    await sleep(150);
    expect(consumer.commits).toEqual([]);
    w.complete(entries[0]!);
    await sleep(150);
    expect(consumer.commits).toEqual(['13']);
    expect(units.inUse()).toBe(1);
    expect(w.size()).toBe(1);
    w.complete(entries[3]!);
    await w.flush();
    expect(consumer.commits.at(-1)).toBe('14');
    expect(units.inUse()).toBe(0);
  });

  it('takes a record fetched again (a rejoin starts at the committed offset) only once', () => {
    const w = new PartitionWindow<null>('normal', 't', 0, fakeConsumer(), new WeightedGate(10, weights), log);
    w.take(record(5), null);
    w.take(record(6), null);
    expect(w.isNew(record(5))).toBe(false);
    expect(w.isNew(record(6))).toBe(false);
    expect(w.isNew(record(7))).toBe(true);
  });

  it('starts a record of a key only when the one before it is done, and other keys at once', () => {
    const w = new PartitionWindow<null>('normal', 't', 0, fakeConsumer(), new WeightedGate(10, weights), log);
    const a1 = w.take(record(1, 'a'), null);
    const b1 = w.take(record(2, 'b'), null);
    const a2 = w.take(record(3, 'a'), null);
    const free = w.take(record(4), null);
    expect([a1.runnable, b1.runnable, a2.runnable, free.runnable]).toEqual([true, true, false, true]);
    expect(w.complete(b1.entry)).toBeNull();
    expect(w.complete(a1.entry)).toBe(a2.entry);
    expect(w.complete(a2.entry)).toBeNull();
    // The key's chain is over: its next record starts at once.
    expect(w.take(record(5, 'a'), null).runnable).toBe(true);
  });

  it('gives every unit back and commits nothing once abandoned (revoked or stopping)', async () => {
    const units = new WeightedGate(10, weights);
    const consumer = fakeConsumer();
    const w = new PartitionWindow<null>('normal', 't', 0, consumer, units, log);
    units.tryAcquire('normal');
    units.tryAcquire('normal');
    const e1 = w.take(record(1), null).entry;
    w.take(record(2), null);
    w.abandon();
    expect(units.inUse()).toBe(0);
    expect(w.complete(e1)).toBeNull();
    await sleep(150);
    expect(consumer.commits).toEqual([]);
  });

  it('pauses its partition while any delivery of it waits for a route, and resumes after the last', () => {
    const consumer = fakeConsumer();
    const w = new PartitionWindow<null>('normal', 't', 0, consumer, new WeightedGate(10, weights), log);
    w.hold();
    w.hold();
    expect(consumer.paused).toEqual([0]);
    w.unhold();
    expect(w.isHeld()).toBe(true);
    w.unhold();
    expect(consumer.paused).toEqual([]);
  });
});

/** An endpoint whose availability and breaker state the test sets. */
function fakeEndpoint(id: string, state: { available: boolean; breaker: 'closed' | 'open' | 'half-open' }) {
  return {
    endpoint: { id },
    available: () => state.available,
    breakerState: () => state.breaker,
    state: () => state.breaker,
  } as unknown as EndpointRuntime;
}

describe('route outages', () => {
  it('holds messages until an endpoint is back, announces the pause and the resumption once each', async () => {
    const events: EcosystemEventSpec[] = [];
    const state = { available: false, breaker: 'open' as 'closed' | 'open' | 'half-open' };
    const route = { name: 'r', endpoints: [fakeEndpoint('a', state)] };
    const outages = new RouteOutages(
      () => route,
      (e) => events.push(e),
      log,
    );
    const waits = [outages.wait(route, 10_000), outages.wait(route, 10_000)];
    expect(outages.status('r')).toMatchObject({ waiting: 2, waited: 2 });
    // Half-open: every waiter tries again (one takes the probe); the outage goes on until a breaker is closed.
    state.available = true;
    state.breaker = 'half-open';
    expect(await Promise.all(waits)).toEqual(['available', 'available']);
    state.available = false;
    const again = outages.wait(route, 10_000, true);
    await sleep(250);
    expect(outages.active()).toEqual(['r']);
    expect(outages.status('r')).toMatchObject({ waiting: 1, waited: 2 });
    state.available = true;
    state.breaker = 'closed';
    expect(await again).toBe('available');
    await sleep(150);
    expect(outages.active()).toEqual([]);
    expect(events.map((e) => e.kind)).toEqual(['route_paused', 'route_resumed']);
    expect(events[1]!.data).toMatchObject({ route: 'r', waited: '2', expired: '0' });
  });

  it('gives up on a message after its longest wait, and on every message when consumption stops', async () => {
    const route = { name: 'r', endpoints: [fakeEndpoint('a', { available: false, breaker: 'open' })] };
    const outages = new RouteOutages(
      () => route,
      () => undefined,
      log,
    );
    expect(await outages.wait(route, 150)).toBe('expired');
    expect(outages.status('r')).toMatchObject({ expired: 1 });
    expect(await outages.wait(route, 0)).toBe('expired');
    const waiting = outages.wait(route, 10_000);
    outages.stopAll();
    expect(await waiting).toBe('stopped');
  });
});
