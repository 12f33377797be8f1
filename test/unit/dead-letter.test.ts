import avsc from 'avsc';
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_REASON_SYMBOLS, type DeadLetter, loadSchema } from '../../schemas/index.ts';
import { deadLetterOf } from '../../src/kafka/index.ts';

const { Type } = avsc;

/** schemas/dead-letter.avsc as it was first registered: the reason a bare string. */
const FIRST_VERSION = {
  type: 'record',
  name: 'DeadLetter',
  namespace: 'dev.automatrix',
  fields: [
    { name: 'sourceTopic', type: 'string' },
    { name: 'sourcePartition', type: 'int' },
    { name: 'sourceOffset', type: 'long' },
    { name: 'key', type: ['null', 'bytes'], default: null },
    { name: 'value', type: ['null', 'bytes'], default: null },
    { name: 'headers', type: { type: 'map', values: 'string' }, default: {} },
    { name: 'reason', type: 'string' },
    { name: 'error', type: 'string' },
    { name: 'component', type: 'string', default: 'relay' },
    { name: 'messageId', type: ['null', 'string'], default: null },
    { name: 'route', type: ['null', 'string'], default: null },
    { name: 'attempts', type: 'int', default: 0 },
    { name: 'failedAt', type: 'long' },
  ],
};

const record = {
  topic: 'automatrix.messages.normal',
  partition: 2,
  offset: '41',
  key: Buffer.from('k'),
  value: Buffer.from([0x7b, 0xff]),
  headers: { trace: 't-1' },
  timestamp: 0,
};

describe('dead-letter reasons', () => {
  it('are written once, as the enum and as its text', () => {
    const letter = deadLetterOf(record, 'no_endpoint', 'no endpoint for 300 s', {
      component: 'relay',
      messageId: 'm-1',
      route: 'orders',
      attempts: 0,
    });
    expect(letter).toMatchObject({
      reasonCode: 'no_endpoint',
      reason: 'no_endpoint',
      sourceTopic: record.topic,
      sourcePartition: 2,
      sourceOffset: 41,
      route: 'orders',
    });
    const current = Type.forSchema(loadSchema('dead-letter') as avsc.Schema);
    const read = current.fromBuffer(current.toBuffer(letter)) as DeadLetter;
    expect(read.reasonCode).toBe('no_endpoint');
  });

  it('resolve on records written before the enum existed: reasonCode unknown, the text kept', () => {
    const first = Type.forSchema(FIRST_VERSION as avsc.Schema);
    const current = Type.forSchema(loadSchema('dead-letter') as avsc.Schema);
    const old = first.toBuffer({ ...deadLetterOf(record, 'max_attempts', 'HTTP 503', { component: 'relay' }) });
    const read = current.fromBuffer(old, current.createResolver(first)) as DeadLetter;
    expect(read.reasonCode).toBe('unknown');
    expect(read.reason).toBe('max_attempts');
  });

  it('resolve a symbol the reader does not know to unknown', () => {
    const current = loadSchema('dead-letter') as { fields: { name: string; type: unknown }[] };
    const newer = structuredClone(current);
    const field = newer.fields.find((f) => f.name === 'reasonCode')!;
    const enumType = field.type as { symbols: string[] };
    enumType.symbols = [...DEAD_LETTER_REASON_SYMBOLS, 'quota_exceeded'];
    const writer = Type.forSchema(newer as avsc.Schema);
    const reader = Type.forSchema(current as avsc.Schema);
    const letter = {
      ...deadLetterOf(record, 'unknown', 'over quota', { component: 'relay' }),
      reasonCode: 'quota_exceeded',
    };
    const read = reader.fromBuffer(writer.toBuffer(letter), reader.createResolver(writer)) as DeadLetter;
    expect(read.reasonCode).toBe('unknown');
  });
});
