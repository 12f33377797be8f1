/**
 * Scenario endpoints in a worker thread, so their timing does not share the event loop with the
 * RelayCore under test. Each endpoint is an HTTP server whose latency, errors and capacity follow
 * its scenario phases.
 */
import { createServer, type Server } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { behaviourAt, normal, prng, type ScenarioEndpoint } from './scenario.ts';

interface Init {
  endpoints: ScenarioEndpoint[];
  seed: number;
}

const { endpoints, seed } = workerData as Init;
let t0 = Date.now();
const servers: Server[] = [];

function serve(e: ScenarioEndpoint, index: number): Promise<number> {
  const rnd = prng(seed * 1000 + index);
  const capacity = e.capacity ?? 64;
  let busy = 0;
  const queue: (() => void)[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const start = () => {
        busy++;
        const b = behaviourAt(e, (Date.now() - t0) / 1000);
        const failed = rnd() < b.errorRate;
        const service = b.latencyMs * Math.exp(b.jitter * normal(rnd));
        const delay = failed && b.errorLatencyMs !== null ? b.errorLatencyMs : service;
        setTimeout(() => {
          busy--;
          queue.shift()?.();
          if (failed) res.writeHead(e.errorStatus ?? 503).end('scenario failure');
          else res.writeHead(200).end('ok');
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
  if (m.type === 'start') t0 = Date.now();
  if (m.type === 'stop') for (const s of servers) s.close();
});
parentPort!.postMessage({ type: 'ready', ports });
