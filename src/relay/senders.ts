/**
 * How a message reaches an endpoint: an HTTP POST through a keep-alive pool per origin, or a
 * record on a Kafka topic. Kafka sends issued in the same tick are coalesced into one produce
 * request, so a consumed batch fans out in one round trip.
 */

import { Pool } from 'undici';
import type { Endpoint } from '../../schemas/types.ts';
import { AutomatrixError } from '../errors/index.ts';
import type { OutgoingRecord, TypedProducer } from '../kafka/index.ts';

export interface DeliveryRequest {
  id: string;
  key: Buffer | null;
  type: string;
  payload: string;
  contentType: string;
  headers: Record<string, string>;
}

export type SendFailure = 'failed' | 'timeout' | 'rejected';

/** A failed send. `rejected`: the endpoint refused the message itself (4xx), so no retry elsewhere helps. */
export class SendError extends AutomatrixError {
  readonly kind: SendFailure;
  readonly httpStatus: number | null;

  constructor(message: string, kind: SendFailure, httpStatus: number | null = null) {
    super(kind === 'rejected' ? 'send_rejected' : 'send_failed', message);
    this.kind = kind;
    this.httpStatus = httpStatus;
  }
}

export interface SendResult {
  httpStatus: number | null;
}

/** Items added in one tick, and the promise of their flush (shared: no promise per item). */
interface Pending<T> {
  items: T[];
  done: Promise<void>;
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * Collects items added in the same tick (up to `max`) and hands them to `flush` together. At most
 * `concurrency` flushes run at once: while they do, items gather for the next one, so under load the
 * batches grow (and requests do not queue behind one another) and when idle an item goes at once.
 */
export class Coalescer<T> {
  private pending: Pending<T> | null = null;
  private scheduled = false;
  private readonly flushing = new Set<Promise<void>>();

  private readonly flush: (items: T[]) => Promise<void>;
  private readonly max: number;
  private readonly concurrency: number;

  constructor(flush: (items: T[]) => Promise<void>, max = 2000, concurrency = 3) {
    this.flush = flush;
    this.max = max;
    this.concurrency = concurrency;
  }

  /** Adds an item; resolves once the flush that carries it is done (every item of a flush shares one promise). */
  add(item: T): Promise<void> {
    let p = this.pending;
    if (!p) {
      let resolve!: () => void;
      let reject!: (e: Error) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // A caller that does not wait for the flush must not make its failure an unhandled rejection.
      done.catch(() => undefined);
      p = { items: [], done, resolve, reject };
      this.pending = p;
    }
    p.items.push(item);
    if (p.items.length >= this.max) this.run();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.run());
    }
    return p.done;
  }

  private run(force = false): void {
    this.scheduled = false;
    const p = this.pending;
    if (!p) return;
    // Full enough or forced: go now; else wait for a running flush to end (it calls run again).
    if (!force && this.flushing.size >= this.concurrency && p.items.length < this.max) return;
    this.pending = null;
    const done = this.flush(p.items).then(p.resolve, (err: unknown) =>
      p.reject(err instanceof Error ? err : new Error(String(err))),
    );
    this.flushing.add(done);
    void done.finally(() => {
      this.flushing.delete(done);
      this.run();
    });
  }

  /** Flushes what is pending and waits for every flush in progress. */
  async settled(): Promise<void> {
    this.run(true);
    await Promise.allSettled([...this.flushing]);
  }

  size(): number {
    return this.pending?.items.length ?? 0;
  }
}

/** Of an error answer's body, only this much is read (for the dead letter's reason); the rest is discarded. */
const ERROR_BODY_BYTES = 4096;

/** Reads a response body to its end, keeping at most `keep` bytes of it as text (memory stays bounded). */
async function readCapped(body: AsyncIterable<Buffer>, keep: number): Promise<string> {
  const kept: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size >= keep) continue;
    kept.push(chunk.subarray(0, keep - size));
    size += Math.min(chunk.length, keep - size);
  }
  return Buffer.concat(kept).toString('utf8');
}

function sendFailure(err: unknown, signal: AbortSignal, timeoutMs: number): SendError {
  const code = (err as { code?: string }).code;
  if (signal.aborted || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
    return new SendError(`timeout: no complete answer within ${timeoutMs} ms`, 'timeout');
  return new SendError(`${code ?? 'error'}: ${(err as Error).message}`, 'failed');
}

/** Credentials in an endpoint URL (`https://user:pass@host/`) become Basic auth: undici drops them from the origin. */
function basicAuth(url: URL): Record<string, string> {
  if (!url.username && !url.password) return {};
  return {
    authorization: `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`,
  };
}

const PERMANENT = (status: number) =>
  status >= 400 && status < 500 && status !== 408 && status !== 425 && status !== 429;

export class HttpSender {
  private readonly pools = new Map<string, Pool>();
  private readonly connections: number;

  constructor(connections: number) {
    this.connections = connections;
  }

  private pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, { connections: this.connections, keepAliveTimeout: 30_000, pipelining: 1 });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  async send(endpoint: Endpoint, url: URL, req: DeliveryRequest): Promise<SendResult> {
    // One deadline for the whole exchange, body included: undici's own timeouts restart with every
    // chunk, so an endpoint that trickles its answer would otherwise hold a pooled connection for
    // as long as it likes after the breaker has given up on the call.
    const signal = AbortSignal.timeout(endpoint.timeoutMs);
    let res;
    try {
      res = await this.pool(url.origin).request({
        method: 'POST',
        path: `${url.pathname}${url.search}`,
        headers: {
          ...basicAuth(url),
          ...endpoint.headers,
          ...req.headers,
          'content-type': req.contentType,
          'idempotency-key': req.id,
          'x-message-type': req.type,
        },
        body: req.payload,
        headersTimeout: endpoint.timeoutMs + 1000,
        bodyTimeout: endpoint.timeoutMs + 1000,
        signal,
      });
    } catch (err) {
      throw sendFailure(err, signal, endpoint.timeoutMs);
    }
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    let text: string;
    try {
      text = await readCapped(res.body, ok ? 0 : ERROR_BODY_BYTES);
    } catch (err) {
      throw sendFailure(err, signal, endpoint.timeoutMs);
    }
    if (ok) return { httpStatus: res.statusCode };
    text = text.slice(0, 300);
    throw new SendError(
      `HTTP ${res.statusCode}${text ? `: ${text}` : ''}`,
      PERMANENT(res.statusCode) ? 'rejected' : 'failed',
      res.statusCode,
    );
  }

  /** Connections of each origin's pool: open, idle, and requests running or queued. */
  poolStats(): Record<string, { connected: number; free: number; running: number; pending: number }> {
    return Object.fromEntries(
      [...this.pools].map(([origin, p]) => [
        origin,
        { connected: p.stats.connected, free: p.stats.free, running: p.stats.running, pending: p.stats.pending },
      ]),
    );
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.pools.values()].map((p) => p.close()));
    this.pools.clear();
  }
}

export class KafkaSender {
  private readonly coalescer: Coalescer<{ topic: string; record: OutgoingRecord }>;

  constructor(producer: Promise<TypedProducer>) {
    this.coalescer = new Coalescer(async (items) => {
      const byTopic = new Map<string, OutgoingRecord[]>();
      for (const { topic, record } of items) {
        const list = byTopic.get(topic);
        if (list) list.push(record);
        else byTopic.set(topic, [record]);
      }
      await (await producer).sendMany([...byTopic].map(([topic, records]) => ({ topic, records })));
    });
  }

  async send(endpoint: Endpoint, req: DeliveryRequest): Promise<SendResult> {
    const record: OutgoingRecord = {
      key: req.key,
      value: req.payload,
      headers: {
        ...endpoint.headers,
        ...req.headers,
        'content-type': req.contentType,
        'idempotency-key': req.id,
        'message-type': req.type,
      },
    };
    try {
      await this.coalescer.add({ topic: endpoint.target, record });
    } catch (err) {
      throw new SendError((err as Error).message, 'failed');
    }
    return { httpStatus: null };
  }
}
