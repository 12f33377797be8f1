/**
 * The CPU of kafkajs 2.2.4's produce path, which a profile of RelayCore found to be most of its time:
 * - each record is encoded into a fresh zero-filled 512-byte buffer, each of its headers into another,
 *   and every varint through a `Buffer.from(array)` (varlongs through Long arithmetic as well): a record
 *   with three headers costs about twenty allocations before its bytes are copied into the batch;
 * - a buffer that grows is zero-filled and grown by doubling, once per record appended to a batch;
 * - messages are grouped per partition by copying the partition's array for every message (quadratic:
 *   5,000 records on two partitions copy 12 million array slots).
 * kafkajs is in maintenance mode, so the fix lives here: the same bytes, written in place (a record into
 * one buffer of its exact size), and the same grouping in linear time. Imported by this folder's modules
 * before kafkajs itself: kafkajs takes its grouping function when it loads, and its record encoder with
 * the first produce request.
 */
import Module, { createRequire } from 'node:module';

interface Encoder {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
  ensureAvailable(length: number): void;
  writeEncoderArray(value: Encoder[]): Encoder;
  writeUVarInt(value: number): Encoder;
  writeVarInt(value: number): Encoder;
  writeVarLong(value: unknown): Encoder;
}

interface EncoderClass {
  prototype: Encoder;
  sizeOfVarLong(value: unknown): number;
}

type HeaderValue = Buffer | string | null;

/** What kafkajs' produce request hands its record encoder. */
export interface RecordInput {
  offsetDelta?: number;
  timestampDelta?: unknown;
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: Record<string, HeaderValue | HeaderValue[] | undefined>;
}

const require = createRequire(import.meta.url);
export const KafkajsEncoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass;
const RECORD_MODULE = require.resolve('kafkajs/src/protocol/recordBatch/record/v0/index.js');
/** kafkajs' own record encoder, for inputs the fast one does not take, and for tests. */
export const kafkajsRecord = require(RECORD_MODULE) as (r: RecordInput) => Encoder;

const SMALL = 2 ** 30;
const isSmall = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= -SMALL && value < SMALL;
// Below 2^30 in magnitude the 64-bit zigzag of a value equals its 32-bit one, and so do its varint bytes.
const zigzag = (value: number) => ((value << 1) ^ (value >> 31)) >>> 0;

function uvarintSize(value: number): number {
  let v = value >>> 0;
  let bytes = 1;
  while (v >= 0x80) {
    bytes++;
    v >>>= 7;
  }
  return bytes;
}

function putUVarInt(buf: Buffer, offset: number, value: number): number {
  let v = value >>> 0;
  while (v >= 0x80) {
    buf[offset++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[offset++] = v;
  return offset;
}

const originalWriteVarLong = KafkajsEncoder.prototype.writeVarLong;
const originalSizeOfVarLong = KafkajsEncoder.sizeOfVarLong;

// Bytes past `offset` are never read (`buffer` ends there), so a grown buffer needs no zero fill.
KafkajsEncoder.prototype.ensureAvailable = function ensureAvailable(this: Encoder, length: number): void {
  const needed = this.offset + length;
  if (needed <= this.buf.length) return;
  const grown = Buffer.allocUnsafe(2 ** Math.ceil(Math.log2(needed + 1)));
  this.buf.copy(grown, 0, 0, this.offset);
  this.buf = grown;
};
/** One growth for the whole array, not one per element. */
KafkajsEncoder.prototype.writeEncoderArray = function writeEncoderArray(this: Encoder, value: Encoder[]): Encoder {
  if (!Array.isArray(value) || value.some((v) => v == null || !Buffer.isBuffer(v.buf)))
    throw new Error('all values should be an instance of Encoder[]');
  let total = 0;
  for (const v of value) total += v.offset;
  this.ensureAvailable(total);
  for (const v of value) this.offset += v.buf.copy(this.buf, this.offset, 0, v.offset);
  return this;
};
KafkajsEncoder.prototype.writeUVarInt = function writeUVarInt(this: Encoder, value: number): Encoder {
  this.ensureAvailable(5);
  this.offset = putUVarInt(this.buf, this.offset, value);
  return this;
};
KafkajsEncoder.prototype.writeVarInt = function writeVarInt(this: Encoder, value: number): Encoder {
  return this.writeUVarInt(zigzag(value));
};
KafkajsEncoder.prototype.writeVarLong = function writeVarLong(this: Encoder, value: unknown): Encoder {
  return isSmall(value) ? this.writeUVarInt(zigzag(value)) : originalWriteVarLong.call(this, value);
};
KafkajsEncoder.sizeOfVarLong = function sizeOfVarLong(value: unknown): number {
  return isSmall(value) ? uvarintSize(zigzag(value)) : originalSizeOfVarLong.call(KafkajsEncoder, value);
};

/** Bytes of a nullable string or buffer field, and its varint length prefix (-1 for null). */
const fieldSize = (v: Buffer | string | null | undefined) => {
  if (v == null) return 1;
  const n = typeof v === 'string' ? Buffer.byteLength(v) : v.length;
  return uvarintSize(zigzag(n)) + n;
};

function putField(buf: Buffer, offset: number, v: Buffer | string | null | undefined): number {
  if (v == null) return putUVarInt(buf, offset, zigzag(-1));
  if (typeof v === 'string') {
    const n = Buffer.byteLength(v);
    offset = putUVarInt(buf, offset, zigzag(n));
    return offset + buf.write(v, offset, n, 'utf8');
  }
  offset = putUVarInt(buf, offset, zigzag(v.length));
  return offset + v.copy(buf, offset);
}

/** kafkajs' record v0 (length, attributes, timestamp delta, offset delta, key, value, headers) into one buffer. */
export function fastRecord(r: RecordInput): Encoder {
  const { offsetDelta = 0, timestampDelta = 0, key, value, headers = {} } = r;
  const isField = (v: unknown) => v == null || typeof v === 'string' || Buffer.isBuffer(v);
  if (!isSmall(timestampDelta) || !isSmall(offsetDelta) || !isField(key) || !isField(value)) return kafkajsRecord(r);
  const flat: HeaderValue[] = [];
  for (const name of Object.keys(headers)) {
    const v = headers[name];
    if (Array.isArray(v)) for (const x of v) flat.push(name, x);
    else flat.push(name, v as HeaderValue);
  }
  let size = 1 + uvarintSize(zigzag(timestampDelta)) + uvarintSize(zigzag(offsetDelta));
  size += fieldSize(key) + fieldSize(value) + uvarintSize(zigzag(flat.length / 2));
  for (let i = 0; i < flat.length; i++) {
    if (!isField(flat[i])) return kafkajsRecord(r);
    size += fieldSize(flat[i]);
  }
  const total = uvarintSize(zigzag(size)) + size;
  const buf = Buffer.allocUnsafe(total);
  let o = putUVarInt(buf, 0, zigzag(size));
  buf[o++] = 0; // attributes: none used
  o = putUVarInt(buf, o, zigzag(timestampDelta));
  o = putUVarInt(buf, o, zigzag(offsetDelta));
  o = putField(buf, o, key);
  o = putField(buf, o, value);
  o = putUVarInt(buf, o, zigzag(flat.length / 2));
  for (const f of flat) o = putField(buf, o, f);
  const encoder = Object.create(KafkajsEncoder.prototype) as Encoder;
  encoder.buf = buf;
  encoder.offset = o;
  return encoder;
}

const cached = require.cache[RECORD_MODULE];
if (cached) cached.exports = fastRecord;

interface GroupInput {
  topic: string;
  partitionMetadata: unknown[];
  messages: unknown[];
  partitioner: (args: { topic: string; partitionMetadata: unknown[]; message: unknown }) => number;
}

/** kafkajs' groupMessagesPerPartition in linear time: messages by partition, in their order. */
export function groupMessagesPerPartition({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: GroupInput): Record<number, unknown[]> {
  const result: Record<number, unknown[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const list = result[partition];
    if (list) list.push(message);
    else result[partition] = [message];
  }
  return result;
}

const GROUP_MODULE = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
/** False if kafkajs had loaded before this module: its producers then keep the quadratic grouping. */
export const groupingPatched = !require.cache[require.resolve('kafkajs/src/producer/sendMessages.js')];
const group = new Module(GROUP_MODULE);
group.filename = GROUP_MODULE;
group.loaded = true;
group.exports = groupMessagesPerPartition;
require.cache[GROUP_MODULE] = group;
