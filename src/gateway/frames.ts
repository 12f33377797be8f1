/**
 * Coalescing. Records wait for at most one tick (GATEWAY_FRAME_MS); at the tick every mirrored
 * topic hands its records to its subscriptions, then every client with something to send writes
 * one frame holding all of it (sooner when GATEWAY_FRAME_BYTES fill up first). A client costs one
 * write per tick however many records arrive, and clients that get the same records get the same
 * buffer.
 */
import { DataPiece } from './records.ts';

/** Something that collects records between ticks (a mirrored topic's live round). */
export interface RoundSource {
  flushRound(): void;
}

/** Something that writes at the tick (a client); true once it has nothing left to write. */
export interface FrameSink {
  flush(): boolean;
}

export interface FrameSettings {
  /** Longest wait of a record before it is written. */
  tickMs: number;
  /** A frame is written as soon as this many bytes are waiting (a record larger than this goes alone). */
  maxBytes: number;
}

/** What goes into a frame: a shared data message, or a control message of one client. */
export type FrameItem = DataPiece | Record<string, unknown>;

const COMMA = Buffer.from(',');
const OPEN = Buffer.from('[');
const CLOSE = Buffer.from(']');

export class FrameClock {
  private readonly rounds = new Set<RoundSource>();
  private readonly sinks = new Set<FrameSink>();
  /** Frames of several pieces built this tick, by piece ids: clients with the same subscriptions share them. */
  private shared = new Map<string, Buffer>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private ticking = false;
  ticks = 0;

  readonly tickMs: number;
  readonly maxBytes: number;

  constructor(settings: FrameSettings) {
    this.tickMs = settings.tickMs;
    this.maxBytes = settings.maxBytes;
  }

  /** A round has records: it is flushed at the next tick. */
  roundDue(round: RoundSource): void {
    this.rounds.add(round);
    this.arm();
  }

  /** A client has something to write: it writes at the next tick. */
  sinkDue(sink: FrameSink): void {
    this.sinks.add(sink);
    this.arm();
  }

  private arm(): void {
    if (this.timer || this.stopped || this.ticking) return;
    this.timer = setTimeout(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  /** Runs a tick now (tests; the timer calls it otherwise). */
  tick(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.ticks++;
    this.ticking = true;
    try {
      const rounds = [...this.rounds];
      this.rounds.clear();
      for (const r of rounds) r.flushRound();
      // A client whose socket is full keeps its queue and is looked at again next tick.
      for (const s of this.sinks) if (s.flush()) this.sinks.delete(s);
    } finally {
      this.ticking = false;
      this.shared = new Map();
    }
    if (this.sinks.size || this.rounds.size) this.arm();
  }

  /** The bytes of one frame holding `items` in order: `[message,message,…]`. */
  frame(items: readonly FrameItem[]): Buffer {
    if (items.length === 1 && items[0] instanceof DataPiece) return items[0].frame();
    const allData = items.every((i) => i instanceof DataPiece);
    const key = allData ? (items as DataPiece[]).map((p) => p.id).join(',') : undefined;
    const cached = key === undefined ? undefined : this.shared.get(key);
    if (cached) return cached;
    const parts: Buffer[] = [OPEN];
    for (let i = 0; i < items.length; i++) {
      if (i) parts.push(COMMA);
      const item = items[i]!;
      parts.push(item instanceof DataPiece ? item.message() : Buffer.from(JSON.stringify(item)));
    }
    parts.push(CLOSE);
    const buf = Buffer.concat(parts);
    if (key !== undefined) this.shared.set(key, buf);
    return buf;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.rounds.clear();
    this.sinks.clear();
  }
}
