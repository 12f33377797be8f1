import type { Producer } from 'kafkajs';
import type { TopicKey } from '../../topics/index.ts';
import type { TopicCatalog } from './catalog.ts';
import type { Serde, TopicInput } from './serde.ts';
import type { OutgoingRecord, ProduceResult, RecordKey } from './types.ts';

export interface TypedRecord<K extends TopicKey> {
  key?: RecordKey;
  value: TopicInput<K>;
  headers?: Record<string, string>;
  partition?: number;
  timestamp?: number;
}

/** The client under a TypedProducer: sends records to several topics in one request, acks=all. */
export interface ProducerTransport {
  send(batches: { topic: string; records: OutgoingRecord[] }[]): Promise<ProduceResult[]>;
  disconnect(): Promise<void>;
}

/** A producer that Avro-encodes values of declared topics, and sends raw bytes to any topic. */
export class TypedProducer {
  private readonly producer: ProducerTransport;
  private readonly catalog: TopicCatalog;
  private readonly serde: Serde;

  constructor(producer: ProducerTransport, catalog: TopicCatalog, serde: Serde) {
    this.producer = producer;
    this.catalog = catalog;
    this.serde = serde;
  }

  /** Encodes and sends values of one declared topic; resolves once the broker acknowledged them (acks=all). */
  async send<K extends TopicKey>(key: K, records: TypedRecord<K>[]): Promise<ProduceResult[]> {
    const encoded = records.map((r) => ({ ...r, value: this.serde.encode(key, r.value) }));
    return this.sendRaw(this.catalog.name(key), encoded);
  }

  /** Writes a tombstone (null value) for a key of a compacted topic. */
  async tombstone(key: TopicKey, recordKey: string): Promise<ProduceResult[]> {
    return this.sendRaw(this.catalog.name(key), [{ key: recordKey, value: null }]);
  }

  async sendRaw(topic: string, records: OutgoingRecord[]): Promise<ProduceResult[]> {
    return this.producer.send([{ topic, records }]);
  }

  /** Several topics in one request: the cheapest way to write a batch that fans out. */
  async sendMany(batches: { topic: string; records: OutgoingRecord[] }[]): Promise<ProduceResult[]> {
    if (!batches.length) return [];
    return this.producer.send(batches);
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
  }
}

export function kafkajsTransport(producer: Producer): ProducerTransport {
  return {
    async send(batches) {
      const meta = await producer.sendBatch({
        acks: -1,
        topicMessages: batches.map((b) => ({ topic: b.topic, messages: b.records.map(toMessage) })),
      });
      return meta.map((m) => ({
        topic: m.topicName,
        partition: m.partition,
        baseOffset: m.baseOffset ?? m.offset ?? '-1',
      }));
    },
    disconnect: () => producer.disconnect(),
  };
}

function toMessage(r: OutgoingRecord) {
  return {
    key: r.key ?? null,
    value: r.value,
    headers: r.headers,
    partition: r.partition,
    timestamp: r.timestamp === undefined ? undefined : String(r.timestamp),
  };
}
