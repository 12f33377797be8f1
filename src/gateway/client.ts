/**
 * One connected client (WebSocket or SSE): its subscriptions and a bounded queue in front of its
 * socket. Records go straight to the socket while it keeps up; past its socket buffer they wait in
 * the queue; past GATEWAY_CLIENT_BUFFER records the slow-client policy applies, so a slow client
 * costs the others nothing and its memory stays bounded.
 */
import type { Logger } from '../log/index.js';
import type { FrameGroup, PreparedRecord } from './records.js';
import type { Subscription, SubscriptionTarget } from './hub.js';

/** Bytes we let pile up in a socket's own buffer before holding records in our queue. */
const SOCKET_HIGH_WATER = 256 * 1024;
/** How often a client with queued records checks whether its socket drained. */
const DRAIN_POLL_MS = 10;

export interface DataItem {
  sub: Subscription;
  batch: FrameGroup;
  records: PreparedRecord[];
  shareKey: string;
}

/** The transport under a client. */
export interface Sink {
  readonly kind: 'ws' | 'sse';
  /** Bytes written but not yet on the network. */
  buffered(): number;
  sendControl(message: Record<string, unknown>): void;
  sendData(item: DataItem): void;
  /** `code` is a WebSocket close code; SSE ends the stream. */
  close(code: number, reason: string): void;
}

export type SlowClientPolicy = 'drop' | 'disconnect';

export const CLOSE_TOO_SLOW = 4008;

type Queued = { control: Record<string, unknown> } | DataItem;

export interface ClientLimits {
  buffer: number;
  policy: SlowClientPolicy;
  maxSubscriptions: number;
}

export class Client implements SubscriptionTarget {
  readonly subscriptions = new Map<string, Subscription>();
  private readonly queue: Queued[] = [];
  private queuedRecords = 0;
  private dropped = 0;
  private readonly droppedFrom = new Map<string, Map<number, bigint>>();
  private waiters: (() => void)[] = [];
  private drainTimer: NodeJS.Timeout | undefined;
  private nextId = 1;
  closed = false;
  alive = true;
  sent = 0;

  constructor(
    readonly sink: Sink,
    readonly limits: ClientLimits,
    readonly log: Logger,
    readonly remote: string,
  ) {}

  newSubscriptionId(): string {
    let id: string;
    do id = `s${this.nextId++}`;
    while (this.subscriptions.has(id));
    return id;
  }

  get pendingRecords(): number {
    return this.queuedRecords;
  }

  deliver(sub: Subscription, batch: FrameGroup, records: PreparedRecord[], shareKey: string): void {
    if (this.closed) return;
    const item: DataItem = { sub, batch, records, shareKey };
    if (!this.queue.length && this.sink.buffered() < SOCKET_HIGH_WATER) {
      this.write(item);
      return;
    }
    this.queue.push(item);
    this.queuedRecords += records.length;
    this.watchDrain();
    if (this.queuedRecords > this.limits.buffer) this.overflow();
  }

  /**
   * Only clients with a queue are watched: a send callback per frame would cost every fast client
   * on every frame, while a short poll costs only the few that are behind.
   */
  private watchDrain(): void {
    if (this.drainTimer || this.closed) return;
    this.drainTimer = setInterval(() => {
      this.flush();
      if (!this.queue.length && !this.dropped) {
        clearInterval(this.drainTimer);
        this.drainTimer = undefined;
      }
    }, DRAIN_POLL_MS);
  }

  notify(message: Record<string, unknown>): void {
    if (this.closed) return;
    if (!this.queue.length && this.sink.buffered() < SOCKET_HIGH_WATER) this.sink.sendControl(message);
    else {
      this.queue.push({ control: message });
      this.watchDrain();
    }
  }

  /** Replays call this before each batch: they wait for the queue to drain rather than drop. */
  room(): Promise<void> {
    if (this.closed || this.queuedRecords < this.limits.buffer / 2) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private overflow(): void {
    if (this.limits.policy === 'disconnect') {
      this.log.info({ remote: this.remote, queued: this.queuedRecords }, 'slow client disconnected');
      this.close(CLOSE_TOO_SLOW, `too slow: more than ${this.limits.buffer} records queued`);
      return;
    }
    while (this.queuedRecords > this.limits.buffer) {
      const i = this.queue.findIndex((q) => !('control' in q));
      if (i < 0) break;
      const [item] = this.queue.splice(i, 1) as [DataItem];
      this.queuedRecords -= item.records.length;
      this.dropped += item.records.length;
      this.noteDropped(item);
    }
  }

  private noteDropped(item: DataItem): void {
    let parts = this.droppedFrom.get(item.sub.id);
    if (!parts) this.droppedFrom.set(item.sub.id, (parts = new Map()));
    for (const r of item.records) {
      const seen = parts.get(r.partition);
      if (seen === undefined || r.offset < seen) parts.set(r.partition, r.offset);
    }
  }

  /** Writes what the socket will take; called when the socket drained. */
  flush(): void {
    if (this.closed) return;
    if (this.dropped) this.sendLagNotice();
    while (this.queue.length && this.sink.buffered() < SOCKET_HIGH_WATER) {
      const item = this.queue.shift()!;
      if ('control' in item) this.sink.sendControl(item.control);
      else {
        this.queuedRecords -= item.records.length;
        this.write(item);
      }
    }
    if (this.waiters.length && this.queuedRecords < this.limits.buffer / 2) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
  }

  private sendLagNotice(): void {
    const subscriptions: Record<string, { from: Record<string, string> }> = {};
    for (const [sub, parts] of this.droppedFrom) subscriptions[sub] = { from: Object.fromEntries([...parts].map(([p, o]) => [String(p), o.toString()])) };
    this.sink.sendControl({ type: 'lagged', dropped: this.dropped, subscriptions, message: `lagged: ${this.dropped} records dropped; replay from the offsets given to fill the gap` });
    this.dropped = 0;
    this.droppedFrom.clear();
  }

  private write(item: DataItem): void {
    this.sent += item.records.length;
    this.sink.sendData(item);
  }

  error(code: string, message: string, extra: { field?: string; id?: string } = {}): void {
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
    clearInterval(this.drainTimer);
    this.drainTimer = undefined;
    this.queue.length = 0;
    this.queuedRecords = 0;
    for (const w of this.waiters) w();
    this.waiters = [];
    for (const sub of this.subscriptions.values()) void sub.close();
    this.subscriptions.clear();
  }
}
