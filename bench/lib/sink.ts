/** Local HTTP endpoints for soak and chaos runs: they count what they receive, by idempotency key. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Behaviour = (id: string) => { status: number; delayMs?: number } | 'reset' | 'trickle';

export interface Sink {
  url: string;
  /** Ids answered 2xx, with how many times. */
  delivered: Map<string, number>;
  requests: number;
  set(behaviour: Behaviour): void;
  close(): Promise<void>;
}

export async function startSink(behaviour: Behaviour = () => ({ status: 200 })): Promise<Sink> {
  let current = behaviour;
  const sink: Sink = {
    url: '',
    delivered: new Map(),
    requests: 0,
    set: (b) => (current = b),
    close: () => new Promise((r) => server.close(() => r())),
  };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      sink.requests++;
      const id = String(req.headers['idempotency-key']);
      const what = current(id);
      if (what === 'reset') return void req.socket.destroy();
      if (what === 'trickle') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const timer = setInterval(() => res.write('.'), 200);
        res.on('close', () => clearInterval(timer));
        return;
      }
      const answer = () => {
        if (what.status < 300) sink.delivered.set(id, (sink.delivered.get(id) ?? 0) + 1);
        res.writeHead(what.status, { 'content-type': 'text/plain' }).end(what.status < 300 ? 'ok' : 'no');
      };
      if (what.delayMs) setTimeout(answer, what.delayMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`;
  return sink;
}

/** Duplicates: deliveries beyond the first of each id. */
export function duplicates(sinks: Sink[]): { unique: Set<string>; duplicates: number } {
  const seen = new Map<string, number>();
  for (const s of sinks) for (const [id, n] of s.delivered) seen.set(id, (seen.get(id) ?? 0) + n);
  let dup = 0;
  for (const n of seen.values()) dup += n - 1;
  return { unique: new Set(seen.keys()), duplicates: dup };
}
