/**
 * Child process of bench/gateway.ts: holds WebSocket clients, so receiving does not share the
 * server's process (or core). Commands arrive over IPC. Every client counts every record and its
 * latency from the producer's timestamp (`sentAt` in the value) to the moment its frame arrives,
 * into one histogram per step (1 ms buckets), read from the raw frame without JSON.parse: the
 * marker `"bstep":<step>,"sentAt":<ms>` is in each record's value, whatever the framing.
 */
import { WebSocket } from 'ws';

const MAX_MS = 60_000;
const MARKER = Buffer.from('"bstep":');
const SENT_AT = Buffer.from(',"sentAt":');

interface StepTally {
  count: number;
  /** Frames that carried records of this step. */
  frames: number;
  histogram: Uint32Array;
}
const steps = new Map<number, StepTally>();
let clients: WebSocket[] = [];

function tally(step: number): StepTally {
  let t = steps.get(step);
  if (!t) steps.set(step, (t = { count: 0, frames: 0, histogram: new Uint32Array(MAX_MS + 1) }));
  return t;
}

function readInt(buf: Buffer, at: number): [number, number] {
  let n = 0;
  let j = at;
  while (buf[j]! >= 48 && buf[j]! <= 57) n = n * 10 + (buf[j++]! - 48);
  return [n, j];
}

function onFrame(buf: Buffer): void {
  const now = Date.now();
  let i = buf.indexOf(MARKER);
  let last: StepTally | undefined;
  let lastStep = -1;
  while (i >= 0) {
    const [step, j] = readInt(buf, i + MARKER.length);
    const [sentAt, k] =
      buf.compare(SENT_AT, 0, SENT_AT.length, j, j + SENT_AT.length) === 0
        ? readInt(buf, j + SENT_AT.length)
        : [now, j];
    if (step !== lastStep) {
      last = tally(step);
      last.frames++;
      lastStep = step;
    }
    last!.count++;
    last!.histogram[Math.max(0, Math.min(MAX_MS, now - sentAt))]!++;
    i = buf.indexOf(MARKER, k);
  }
}

/** Opens `count` clients; with `topic`, each subscribes to it and this resolves once every one is subscribed. */
async function connect(url: string, count: number, topic: string | undefined): Promise<void> {
  const ready: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
    clients.push(ws);
    ready.push(
      new Promise((resolve, reject) => {
        ws.once('error', reject);
        if (!topic) {
          ws.once('open', () => resolve());
          ws.on('message', onFrame);
          return;
        }
        ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', id: 'b', topic })));
        const untilSubscribed = (data: Buffer) => {
          if (!data.includes('"type":"subscribed"')) return;
          ws.off('message', untilSubscribed);
          ws.on('message', onFrame);
          onFrame(data);
          resolve();
        };
        ws.on('message', untilSubscribed);
      }),
    );
    ws.on('error', () => undefined);
    // Pace the handshakes: 1,000 at once overflow the listen backlog.
    if (i % 100 === 99) await Promise.all(ready.slice(-100));
  }
  await Promise.all(ready);
}

process.on(
  'message',
  (msg: { id: number; cmd: string; url?: string; count?: number; topic?: string; step?: number }) => {
    void (async () => {
      const reply = (body: Record<string, unknown>) => process.send!({ id: msg.id, ...body });
      if (msg.cmd === 'connect') {
        await connect(msg.url!, msg.count!, msg.topic);
        reply({ clients: clients.length });
      } else if (msg.cmd === 'progress') {
        reply({ count: steps.get(msg.step!)?.count ?? 0 });
      } else if (msg.cmd === 'collect') {
        const t = steps.get(msg.step!);
        const sparse: [number, number][] = [];
        if (t) for (let ms = 0; ms <= MAX_MS; ms++) if (t.histogram[ms]) sparse.push([ms, t.histogram[ms]!]);
        steps.delete(msg.step!);
        reply({ count: t?.count ?? 0, frames: t?.frames ?? 0, histogram: sparse });
      } else if (msg.cmd === 'disconnect') {
        for (const ws of clients) ws.terminate();
        clients = [];
        reply({});
      } else if (msg.cmd === 'exit') process.exit(0);
    })();
  },
);
