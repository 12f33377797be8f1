/**
 * One connected client (WebSocket or SSE): its subscriptions and a bounded queue in front of its
 * socket. Whatever arrives for it between two ticks goes out as one frame at the tick; while its
 * socket is backed up the queue grows, and past GATEWAY_CLIENT_BUFFER records the slow-client
 * policy applies, so a slow client costs the others nothing and its memory stays bounded.
 */
import type { Logger } from '../log/index.ts';
import type { FrameClock, FrameItem, FrameSink } from './frames.ts';
import type { Subscription, SubscriptionTarget } from './loop.ts';
import type { DataPiece } from './records.ts';

/** Bytes we let pile up in a socket's own buffer before holding records in our queue. */
const SOCKET_HIGH_WATER = 512 * 1024;

/** The transport under a client. */
export interface Sink {
  readonly kind: 'ws' | 'sse';
  /** Bytes written but not yet on the network. */
  buffered(): number;
  /** Writes one frame (WebSocket) or the events of these items (SSE). */
  send(items: readonly FrameItem[]): void;
  /** `code` is a WebSocket close code; SSE ends the stream. */
  close(code: number, reason: string): void;
}

export type SlowClientPolicy = 'drop' | 'disconnect';

export const CLOSE_TOO_SLOW = 4008;

type Queued = { control: Record<string, unknown> } | { piece: DataPiece; sub: Subscription };

export interface ClientLimits {
  buffer: number;
  policy: SlowClientPolicy;
  maxSubscriptions: number;
}

/** Totals a gateway keeps over all its clients (for /metrics). */
export interface ClientCounters {
  recordsSent: number;
  framesSent: number;
  recordsDropped: number;
  slowDisconnects: number;
  protocolErrors: number;
}

export const noCounters = (): ClientCounters => ({
  recordsSent: 0,
  framesSent: 0,
  recordsDropped: 0,
  slowDisconnects: 0,
  protocolErrors: 0,
});

export class Client implements SubscriptionTarget, FrameSink {
  readonly subscriptions = new Map<string, Subscription>();
  private queue: Queued[] = [];
  private queuedRecords = 0;
  private queuedBytes = 0;
  private dropped = 0;
  private readonly droppedFrom = new Map<string, Map<number, bigint>>();
  private waiters: (() => void)[] = [];
  private nextId = 1;
  closed = false;
  alive = true;
  sent = 0;

  readonly sink: Sink;
  readonly limits: ClientLimits;
  readonly log: Logger;
  readonly remote: string;
  private readonly clock: FrameClock;
  private readonly counters: ClientCounters;

  constructor(
    sink: Sink,
    limits: ClientLimits,
    clock: FrameClock,
    log: Logger,
    remote: string,
    counters: ClientCounters = noCounters(),
  ) {
    this.sink = sink;
    this.limits = limits;
    this.clock = clock;
    this.log = log;
    this.remote = remote;
    this.counters = counters;
  }

  newSubscriptionId(): string {
    let id: string;
    do id = `s${this.nextId++}`;
    while (this.subscriptions.has(id));
    return id;
  }

  get pendingRecords(): number {
    return this.queuedRecords;
  }

  deliver(sub: Subscription, pieces: readonly DataPiece[]): void {
    if (this.closed) return;
    for (const piece of pieces) {
      this.queue.push({ piece, sub });
      this.queuedRecords += piece.records.length;
      this.queuedBytes += piece.bytes;
    }
    if (this.queuedRecords > this.limits.buffer) this.overflow();
    if (this.closed) return;
    // A full frame does not wait for the tick.
    if (this.queuedBytes >= this.clock.maxBytes && this.flush()) return;
    this.clock.sinkDue(this);
  }

  notify(message: Record<string, unknown>): void {
    if (this.closed) return;
    this.queue.push({ control: message });
    this.clock.sinkDue(this);
  }

  /** Replays call this before each batch: they wait for the queue to drain rather than drop. */
  room(): Promise<void> {
    if (this.closed || this.queuedRecords < this.limits.buffer / 2) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private overflow(): void {
    if (this.limits.policy === 'disconnect') {
      this.log.info({ remote: this.remote, queued: this.queuedRecords }, 'slow client disconnected');
      this.counters.slowDisconnects++;
      this.close(CLOSE_TOO_SLOW, `too slow: more than ${this.limits.buffer} records queued`);
      return;
    }
    // The oldest records go; control messages stay, in order.
    const kept: Queued[] = [];
    for (const item of this.queue) {
      if (this.queuedRecords > this.limits.buffer && 'piece' in item) {
        const n = item.piece.records.length;
        this.queuedRecords -= n;
        this.queuedBytes -= item.piece.bytes;
        this.dropped += n;
        this.counters.recordsDropped += n;
        this.noteDropped(item.sub.id, item.piece);
      } else kept.push(item);
    }
    this.queue = kept;
  }

  private noteDropped(sub: string, piece: DataPiece): void {
    let parts = this.droppedFrom.get(sub);
    if (!parts) this.droppedFrom.set(sub, (parts = new Map()));
    for (const r of piece.records) {
      const seen = parts.get(r.partition);
      if (seen === undefined || r.offset < seen) parts.set(r.partition, r.offset);
    }
  }

  /**
   * Writes what the socket takes, as frames of at most GATEWAY_FRAME_BYTES (one, usually).
   * True once nothing is left to write (or the client is gone).
   */
  flush(): boolean {
    if (this.closed) return true;
    if (this.dropped) this.queue.unshift({ control: this.lagNotice() });
    let taken = 0;
    while (taken < this.queue.length && this.sink.buffered() < SOCKET_HIGH_WATER) {
      const items: FrameItem[] = [];
      let bytes = 0;
      let records = 0;
      do {
        const item = this.queue[taken++]!;
        if ('control' in item) items.push(item.control);
        else {
          items.push(item.piece);
          bytes += item.piece.bytes;
          records += item.piece.records.length;
        }
      } while (taken < this.queue.length && bytes + nextBytes(this.queue[taken]!) <= this.clock.maxBytes);
      this.queuedRecords -= records;
      this.queuedBytes -= bytes;
      this.sent += records;
      this.counters.recordsSent += records;
      this.counters.framesSent++;
      this.sink.send(items);
    }
    this.queue = taken === this.queue.length ? [] : this.queue.slice(taken);
    if (this.waiters.length && this.queuedRecords < this.limits.buffer / 2) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
    return !this.queue.length;
  }

  private lagNotice(): Record<string, unknown> {
    const subscriptions: Record<string, { from: Record<string, string> }> = {};
    for (const [sub, parts] of this.droppedFrom)
      subscriptions[sub] = { from: Object.fromEntries([...parts].map(([p, o]) => [String(p), o.toString()])) };
    const notice = {
      type: 'lagged',
      dropped: this.dropped,
      subscriptions,
      message: `lagged: ${this.dropped} records dropped; replay from the offsets given to fill the gap`,
    };
    this.dropped = 0;
    this.droppedFrom.clear();
    return notice;
  }

  error(code: string, message: string, extra: { field?: string; id?: string } = {}): void {
    this.counters.protocolErrors++;
    this.notify({ type: 'error', code, message, ...extra });
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.sink.close(code, reason);
    this.dispose();
  }

  /** Forgets everything; the socket is gone or going. */
  dispose(): void {
    this.closed = true;
    this.queue = [];
    this.queuedRecords = 0;
    this.queuedBytes = 0;
    for (const w of this.waiters) w();
    this.waiters = [];
    for (const sub of this.subscriptions.values()) void sub.close();
    this.subscriptions.clear();
  }
}

function nextBytes(item: Queued): number {
  return 'piece' in item ? item.piece.bytes : 0;
}
