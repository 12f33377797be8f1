import type { ConsumedRecord, KafkaConnection } from '../kafka/index.ts';

/**
 * How a record's value is shown as JSON: `decoded` (a declared topic's value, Avro or JSON,
 * read with its schema), `json` or `text` (any other topic's UTF-8 value), `base64` (bytes).
 */
export type ValueEncoding = 'decoded' | 'json' | 'text' | 'base64';

export interface RecordLine {
  topic: string;
  partition: number;
  offset: string;
  timestamp: number;
  key: string | null;
  headers: Record<string, string>;
  encoding: ValueEncoding | null;
  value: unknown;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function plainValue(bytes: Buffer): { encoding: ValueEncoding; value: unknown } {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { encoding: 'base64', value: bytes.toString('base64') };
  }
  try {
    return { encoding: 'json', value: JSON.parse(text) };
  } catch {
    return { encoding: 'text', value: text };
  }
}

/** A record as one JSON object: Avro values decoded through the registry, other values as JSON, text or base64. */
export async function recordLine(kafka: KafkaConnection, r: ConsumedRecord): Promise<RecordLine> {
  const base = {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key?.toString('utf8') ?? null,
    headers: r.headers,
  };
  if (!r.value) return { ...base, encoding: null, value: null };
  const declared = kafka.catalog.keyOf(r.topic);
  if (declared) {
    try {
      return { ...base, encoding: 'decoded', value: (await kafka.serde.decode(declared, r.value)).value };
    } catch {
      /* not a value of its schema: show it as it is */
    }
  }
  return { ...base, ...plainValue(r.value) };
}

/** JSON text of a line; Avro bytes and longs (Buffers, BigInts) as base64 and decimal strings. */
export function lineText(line: RecordLine): string {
  // Buffer.toJSON runs before a replacer sees the value: look at the holder's own property instead.
  return JSON.stringify(line, function (this: Record<string, unknown>, key, v: unknown) {
    const raw = this[key];
    if (Buffer.isBuffer(raw)) return raw.toString('base64');
    return typeof v === 'bigint' ? v.toString() : v;
  });
}

/** A topic given on the command line: a declared key (`anomalies`) under the prefix, or a full name. */
export function topicName(kafka: KafkaConnection, given: string): string {
  const declared = kafka.catalog.keys().find((k) => k === given);
  return declared ? kafka.catalog.name(declared) : given;
}
