/**
 * One connected client (WebSocket or SSE): its subscriptions and a bounded queue in front of its
 * socket. Records go straight to the socket while it keeps up; past its socket buffer they wait in
 * the queue; past GATEWAY_CLIENT_BUFFER records the slow-client policy applies, so a slow client
 * costs the others nothing and its memory stays bounded.
 */
import type { Logger } from '../log/index.ts';
import type { Subscription, SubscriptionTarget } from './hub.ts';
import type { FrameGroup, PreparedRecord } from './records.ts';

/** Bytes we let pile up in a socket's own buffer before holding records in our queue. */
const SOCKET_HIGH_WATER = 512 * 1024;
/** How often clients with queued records are checked for a drained socket. */
const DRAIN_POLL_MS = 10;
/** Queued records sent as one frame at most, when a client catches up. */
const MAX_MERGED_RECORDS = 5000;

/**
 * One timer for every client that has a queue: a send callback per frame would cost every fast
 * client on every frame, and a timer per client would cost a lot when many fall behind at once.
 */
class DrainScheduler {
  private readonly clients = new Set<Client>();
  private timer: NodeJS.Timeout | undefined;

  watch(client: Client): void {
    this.clients.add(client);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), DRAIN_POLL_MS);
      this.timer.unref();
    }
  }

  private tick(): void {
    for (const c of this.clients) if (c.flush()) this.clients.delete(c);
    if (!this.clients.size) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

const drains = new DrainScheduler();

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

/** Totals a gateway keeps over all its clients (for /metrics). */
export interface ClientCounters {
  recordsSent: number;
  recordsDropped: number;
  slowDisconnects: number;
  protocolErrors: number;
}

export class Client implements SubscriptionTarget {
  readonly subscriptions = new Map<string, Subscription>();
  private readonly queue: Queued[] = [];
  private queuedRecords = 0;
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
  private readonly counters: ClientCounters;

  constructor(
    sink: Sink,
    limits: ClientLimits,
    log: Logger,
    remote: string,
    counters: ClientCounters = { recordsSent: 0, recordsDropped: 0, slowDisconnects: 0, protocolErrors: 0 },
  ) {
    this.sink = sink;
    this.limits = limits;
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

  deliver(sub: Subscription, batch: FrameGroup, records: PreparedRecord[], shareKey: string): void {
    if (this.closed) return;
    const item: DataItem = { sub, batch, records, shareKey };
    if (!this.queue.length && this.sink.buffered() < SOCKET_HIGH_WATER) {
      this.write(item);
      return;
    }
    this.queue.push(item);
    this.queuedRecords += records.length;
    drains.watch(this);
    if (this.queuedRecords > this.limits.buffer) this.overflow();
  }

  notify(message: Record<string, unknown>): void {
    if (this.closed) return;
    if (!this.queue.length && this.sink.buffered() < SOCKET_HIGH_WATER) this.sink.sendControl(message);
    else {
      this.queue.push({ control: message });
      drains.watch(this);
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
      this.counters.slowDisconnects++;
      this.close(CLOSE_TOO_SLOW, `too slow: more than ${this.limits.buffer} records queued`);
      return;
    }
    while (this.queuedRecords > this.limits.buffer) {
      const i = this.queue.findIndex((q) => !('control' in q));
      if (i < 0) break;
      const [item] = this.queue.splice(i, 1) as [DataItem];
      this.queuedRecords -= item.records.length;
      this.dropped += item.records.length;
      this.counters.recordsDropped += item.records.length;
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

  /**
   * Writes what the socket will take, queued records of one subscription merged into one frame.
   * True once nothing is left to send (or the client is gone).
   */
  flush(): boolean {
    if (this.closed) return true;
    if (this.dropped) this.sendLagNotice();
    while (this.queue.length && this.sink.buffered() < SOCKET_HIGH_WATER) {
      const item = this.queue.shift()!;
      if ('control' in item) {
        this.sink.sendControl(item.control);
        continue;
      }
      const merged = this.mergeFollowing(item);
      this.queuedRecords -= merged.records.length;
      this.write(merged);
    }
    if (this.waiters.length && this.queuedRecords < this.limits.buffer / 2) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
    return !this.queue.length && !this.dropped;
  }

  /** Takes the queued records of the same subscription that follow `item`, into one delivery. */
  private mergeFollowing(item: DataItem): DataItem {
    let records = item.records;
    while (this.queue.length) {
      const next = this.queue[0]!;
      if ('control' in next || next.sub !== item.sub || records.length + next.records.length > MAX_MERGED_RECORDS)
        break;
      this.queue.shift();
      records = records.concat(next.records);
    }
    if (records === item.records) return item;
    return { sub: item.sub, batch: { topic: item.batch.topic, frames: new Map() }, records, shareKey: 'merged' };
  }

  private sendLagNotice(): void {
    const subscriptions: Record<string, { from: Record<string, string> }> = {};
    for (const [sub, parts] of this.droppedFrom)
      subscriptions[sub] = { from: Object.fromEntries([...parts].map(([p, o]) => [String(p), o.toString()])) };
    this.sink.sendControl({
      type: 'lagged',
      dropped: this.dropped,
      subscriptions,
      message: `lagged: ${this.dropped} records dropped; replay from the offsets given to fill the gap`,
    });
    this.dropped = 0;
    this.droppedFrom.clear();
  }

  private write(item: DataItem): void {
    this.sent += item.records.length;
    this.counters.recordsSent += item.records.length;
    this.sink.sendData(item);
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
    this.queue.length = 0;
    this.queuedRecords = 0;
    for (const w of this.waiters) w();
    this.waiters = [];
    for (const sub of this.subscriptions.values()) void sub.close();
    this.subscriptions.clear();
  }
}
