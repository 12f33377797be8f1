import { describe, expect, it } from 'vitest';
import { CLOSE_TOO_SLOW, Client, type ClientLimits, type Sink } from '../../src/gateway/client.ts';
import { FrameClock, type FrameItem } from '../../src/gateway/frames.ts';
import type { Subscription } from '../../src/gateway/loop.ts';
import { cutPieces, DataPiece, type PreparedRecord } from '../../src/gateway/records.ts';
import { logger } from '../../src/log/index.ts';

/** A socket that takes everything until it is "full", then holds it until drained; keeps each frame as parsed JSON. */
class FakeSink implements Sink {
  readonly kind = 'ws';
  full = false;
  readonly frames: Record<string, unknown>[][] = [];
  closed?: { code: number; reason: string };
  private readonly clock: FrameClock;
  constructor(clock: FrameClock) {
    this.clock = clock;
  }
  buffered(): number {
    return this.full ? 1 << 30 : 0;
  }
  send(items: readonly FrameItem[]): void {
    this.frames.push(JSON.parse(this.clock.frame(items).toString()) as Record<string, unknown>[]);
  }
  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }
  /** Every message of every frame, records as "partition/offset". */
  get out(): (Record<string, unknown> | { records: string[] })[] {
    return this.frames
      .flat()
      .map((m) =>
        m.type === 'data'
          ? { records: (m.records as { partition: number; offset: string }[]).map((r) => `${r.partition}/${r.offset}`) }
          : m,
      );
  }
}

const sub = { id: 's1' } as Subscription;
function records(partition: number, from: number, n: number): PreparedRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    partition,
    offset: BigInt(from + i),
    timestamp: 0,
    key: null,
    value: {},
    json: `{"partition":${partition},"offset":"${from + i}"}`,
  }));
}
const piece = (partition: number, from: number, n: number) =>
  new DataPiece('s1', 't', records(partition, from, n), 30 * n);

const log = logger('test');

function setup(limits: Partial<ClientLimits> = {}, maxBytes = 1 << 20) {
  const clock = new FrameClock({ tickMs: 1000, maxBytes });
  const sink = new FakeSink(clock);
  const client = new Client(sink, { buffer: 10, policy: 'drop', maxSubscriptions: 5, ...limits }, clock, log, 'test');
  return { clock, sink, client };
}

describe('frames', () => {
  it('sends everything that arrived for a client between two ticks as one frame, controls and data in order', () => {
    const { clock, sink, client } = setup({ buffer: 100 });
    client.notify({ type: 'subscribed', id: 's1' });
    client.deliver(sub, [piece(0, 0, 3)]);
    client.deliver(sub, [piece(1, 0, 2)]);
    client.notify({ type: 'caught_up', id: 's1' });
    expect(sink.frames).toHaveLength(0);
    clock.tick();
    expect(sink.frames).toHaveLength(1);
    expect(sink.out).toEqual([
      { type: 'subscribed', id: 's1' },
      { records: ['0/0', '0/1', '0/2'] },
      { records: ['1/0', '1/1'] },
      { type: 'caught_up', id: 's1' },
    ]);
    clock.tick();
    expect(sink.frames).toHaveLength(1);
  });

  it('shares one buffer between clients that get the same records', () => {
    const clock = new FrameClock({ tickMs: 1000, maxBytes: 1 << 20 });
    const p = piece(0, 0, 2);
    const q = piece(1, 5, 2);
    expect(clock.frame([p])).toBe(clock.frame([p]));
    expect(clock.frame([p, q])).toBe(clock.frame([p, q]));
    expect(JSON.parse(clock.frame([p, q]).toString())).toHaveLength(2);
  });

  it('writes before the tick once the byte cap is reached, and cuts big batches near the cap', () => {
    const { sink, client } = setup({ buffer: 10_000 }, 2000);
    const recs = records(0, 0, 500);
    const pieces = cutPieces('s1', 't', recs, 2000);
    expect(pieces.length).toBeGreaterThan(5);
    for (const p of pieces) expect(p.bytes).toBeLessThanOrEqual(2000);
    expect(pieces.flatMap((p) => p.records)).toEqual(recs);
    client.deliver(sub, pieces);
    expect(sink.frames.length).toBe(pieces.length);
    expect(sink.out.flatMap((m) => (m as { records: string[] }).records)).toHaveLength(500);
  });
});

describe('a gateway client under backpressure', () => {
  it('writes at the tick while the socket keeps up', () => {
    const { clock, sink, client } = setup();
    client.deliver(sub, [piece(0, 0, 5)]);
    expect(client.pendingRecords).toBe(5);
    clock.tick();
    expect(sink.out).toEqual([{ records: ['0/0', '0/1', '0/2', '0/3', '0/4'] }]);
    expect(client.pendingRecords).toBe(0);
  });

  it('drops the oldest records past its buffer, then says how many and from where before the rest', () => {
    const { sink, client } = setup();
    sink.full = true;
    for (let i = 0; i < 6; i++) client.deliver(sub, [piece(i % 2, i * 4, 4)]);
    expect(client.pendingRecords).toBeLessThanOrEqual(10);
    expect(sink.out).toEqual([]);
    sink.full = false;
    client.flush();
    const [notice, ...rest] = sink.out as Record<string, unknown>[];
    expect(notice).toMatchObject({
      type: 'lagged',
      dropped: 16,
      subscriptions: { s1: { from: { '0': '0', '1': '4' } } },
    });
    const delivered = rest.flatMap((m) => (m as { records: string[] }).records);
    expect(delivered).toHaveLength(24 - 16);
    expect(delivered[0]).toBe('0/16');
    expect(sink.closed).toBeUndefined();
  });

  it('closes with 4008 under the disconnect policy', () => {
    const { sink, client } = setup({ policy: 'disconnect' });
    sink.full = true;
    for (let i = 0; i < 3; i++) client.deliver(sub, [piece(0, i * 5, 5)]);
    expect(sink.closed?.code).toBe(CLOSE_TOO_SLOW);
    expect(client.closed).toBe(true);
    expect(client.pendingRecords).toBe(0);
  });

  it('keeps control messages in order behind queued records, and never drops them', () => {
    const { sink, client } = setup();
    sink.full = true;
    client.deliver(sub, [piece(0, 0, 8)]);
    client.notify({ type: 'caught_up', id: 's1' });
    client.deliver(sub, [piece(0, 8, 8)]);
    sink.full = false;
    client.flush();
    expect(sink.out.map((m) => ('type' in m ? m.type : 'data'))).toEqual(['lagged', 'caught_up', 'data']);
  });

  it('lets a replay wait for room instead of dropping', async () => {
    const { sink, client } = setup();
    sink.full = true;
    client.deliver(sub, [piece(0, 0, 8)]);
    let ready = false;
    const waiting = client.room().then(() => (ready = true));
    await Promise.resolve();
    expect(ready).toBe(false);
    sink.full = false;
    client.flush();
    await waiting;
    expect(ready).toBe(true);
  });
});
