import type { TopicKey } from '../../topics/index.ts';
import { type ConsumedRecord, DecodeError, type Serde } from '../kafka/index.ts';

/** A Kafka record decoded once and serialised once, then shared by every client that receives it. */
export interface PreparedRecord {
  partition: number;
  offset: bigint;
  timestamp: number;
  key: string | null;
  /** The decoded value (null when it could not be decoded). */
  value: unknown;
  /** `{"partition":…,"offset":"…","timestamp":…,"key":…,"value":…}` as sent to clients. */
  json: string;
}

/** One fetched batch of one partition, prepared for fan-out. */
export interface PreparedBatch {
  /** The topic as clients name it (the declared key, or the full name of an undeclared topic). */
  topic: string;
  partition: number;
  records: PreparedRecord[];
  /** The offset after the batch's last record. */
  end: bigint;
}

let pieceIds = 0;
const OPEN = '[{"type":"data","sub":';

/**
 * Records of one subscription, written once as a `data` message and shared by every client that
 * has the same view (same subscription id, filter and start): 1,000 dashboards cost one buffer.
 */
export class DataPiece {
  readonly id = ++pieceIds;
  /** About the size of the message in bytes (JSON length; exact for ASCII). */
  readonly bytes: number;
  private framed: Buffer | undefined;

  readonly sub: string;
  readonly topic: string;
  readonly records: readonly PreparedRecord[];

  constructor(sub: string, topic: string, records: readonly PreparedRecord[], bytes: number) {
    this.sub = sub;
    this.topic = topic;
    this.records = records;
    this.bytes = bytes;
  }

  /** `[{"type":"data",…}]`: the piece alone as a whole frame. */
  frame(): Buffer {
    if (!this.framed) {
      let body = '';
      for (let i = 0; i < this.records.length; i++) body += i ? `,${this.records[i]!.json}` : this.records[i]!.json;
      this.framed = Buffer.from(
        `${OPEN}${JSON.stringify(this.sub)},"topic":${JSON.stringify(this.topic)},"records":[${body}]}]`,
      );
    }
    return this.framed;
  }

  /** `{"type":"data",…}`: the message, to put in a frame with others (a view of frame()). */
  message(): Buffer {
    const f = this.frame();
    return f.subarray(1, f.length - 1);
  }
}

/** Cuts records into pieces of at most about `maxBytes` each (a record larger than that goes alone). */
export function cutPieces(
  sub: string,
  topic: string,
  records: readonly PreparedRecord[],
  maxBytes: number,
): DataPiece[] {
  const out: DataPiece[] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < records.length; i++) {
    const size = records[i]!.json.length + 1;
    if (i > start && bytes + size > maxBytes) {
      out.push(new DataPiece(sub, topic, records.slice(start, i), bytes));
      start = i;
      bytes = 0;
    }
    bytes += size;
  }
  if (records.length > start) out.push(new DataPiece(sub, topic, start === 0 ? records : records.slice(start), bytes));
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function keyText(key: Buffer | null): string | null {
  if (!key) return null;
  try {
    return utf8.decode(key);
  } catch {
    return `base64:${key.toString('base64')}`;
  }
}

/** Avro `bytes` decode to Buffers, which JSON would spell as arrays of numbers: send them as base64. */
function jsonSafe(_key: string, v: unknown): unknown {
  if (
    v &&
    typeof v === 'object' &&
    (v as { type?: string }).type === 'Buffer' &&
    Array.isArray((v as { data?: unknown }).data)
  ) {
    return Buffer.from((v as { data: number[] }).data).toString('base64');
  }
  return v;
}

/** Undeclared topics: JSON if the value is JSON, else text, else base64. */
function decodeGeneric(buf: Buffer | null): unknown {
  if (!buf) return null;
  let text: string;
  try {
    text = utf8.decode(buf);
  } catch {
    return { base64: buf.toString('base64') };
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Decodes and serialises the records of one topic. */
export class RecordCodec {
  private readonly hasBytes: boolean;

  readonly topic: string;
  private readonly serde: Serde;
  private readonly declared: TopicKey | undefined;

  constructor(topic: string, serde: Serde, declared: TopicKey | undefined) {
    this.topic = topic;
    this.serde = serde;
    this.declared = declared;
    this.hasBytes = declared !== undefined && JSON.stringify(serde.readerType(declared).schema()).includes('"bytes"');
  }

  async prepare(partition: number, records: ConsumedRecord[]): Promise<PreparedBatch> {
    const out: PreparedRecord[] = new Array(records.length);
    for (let i = 0; i < records.length; i++) out[i] = await this.prepareOne(partition, records[i]!);
    return {
      topic: this.topic,
      partition,
      records: out,
      end: out.length ? out[out.length - 1]!.offset + 1n : 0n,
    };
  }

  private async prepareOne(partition: number, r: ConsumedRecord): Promise<PreparedRecord> {
    const key = keyText(r.key);
    let value: unknown = null;
    let error: { reason: string; message: string } | undefined;
    if (this.declared === undefined) value = decodeGeneric(r.value);
    else if (r.value === null) value = null;
    else {
      try {
        value = (await this.serde.decode(this.declared, r.value)).value;
      } catch (err) {
        error = { reason: err instanceof DecodeError ? err.reason : 'decode_error', message: (err as Error).message };
      }
    }
    const body: Record<string, unknown> = { partition, offset: r.offset, timestamp: r.timestamp, key, value };
    if (error) body.error = error;
    const json = this.hasBytes ? JSON.stringify(body, jsonSafe) : JSON.stringify(body);
    return { partition, offset: BigInt(r.offset), timestamp: r.timestamp, key, value, json };
  }
}
