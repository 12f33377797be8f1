/** Prometheus metrics of the gateway, on the process registry served at GET /metrics. */
import client from 'prom-client';
import { metricsRegistry } from '../api/index.ts';

import type { ClientCounters } from './client.ts';

export interface GatewayCounters extends ClientCounters {
  deadPeers: number;
}

interface Source {
  counters: GatewayCounters;
  stats(): { websocketClients: number; sseClients: number; subscriptions: number; queuedRecords: number };
}

/** Every running gateway in the process (tests run several); the metrics sum over them. */
const sources = new Set<Source>();
const sum = (f: (s: Source) => number) => [...sources].reduce((n, s) => n + f(s), 0);

function gauge(name: string, help: string, value: (s: Source) => number, labelNames: string[] = []): void {
  new client.Gauge({
    name,
    help,
    labelNames,
    registers: [metricsRegistry],
    collect() {
      this.set(sum(value));
    },
  });
}

gauge('automatrix_gateway_subscriptions', 'Subscriptions held by gateway clients.', (s) => s.stats().subscriptions);
gauge('automatrix_gateway_queued_records', "Records waiting in slow clients' queues.", (s) => s.stats().queuedRecords);
function counter(name: string, help: string, value: (s: Source) => number): void {
  let last = 0;
  new client.Counter({
    name,
    help,
    registers: [metricsRegistry],
    collect() {
      const now = sum(value);
      if (now > last) this.inc(now - last);
      last = Math.max(last, now);
    },
  });
}

counter('automatrix_gateway_records_sent_total', 'Records handed to client sockets.', (s) => s.counters.recordsSent);
counter(
  'automatrix_gateway_frames_sent_total',
  'WebSocket frames (and SSE writes) sent to clients; records per frame = records_sent / frames_sent.',
  (s) => s.counters.framesSent,
);
counter(
  'automatrix_gateway_records_dropped_total',
  'Records dropped for slow clients (GATEWAY_SLOW_CLIENT=drop).',
  (s) => s.counters.recordsDropped,
);
counter(
  'automatrix_gateway_slow_disconnects_total',
  'Clients closed with 4008 as too slow (GATEWAY_SLOW_CLIENT=disconnect).',
  (s) => s.counters.slowDisconnects,
);
counter(
  'automatrix_gateway_dead_peers_total',
  'WebSocket peers dropped for a missed pong.',
  (s) => s.counters.deadPeers,
);
counter(
  'automatrix_gateway_protocol_errors_total',
  'Client messages answered with an error.',
  (s) => s.counters.protocolErrors,
);
new client.Gauge({
  name: 'automatrix_gateway_clients',
  help: 'Connected gateway clients by transport.',
  labelNames: ['transport'],
  registers: [metricsRegistry],
  collect() {
    this.set(
      { transport: 'websocket' },
      sum((s) => s.stats().websocketClients),
    );
    this.set(
      { transport: 'sse' },
      sum((s) => s.stats().sseClients),
    );
  },
});

export function registerGatewayMetrics(source: Source): () => void {
  sources.add(source);
  return () => sources.delete(source);
}
