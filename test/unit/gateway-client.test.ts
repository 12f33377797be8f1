import { describe, expect, it } from 'vitest';
import { CLOSE_TOO_SLOW, Client, type DataItem, type Sink } from '../../src/gateway/client.ts';
import type { Subscription } from '../../src/gateway/hub.ts';
import type { PreparedBatch, PreparedRecord } from '../../src/gateway/records.ts';
import { logger } from '../../src/log/index.ts';

/** A socket that takes everything until it is "full", then holds it until drained. */
class FakeSink implements Sink {
  readonly kind = 'ws';
  held = 0;
  full = false;
  readonly out: (Record<string, unknown> | { records: string[] })[] = [];
  closed?: { code: number; reason: string };
  buffered(): number {
    return this.full ? 1 << 30 : 0;
  }
  sendControl(message: Record<string, unknown>): void {
    this.out.push(message);
  }
  sendData(item: DataItem): void {
    this.out.push({ records: item.records.map((r) => `${r.partition}/${r.offset}`) });
  }
  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }
}

const sub = { id: 's1' } as Subscription;
function batch(partition: number, from: number, n: number): { batch: PreparedBatch; records: PreparedRecord[] } {
  const records = Array.from({ length: n }, (_, i) => ({
    partition,
    offset: BigInt(from + i),
    timestamp: 0,
    key: null,
    value: {},
    json: '{}',
  }));
  return { batch: { topic: 't', partition, records, end: BigInt(from + n), frames: new Map() }, records };
}

const log = logger('test');

describe('a gateway client under backpressure', () => {
  it('writes straight through while the socket keeps up', () => {
    const sink = new FakeSink();
    const client = new Client(sink, { buffer: 10, policy: 'drop', maxSubscriptions: 5 }, log, 'test');
    const b = batch(0, 0, 5);
    client.deliver(sub, b.batch, b.records, 'k');
    expect(sink.out).toEqual([{ records: ['0/0', '0/1', '0/2', '0/3', '0/4'] }]);
    expect(client.pendingRecords).toBe(0);
  });

  it('drops the oldest records past its buffer, then says how many and from where before the rest', () => {
    const sink = new FakeSink();
    const client = new Client(sink, { buffer: 10, policy: 'drop', maxSubscriptions: 5 }, log, 'test');
    sink.full = true;
    for (let i = 0; i < 6; i++) {
      const b = batch(i % 2, i * 4, 4);
      client.deliver(sub, b.batch, b.records, `k${i}`);
    }
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
    const sink = new FakeSink();
    const client = new Client(sink, { buffer: 10, policy: 'disconnect', maxSubscriptions: 5 }, log, 'test');
    sink.full = true;
    for (let i = 0; i < 3; i++) {
      const b = batch(0, i * 5, 5);
      client.deliver(sub, b.batch, b.records, `k${i}`);
    }
    expect(sink.closed?.code).toBe(CLOSE_TOO_SLOW);
    expect(client.closed).toBe(true);
    expect(client.pendingRecords).toBe(0);
  });

  it('keeps control messages in order behind queued records, and never drops them', () => {
    const sink = new FakeSink();
    const client = new Client(sink, { buffer: 10, policy: 'drop', maxSubscriptions: 5 }, log, 'test');
    sink.full = true;
    const b = batch(0, 0, 8);
    client.deliver(sub, b.batch, b.records, 'k');
    client.notify({ type: 'caught_up', id: 's1' });
    const c = batch(0, 8, 8);
    client.deliver(sub, c.batch, c.records, 'k2');
    sink.full = false;
    client.flush();
    expect(sink.out.map((m) => ('type' in m ? m.type : 'data'))).toEqual(['lagged', 'caught_up', 'data']);
  });

  it('lets a replay wait for room instead of dropping', async () => {
    const sink = new FakeSink();
    const client = new Client(sink, { buffer: 10, policy: 'drop', maxSubscriptions: 5 }, log, 'test');
    sink.full = true;
    const b = batch(0, 0, 8);
    client.deliver(sub, b.batch, b.records, 'k');
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
