/** The two transports: WebSocket frames (one per tick, a JSON array of messages) and Server-Sent Events (one event per record). */
import type { ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import type { Sink } from './client.ts';
import type { FrameClock, FrameItem } from './frames.ts';
import { DataPiece } from './records.ts';

const TEXT = { binary: false } as const;

export class WsSink implements Sink {
  readonly kind = 'ws';

  private readonly ws: WebSocket;
  private readonly clock: FrameClock;

  constructor(ws: WebSocket, clock: FrameClock) {
    this.ws = ws;
    this.clock = clock;
  }

  buffered(): number {
    return this.ws.bufferedAmount;
  }

  send(items: readonly FrameItem[]): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(this.clock.frame(items), TEXT);
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason);
  }
}

/**
 * Server-Sent Events. Each record is one event named after its topic; its id is a cursor of the
 * positions delivered so far on every topic and partition, which a reconnecting EventSource sends
 * back as Last-Event-ID to resume exactly there.
 */
export class SseSink implements Sink {
  readonly kind = 'sse';
  private readonly positions = new Map<string, Map<number, bigint>>();
  onWritten: () => void = () => undefined;

  private readonly res: ServerResponse;

  constructor(res: ServerResponse, initial: Map<string, Map<number, bigint>> = new Map()) {
    this.res = res;
    for (const [t, parts] of initial) this.positions.set(t, new Map(parts));
    res.on('drain', () => this.onWritten());
  }

  buffered(): number {
    return this.res.writableLength;
  }

  send(items: readonly FrameItem[]): void {
    const out: string[] = [];
    for (const item of items) {
      if (!(item instanceof DataPiece)) {
        out.push(`event: ${String(item.type)}\ndata: ${JSON.stringify(item)}\n\n`);
        continue;
      }
      const topic = item.topic;
      let parts = this.positions.get(topic);
      if (!parts) this.positions.set(topic, (parts = new Map()));
      for (const r of item.records) {
        parts.set(r.partition, r.offset + 1n);
        out.push(
          `id: ${this.cursor()}\nevent: ${topic}\ndata: {"topic":${JSON.stringify(topic)},${r.json.slice(1)}\n\n`,
        );
      }
    }
    this.write(out.join(''));
  }

  /** A comment line: keeps proxies from timing the stream out, and finds dead peers by failing. */
  heartbeat(): void {
    this.write(': ping\n\n');
  }

  cursor(): string {
    return encodeCursor(this.positions);
  }

  private write(text: string): void {
    if (!this.res.writableEnded && !this.res.destroyed) this.res.write(text);
  }

  close(): void {
    if (!this.res.writableEnded) this.res.end();
  }
}

/** `anomalies:0=12,1=7;training.events:0=3` — next offsets per topic and partition. */
export function encodeCursor(positions: Map<string, Map<number, bigint>>): string {
  return [...positions].map(([t, parts]) => `${t}:${[...parts].map(([p, o]) => `${p}=${o}`).join(',')}`).join(';');
}

/** Parses a cursor; undefined if it is not one (a client-made Last-Event-ID is just ignored then). */
export function decodeCursor(text: string): Map<string, Map<number, bigint>> | undefined {
  if (text.length > 8192) return undefined;
  const out = new Map<string, Map<number, bigint>>();
  for (const part of text.split(';')) {
    const m = /^([A-Za-z0-9._-]{1,249}):((?:\d{1,6}=\d{1,19},?)+)$/.exec(part);
    if (!m) return undefined;
    const parts = new Map<number, bigint>();
    for (const pair of m[2]!.split(',').filter(Boolean)) {
      const [p, o] = pair.split('=');
      parts.set(Number(p), BigInt(o!));
    }
    out.set(m[1]!, parts);
  }
  return out;
}
