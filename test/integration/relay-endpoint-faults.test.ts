/**
 * Issue 7, endpoint faults: endpoints that time out, reset the connection, answer 5xx with a large
 * body, or trickle their answer byte by byte. Every message is delivered (through a healthy
 * endpoint, after retries) or dead-lettered with the reason; afterwards no connection is left
 * open to a faulty endpoint, no request waits in a pool, and a second round of the same faults
 * leaves the heap (after GC) and the process's sockets where the first left them.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../schemas/types.ts';
import { follow, type RelayHarness, startRelay, until } from '../helpers/relay.ts';

type Fault = 'timeout' | 'reset' | '5xx' | 'trickle' | 'ok';

interface FaultServer {
  url: string;
  open: Set<Socket>;
  /** Exchanges whose response has not ended or been closed. */
  active: number;
  delivered: Map<string, number>;
  close(): Promise<void>;
}

async function faultServer(fault: Fault): Promise<FaultServer> {
  const open = new Set<Socket>();
  const delivered = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    fs.active++;
    res.on('close', () => fs.active--);
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['idempotency-key']);
      if (fault === 'reset') return void req.socket.destroy();
      if (fault === 'timeout') return void setTimeout(() => res.writeHead(200).end('late'), 3000).unref();
      if (fault === '5xx')
        return void res.writeHead(503, { 'content-type': 'text/plain' }).end('x'.repeat(1024 * 1024));
      if (fault === 'trickle') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const timer = setInterval(() => res.write('.'), 50);
        res.on('close', () => clearInterval(timer));
        return;
      }
      delivered.set(id, (delivered.get(id) ?? 0) + 1);
      res.writeHead(200).end('ok');
    });
  });
  server.on('connection', (s: Socket) => {
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  server.keepAliveTimeout = 60_000;
  const fs: FaultServer = {
    url: '',
    open,
    active: 0,
    delivered,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  fs.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`;
  return fs;
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapAfterGc = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};
const sockets = () => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;

const POOL = 8;

describe('endpoint faults', () => {
  let h: RelayHarness;
  const servers = {} as Record<Fault, FaultServer>;
  const faulty: Fault[] = ['timeout', 'reset', '5xx', 'trickle'];
  beforeAll(async () => {
    for (const f of [...faulty, 'ok'] as Fault[]) servers[f] = await faultServer(f);
    // The broken route's messages wait 1 s for an endpoint once every breaker is open, then are dead-lettered.
    h = await startRelay(
      { RELAY_MAX_INFLIGHT: '32', RELAY_HTTP_CONNECTIONS: String(POOL), RELAY_NO_ENDPOINT_MAX_WAIT_MS: '1000' },
      'faults',
    );
    const settings = { volumeThreshold: '4', resetTimeoutMs: '300', rollingWindowMs: '2000' };
    const endpoint = (f: Fault) => ({
      id: f,
      kind: 'HTTP',
      target: servers[f].url,
      timeoutMs: f === 'ok' ? 5000 : 300,
    });
    expect(
      (
        await h.api('POST', '/relaycore/routes', {
          name: 'mixed',
          policy: 'round-robin',
          maxAttempts: 6,
          settings,
          endpoints: [...faulty, 'ok'].map((f) => endpoint(f as Fault)),
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await h.api('POST', '/relaycore/routes', {
          name: 'broken',
          policy: 'round-robin',
          maxAttempts: 3,
          settings,
          endpoints: faulty.map(endpoint),
        })
      ).status,
    ).toBe(201);
  });
  afterAll(async () => {
    await h?.close();
    for (const s of Object.values(servers)) await s.close();
  });

  async function round(label: string): Promise<{ mixed: string[]; broken: string[] }> {
    const mixed = Array.from({ length: 120 }, (_, i) => `${label}-mixed-${i}`);
    const broken = Array.from({ length: 30 }, (_, i) => `${label}-broken-${i}`);
    const producer = await h.kafka.producer();
    await producer.send('messages.normal', [
      ...mixed.map((id) => ({ key: null, value: { id, route: 'mixed', payload: JSON.stringify({ id }) } })),
      ...broken.map((id) => ({ key: null, value: { id, route: 'broken', payload: JSON.stringify({ id }) } })),
    ]);
    const c = h.relay.loop.counters;
    const target = c.delivered + c.deadLettered + mixed.length + broken.length;
    await until(() => c.delivered + c.deadLettered >= target, `round ${label} to be handled`, 120_000);
    return { mixed, broken };
  }

  async function settled(): Promise<void> {
    // Exchanges given up on (too slow, trickling) are cut off, not left to run: their responses close.
    await until(
      () => faulty.every((f) => servers[f].active === 0),
      'every exchange with a faulty endpoint to be over',
      30_000,
    );
    await until(
      () => Object.values(h.relay.loop.httpConnections()).every((p) => p.running === 0 && p.pending === 0),
      'pools to be idle',
      30_000,
    );
  }

  it('delivers through retries or dead-letters with the reason, and leaks no socket or memory', async () => {
    const dead = await follow(h.kafka, 'deadletter');
    const first = await round('r1');
    await settled();
    const heap1 = heapAfterGc();
    const sockets1 = sockets();

    const second = await round('r2');
    await settled();
    const heap2 = heapAfterGc();
    const sockets2 = sockets();

    for (const r of [first, second]) {
      expect(r.mixed.filter((id) => !servers.ok.delivered.has(id))).toEqual([]);
      await until(() => dead.records.length >= (r === first ? 30 : 60), "the broken route's dead letters");
    }
    await dead.stop();
    const letters = await Promise.all(
      dead.records.map(async (rec) => (await h.kafka.serde.decode('deadletter', rec.value)).value as DeadLetter),
    );
    expect(new Set(letters.map((l) => l.messageId))).toEqual(new Set([...first.broken, ...second.broken]));
    for (const l of letters) {
      expect(['max_attempts', 'no_endpoint']).toContain(l.reason);
      expect(l.error.length).toBeGreaterThan(0);
    }
    const errors = letters.map((l) => l.error).join('\n');
    expect(errors).toMatch(/timeout|timed out|breaker|no endpoint/i);
    // A 503 with a 1 MB body: only the start of it is kept in a dead letter's reason.
    expect(Math.max(...letters.map((l) => l.error.length))).toBeLessThan(2000);

    const pools = h.relay.loop.httpConnections();
    console.log(
      `heap after GC ${heap1.toFixed(1)} → ${heap2.toFixed(1)} MB; TCP handles ${sockets1} → ${sockets2}; pools ${JSON.stringify(pools)}`,
    );
    expect(heap2 - heap1).toBeLessThan(16);
    // Idle keep-alive connections may be opened again (undici reconnects after an abort), but never
    // more than the pool holds: both ends of each live in this process, five origins of POOL each.
    for (const p of Object.values(pools)) expect(p.connected).toBeLessThanOrEqual(POOL);
    for (const f of [...faulty, 'ok'] as Fault[]) expect(servers[f].open.size).toBeLessThanOrEqual(POOL);
    expect(sockets2 - sockets1).toBeLessThanOrEqual(2 * 5 * POOL);
  }, 300_000);
});
