/**
 * Child process of bench/gateway.ts: holds the WebSocket clients, so receiving does not share the
 * server's event loop. Commands arrive over IPC. Every client counts the records of each step
 * (cheaply, by a marker in the value); one client in PROBE_EVERY parses its frames and measures
 * produce-to-client latency from the timestamp the producer put in each value.
 */
import { WebSocket } from 'ws';

const PROBE_EVERY = 25;

interface Step {
  counts: Map<number, number>;
  latencies: Map<number, number[]>;
}

const step: Step = { counts: new Map(), latencies: new Map() };
let clients: WebSocket[] = [];

const MARKER = Buffer.from('"service":"bench-');

/** Counts records by step from the marker `"service":"bench-<step>"`, without parsing the frame. */
function countMarkers(buf: Buffer): void {
  let i = buf.indexOf(MARKER);
  while (i >= 0) {
    let j = i + MARKER.length;
    let n = 0;
    while (buf[j]! >= 48 && buf[j]! <= 57) n = n * 10 + (buf[j++]! - 48);
    step.counts.set(n, (step.counts.get(n) ?? 0) + 1);
    i = buf.indexOf(MARKER, j);
  }
}

function probe(buf: Buffer): void {
  const now = Date.now();
  const msg = JSON.parse(buf.toString()) as { records?: { value: { service: string; timestamp: number } }[] };
  for (const { value: v } of msg.records ?? []) {
    const n = Number(v.service.slice(6));
    let list = step.latencies.get(n);
    if (!list) step.latencies.set(n, (list = []));
    list.push(now - v.timestamp);
  }
}

async function connect(url: string, count: number, subscribe: boolean): Promise<void> {
  const opened: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const isProbe = i % PROBE_EVERY === 0;
    ws.on('message', (data: Buffer) => {
      countMarkers(data);
      if (isProbe) probe(data);
    });
    ws.on('error', () => undefined);
    opened.push(
      new Promise((resolve, reject) => {
        ws.once('open', () => {
          if (subscribe) ws.send(JSON.stringify({ type: 'subscribe', id: 'b', topic: 'metrics.samples' }));
          resolve();
        });
        ws.once('error', reject);
      }),
    );
    clients.push(ws);
    // Pace the handshakes a little: 1,000 at once overflow the listen backlog.
    if (i % 100 === 99) await Promise.all(opened.slice(-100));
  }
  await Promise.all(opened);
}

process.on('message', (msg: { cmd: string; url?: string; count?: number; subscribe?: boolean; step?: number }) => {
  void (async () => {
    if (msg.cmd === 'connect') {
      await connect(msg.url!, msg.count!, Boolean(msg.subscribe));
      process.send!({ ok: true, clients: clients.length });
    } else if (msg.cmd === 'collect') {
      const n = msg.step!;
      process.send!({
        ok: true,
        count: step.counts.get(n) ?? 0,
        latencies: step.latencies.get(n) ?? [],
        probes: Math.ceil(clients.length / PROBE_EVERY),
      });
    } else if (msg.cmd === 'disconnect') {
      for (const ws of clients) ws.terminate();
      clients = [];
      process.send!({ ok: true });
    } else if (msg.cmd === 'exit') process.exit(0);
  })();
});
