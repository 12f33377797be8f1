/**
 * The in-place encoders that replace kafkajs' allocating ones: varints as the protocol defines them (read back
 * by kafkajs' own decoder), and records byte for byte as kafkajs' own record encoder writes them.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  fastRecord,
  groupingPatched,
  groupMessagesPerPartition,
  KafkajsEncoder,
  kafkajsRecord,
  type RecordInput,
} from '../../src/kafka/kafkajs-produce.ts';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (
  b: Buffer,
) => { readVarInt(): number; readVarLong(): { toString(): string }; readUVarInt(): number };
const Encoder = KafkajsEncoder as unknown as new () => {
  buffer: Buffer;
  writeVarInt(v: number): unknown;
  writeUVarInt(v: number): unknown;
  writeVarLong(v: unknown): unknown;
};

/** Zigzag LEB128 of a 64-bit value, as the Kafka protocol defines it. */
function varlongBytes(value: bigint): number[] {
  let v = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number((v & 0x7fn) | 0x80n));
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

const INT32 = [
  0,
  1,
  -1,
  63,
  -64,
  64,
  -65,
  127,
  128,
  8191,
  -8192,
  2 ** 20,
  2 ** 29,
  -(2 ** 30),
  2 ** 30,
  2 ** 31 - 1,
  -(2 ** 31),
];
const LONG = [...INT32, Date.now(), -Date.now(), 2 ** 40 + 3, Number.MAX_SAFE_INTEGER];

describe('kafkajs encoder varints', () => {
  it('writes varints as the protocol defines them, readable by kafkajs', () => {
    for (const v of INT32) {
      const e = new Encoder();
      e.writeVarInt(v);
      expect([...e.buffer], String(v)).toEqual(varlongBytes(BigInt(v)));
      expect(new Decoder(e.buffer).readVarInt()).toBe(v);
    }
  });

  it('writes unsigned varints of the low 32 bits', () => {
    for (const v of [0, 1, 127, 128, 300, 2 ** 28, 2 ** 32 - 1]) {
      const e = new Encoder();
      e.writeUVarInt(v);
      expect(new Decoder(e.buffer).readUVarInt()).toBe(v);
    }
  });

  it('writes varlongs (numbers, strings) and sizes them as written', () => {
    for (const v of [...LONG, '123456789012', '-5']) {
      const e = new Encoder();
      e.writeVarLong(v);
      expect([...e.buffer], String(v)).toEqual(varlongBytes(BigInt(v)));
      expect(new Decoder(e.buffer).readVarLong().toString()).toBe(String(v));
      expect(KafkajsEncoder.sizeOfVarLong(v)).toBe(e.buffer.length);
    }
  });
});

describe('kafkajs record encoder', () => {
  const records: RecordInput[] = [
    { key: null, value: null },
    { key: 'k1', value: 'plain value' },
    { key: Buffer.from([0, 1, 2]), value: Buffer.alloc(300, 7), offsetDelta: 1999, timestampDelta: 0 },
    { key: 'ключ', value: '{"ü":"ñ"}', headers: { 'content-type': 'application/json', 'idempotency-key': 'm-1' } },
    { key: 'k', value: 'v', headers: { multi: ['a', Buffer.from('b')], empty: '' } },
    { key: 'k', value: 'x'.repeat(70_000), offsetDelta: 5, timestampDelta: 1234 },
    { key: 'k', value: 'v', timestampDelta: -17, offsetDelta: 3 },
    { key: 'k', value: 'v', timestampDelta: Date.now() },
  ];

  it('writes each record byte for byte as kafkajs does', () => {
    for (const r of records) expect(fastRecord(r).buffer.equals(kafkajsRecord(r).buffer)).toBe(true);
  });

  it('builds record batches that kafkajs decodes back, checksum and all', async () => {
    const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
      RecordBatch: (b: { records: unknown[]; lastOffsetDelta: number }) => Promise<{ buffer: Buffer }>;
    };
    const decode = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (
      d: unknown,
    ) => Promise<{ records: { key: Buffer; value: Buffer; headers: Record<string, Buffer> }[] }>;
    const inputs = Array.from({ length: 3000 }, (_, i) => ({
      key: `k${i % 7}`,
      value: 'v'.repeat(i % 300),
      headers: { 'message-id': `m-${i}` },
      offsetDelta: i,
    }));
    const batch = await RecordBatch({ records: inputs.map(fastRecord), lastOffsetDelta: inputs.length - 1 });
    const decoded = await decode(new Decoder(batch.buffer));
    expect(decoded.records.length).toBe(inputs.length);
    decoded.records.forEach((r, i) => {
      expect(r.key.toString()).toBe(inputs[i]!.key);
      expect(r.value.toString()).toBe(inputs[i]!.value);
      expect(r.headers['message-id']!.toString()).toBe(`m-${i}`);
    });
  });

  it('is the encoder kafkajs produce requests use', () => {
    const produce = require('kafkajs/src/protocol/requests/produce/v3/request.js') as unknown;
    expect(produce).toBeTypeOf('function');
    expect(require('kafkajs/src/protocol/recordBatch/record/v0/index.js')).toBe(fastRecord);
  });
});

describe('kafkajs grouping per partition', () => {
  it('groups messages by their partition, in order', () => {
    const messages = Array.from({ length: 5000 }, (_, i) => ({ i }));
    const groups = groupMessagesPerPartition({
      topic: 't',
      partitionMetadata: [{}, {}, {}],
      messages,
      partitioner: ({ message }) => (message as { i: number }).i % 3,
    });
    expect(Object.keys(groups)).toEqual(['0', '1', '2']);
    expect(groups[1]!.slice(0, 3)).toEqual([{ i: 1 }, { i: 4 }, { i: 7 }]);
    expect(groups[0]!.length + groups[1]!.length + groups[2]!.length).toBe(5000);
    expect(groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages, partitioner: () => 0 })).toEqual(
      {},
    );
  });

  it('is the grouping kafkajs producers use', () => {
    expect(groupingPatched).toBe(true);
    expect(require('kafkajs/src/producer/groupMessagesPerPartition.js')).toBe(groupMessagesPerPartition);
  });
});
