/**
 * Scenario endpoints in a worker thread, so their timing does not share the event loop with the
 * RelayCore under test. Each endpoint is an HTTP server whose latency, errors, pauses, capacity and
 * capacity cliff follow its scenario. Each endpoint also measures what the user sees: for every
 * message it answers with success, the time from the producer's timestamp (the message's
 * `x-produced-at` header, which RelayCore forwards) to the answer, on this machine's clock.
 */
import { createServer, type Server } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { behaviourAt, normal, prng, type ScenarioEndpoint } from './scenario.ts';

interface Init {
  endpoints: ScenarioEndpoint[];
  seed: number;
}

/** A message's first successful answer, as its endpoint saw it. */
export interface Answered {
  id: string;
  endpoint: string;
  producedAt: number;
  answeredAt: number;
}

const { endpoints, seed } = workerData as Init;
let t0 = Date.now();
const servers: Server[] = [];
const answered = new Map<string, Answered>();
const failures: Record<string, number> = {};

function serve(e: ScenarioEndpoint, index: number): Promise<number> {
  const rnd = prng(seed * 1000 + index);
  const capacity = e.capacity ?? 64;
  let busy = 0;
  const queue: (() => void)[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['idempotency-key']);
      const producedAt = Number(req.headers['x-produced-at']);
      const start = () => {
        const overCliff = e.cliffAt !== undefined && busy >= e.cliffAt;
        busy++;
        const b = behaviourAt(e, (Date.now() - t0) / 1000);
        const failed = rnd() < b.errorRate;
        const paused = b.pauseRate > 0 && rnd() < b.pauseRate;
        const service = b.latencyMs * Math.exp(b.jitter * normal(rnd)) * (paused ? b.pauseFactor : 1);
        const delay = overCliff ? e.cliffLatencyMs! : failed && b.errorLatencyMs !== null ? b.errorLatencyMs : service;
        setTimeout(() => {
          busy--;
          queue.shift()?.();
          if (failed) {
            failures[e.id] = (failures[e.id] ?? 0) + 1;
            res.writeHead(e.errorStatus ?? 503).end('scenario failure');
            return;
          }
          res.writeHead(200).end('ok');
          if (!answered.has(id) && Number.isFinite(producedAt))
            answered.set(id, { id, endpoint: e.id, producedAt, answeredAt: Date.now() });
        }, delay);
      };
      if (busy < capacity) start();
      else queue.push(start);
    });
  });
  server.keepAliveTimeout = 60_000;
  servers.push(server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
}

const ports = await Promise.all(endpoints.map(serve));
parentPort!.on('message', (m: { type: string }) => {
  if (m.type === 'start') {
    t0 = Date.now();
    answered.clear();
  }
  if (m.type === 'collect') parentPort!.postMessage({ type: 'answered', answered: [...answered.values()], failures });
  if (m.type === 'stop') for (const s of servers) s.close();
});
parentPort!.postMessage({ type: 'ready', ports });
