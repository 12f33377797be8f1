import { describe, expect, it } from 'vitest';
import type { RelayMessage } from '../../schemas/types.ts';
import { DecodeError, Serde, TopicCatalog } from '../../src/kafka/index.ts';

// JSON values are validated locally; no registry is contacted on this path.
const serde = new Serde('http://127.0.0.1:1/unused', new TopicCatalog('unit.'));

const sample = {
  service: 'checkout',
  timestamp: 1764237600000,
  cpu_usage: 75,
  memory_usage: 60,
  network_latency: 150,
  error_rate: 2,
  request_count: 1500,
};

function decodeError(fn: () => unknown): DecodeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DecodeError) return err;
    throw err;
  }
  throw new Error('expected a DecodeError');
}

describe('Serde, plain JSON values', () => {
  it('accepts a JSON value that fits the schema and fills defaults', async () => {
    const { value, format, schemaId } = await serde.decode('metrics.samples', Buffer.from(JSON.stringify(sample)));
    expect(format).toBe('json');
    expect(schemaId).toBeNull();
    expect(value).toMatchObject({ ...sample, performance_score: null, replicas: null, extra: {} });
  });

  it('reads a relay message payload given as a JSON object or array as its JSON text, as the API does (issue 16)', () => {
    const payload = (v: unknown) => (v as RelayMessage).payload;
    const object = serde.decodeJson('messages.normal', JSON.stringify({ id: 'm1', payload: { orderId: 1 } }));
    expect(payload(object)).toBe('{"orderId":1}');
    const array = serde.decodeJson('messages.high', JSON.stringify({ id: 'm2', payload: [1, 2] }));
    expect(payload(array)).toBe('[1,2]');
    expect(payload(serde.decodeJson('messages.low', JSON.stringify({ id: 'm3', payload: 'text' })))).toBe('text');
    // Only fields declared as JSON text: another topic's string field still has to be a string.
    const err = decodeError(() =>
      serde.decodeJson('metrics.samples', JSON.stringify({ ...sample, service: { a: 1 } })),
    );
    expect(err.message).toContain('service must be string');
  });

  it('ignores fields the schema does not know (a newer producer)', () => {
    const value = serde.decodeJson('metrics.samples', JSON.stringify({ ...sample, future_field: 1 }));
    expect(value).not.toHaveProperty('future_field');
  });

  it('names a missing field', () => {
    const { service: _s, ...rest } = sample;
    const err = decodeError(() => serde.decodeJson('metrics.samples', JSON.stringify(rest)));
    expect(err.reason).toBe('schema_mismatch');
    expect(err.fields).toEqual(['service']);
    expect(err.message).toContain('service is missing');
    expect(err.retriable).toBe(false);
  });

  it('names a field of the wrong type, nested ones by path', () => {
    const err = decodeError(() =>
      serde.decodeJson('metrics.samples', JSON.stringify({ ...sample, cpu_usage: 'high', extra: { queue: 'x' } })),
    );
    expect(err.fields).toEqual(['cpu_usage', 'extra.queue']);
    expect(err.message).toContain('cpu_usage must be double; extra.queue must be double');
  });

  it('rejects garbage bytes, bad UTF-8, and non-objects with distinct reasons', async () => {
    await expect(serde.decode('metrics.samples', Buffer.from('not json at all'))).rejects.toMatchObject({
      reason: 'invalid_json',
    });
    await expect(serde.decode('metrics.samples', Buffer.from([0xff, 0xfe, 0x41]))).rejects.toMatchObject({
      reason: 'invalid_utf8',
    });
    await expect(serde.decode('metrics.samples', Buffer.from('[1,2]'))).rejects.toMatchObject({
      reason: 'schema_mismatch',
    });
    await expect(serde.decode('metrics.samples', Buffer.alloc(0))).rejects.toMatchObject({ reason: 'empty_value' });
    await expect(serde.decode('metrics.samples', null)).rejects.toMatchObject({ reason: 'empty_value' });
    await expect(serde.decode('metrics.samples', Buffer.from([0, 0, 1]))).rejects.toMatchObject({
      reason: 'invalid_avro',
    });
  });

  it('refuses to encode before the schema is registered', () => {
    expect(() => serde.encode('metrics.samples', sample)).toThrow(/not registered yet/);
  });
});
