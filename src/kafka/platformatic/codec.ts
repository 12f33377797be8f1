/** How our record types map onto @platformatic/kafka's generic key, value and header types. */
import { type Partitioner, stringDeserializer, stringSerializer } from '@platformatic/kafka';
import { murmur2 } from '../partitioner.ts';

export type Bytes = Buffer | string | null;

const toBuffer = (data?: Bytes): Buffer | undefined =>
  data == null ? undefined : typeof data === 'string' ? Buffer.from(data) : data;

export const serializers = {
  key: toBuffer,
  value: toBuffer,
  headerKey: stringSerializer,
  headerValue: stringSerializer,
};

/** Keys and values stay Buffers; header keys and values become strings, as in ConsumedRecord. */
export const deserializers = { headerKey: stringDeserializer, headerValue: stringDeserializer };

/**
 * Java's (and kafkajs') default partitioner: murmur2 of the key, made positive with `& 0x7fffffff`.
 * The client's own default uses `>>> 0`, which sends many keys to another partition than a kafkajs
 * or Java producer would (breaking per-key order across producers and `partitionForKey`), and
 * computes murmur2 with BigInt. Keyless records go round-robin; the client takes the modulo.
 */
export function javaCompatiblePartitioner(): Partitioner<Bytes, Bytes, string, string> {
  let next = 0;
  return (_message, key) => (key?.length ? murmur2(key) & 0x7fffffff : next++ & 0x7fffffff);
}

export function headersToRecord(headers: Map<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of headers) if (k !== undefined && v !== undefined) out[k] = v;
  return out;
}
