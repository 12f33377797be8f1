import { WebSocket } from 'ws';

export type Msg = Record<string, unknown> & { type: string };
export interface DataRecord {
  partition: number;
  offset: string;
  timestamp: number;
  key: string | null;
  value: Record<string, unknown> | null;
  error?: { reason: string; message: string };
}

/** A WebSocket test client that keeps every message and can wait for one. */
export class TestClient {
  readonly messages: Msg[] = [];
  /** How many frames each message came in with (every server frame is a JSON array of messages). */
  readonly frames: number[] = [];
  closed?: { code: number; reason: string };
  private waiters: (() => void)[] = [];

  readonly ws: WebSocket;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Msg[];
      if (!Array.isArray(frame))
        throw new Error(`a server frame that is not an array: ${data.toString().slice(0, 200)}`);
      this.messages.push(...frame);
      this.frames.push(frame.length);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      const client = new TestClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
      );
      ws.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** Waits until `pred` holds over the messages so far (or the connection closed and it still does not). */
  async until<T>(pred: (c: TestClient) => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = pred(this);
      if (v) return v;
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}; last messages: ${JSON.stringify(this.messages.slice(-3)).slice(0, 800)}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 250);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  of(type: string): Msg[] {
    return this.messages.filter((m) => m.type === type);
  }

  /** Every record received for a subscription, in arrival order. */
  records(sub: string): (DataRecord & { topic: string })[] {
    return this.messages
      .filter((m) => m.type === 'data' && m.sub === sub)
      .flatMap((m) => (m.records as DataRecord[]).map((r) => ({ ...r, topic: m.topic as string })));
  }

  close(): void {
    this.ws.close();
  }
}
