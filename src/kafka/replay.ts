import type { KafkaConnection } from './client.ts';
import type { ConsumedRecord } from './types.ts';

export interface ReplayOptions {
  topic: string;
  /** Epoch ms, inclusive; the start of the log when absent. */
  from?: number;
  /** Epoch ms, inclusive; the high watermark at the start of the replay when absent. */
  to?: number;
  /** Called with each fetched chunk of in-window records, in offset order per partition. */
  onRecords: (records: ConsumedRecord[]) => Promise<void> | void;
  onProgress?: (progress: { read: number; total: number }) => void;
  signal?: AbortSignal;
}

export interface ReplayResult {
  /** Records within the window that were handed to onRecords. */
  records: number;
  /** Records read, including those outside the window by timestamp. */
  scanned: number;
  /** Per partition, the offsets replayed: [start, end). */
  ranges: { partition: number; start: string; end: string }[];
}

/**
 * Reads a topic over a time window: `from`/`to` are resolved to offsets on every partition, and
 * reading stops at the window's end. Records whose own timestamp falls outside the window
 * (producers may set any timestamp) are skipped.
 */
export async function replayWindow(conn: KafkaConnection, opts: ReplayOptions): Promise<ReplayResult> {
  const admin = await conn.admin();
  const offsets = await admin.offsets(opts.topic);
  if (!offsets.length) throw new Error(`topic ${opts.topic} does not exist`);
  const starts =
    opts.from === undefined
      ? offsets.map((o) => ({ partition: o.partition, offset: o.low }))
      : await admin.offsetsForTime(opts.topic, opts.from);
  const ends =
    opts.to === undefined
      ? offsets.map((o) => ({ partition: o.partition, offset: o.high }))
      : await admin.offsetsForTime(opts.topic, opts.to + 1);
  const ranges = offsets.map((o) => {
    const start = maxOffset(starts.find((s) => s.partition === o.partition)?.offset ?? o.low, o.low);
    const end = minOffset(ends.find((e) => e.partition === o.partition)?.offset ?? o.high, o.high);
    return { partition: o.partition, start, end: BigInt(end) < BigInt(start) ? start : end };
  });
  const total = ranges.reduce((n, r) => n + Number(BigInt(r.end) - BigInt(r.start)), 0);
  const result: ReplayResult = { records: 0, scanned: 0, ranges };
  opts.onProgress?.({ read: 0, total });
  const pending = new Set(ranges.filter((r) => r.end !== r.start).map((r) => r.partition));
  if (!pending.size) return result;

  const consumer = conn.privateConsumer('replay', { maxWaitTimeMs: 100 });
  const inWindow = (r: ConsumedRecord) =>
    (opts.from === undefined || r.timestamp >= opts.from) && (opts.to === undefined || r.timestamp <= opts.to);
  try {
    await consumer.subscribe([opts.topic]);
    let finish!: () => void;
    let fail!: (e: Error) => void;
    const done = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    opts.signal?.addEventListener('abort', () => fail(new Error('replay aborted')), { once: true });
    consumer.onCrash((error, restarting) => {
      if (!restarting) fail(error);
    });
    await consumer.run(
      async (batch) => {
        const range = ranges.find((r) => r.partition === batch.partition);
        if (!range || !pending.has(batch.partition)) return;
        const end = BigInt(range.end);
        const within = batch.records.filter((r) => BigInt(r.offset) < end);
        const chosen = within.filter(inWindow);
        if (chosen.length) await opts.onRecords(chosen);
        result.scanned += within.length;
        result.records += chosen.length;
        opts.onProgress?.({ read: result.scanned, total });
        const last = batch.records[batch.records.length - 1];
        if (last && BigInt(last.offset) + 1n >= end) {
          pending.delete(batch.partition);
          consumer.pause(opts.topic, [batch.partition]);
          if (!pending.size) finish();
        }
      },
      { partitionsConcurrently: 1 },
    );
    for (const r of ranges) {
      if (pending.has(r.partition)) consumer.seek(opts.topic, r.partition, r.start);
      else consumer.pause(opts.topic, [r.partition]);
    }
    await done;
    return result;
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

const maxOffset = (a: string, b: string) => (BigInt(a) > BigInt(b) ? a : b);
const minOffset = (a: string, b: string) => (BigInt(a) < BigInt(b) ? a : b);
