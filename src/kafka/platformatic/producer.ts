/** A ProducerTransport on @platformatic/kafka (KAFKA_CLIENT=platformatic; a prototype, see docs/kafka-clients.md). */
import { ProduceAcks, Producer } from '@platformatic/kafka';
import type { ProducerTransport } from '../producer.ts';
import type { OutgoingRecord } from '../types.ts';
import { type Bytes, javaCompatiblePartitioner, serializers } from './codec.ts';

export interface PlatformaticBase {
  clientId: string;
  bootstrapBrokers: string[];
  connectTimeout: number;
  requestTimeout: number;
  retries: number;
  retryDelay: number;
}

/** The producer every platformatic path uses: acks=all, Kafka's Java partitioner, no topic auto-creation. */
export function platformaticProducer(
  base: Partial<PlatformaticBase> & Pick<PlatformaticBase, 'clientId' | 'bootstrapBrokers'>,
) {
  return new Producer<Bytes, Bytes, string, string>({
    ...base,
    acks: ProduceAcks.ALL,
    serializers,
    partitioner: javaCompatiblePartitioner(),
    autocreateTopics: false,
  });
}

export function platformaticTransport(base: PlatformaticBase): ProducerTransport {
  const producer = platformaticProducer(base);
  return {
    async send(batches) {
      const messages = [];
      for (const b of batches) for (const r of b.records) messages.push(toMessage(b.topic, r));
      if (!messages.length) return [];
      const result = await producer.send({ messages });
      return (result.offsets ?? []).map((o) => ({
        topic: o.topic,
        partition: o.partition,
        baseOffset: o.offset.toString(),
      }));
    },
    disconnect: () => producer.close(),
  };
}

function toMessage(topic: string, r: OutgoingRecord) {
  return {
    topic,
    key: r.key ?? null,
    value: r.value,
    headers: r.headers,
    partition: r.partition,
    timestamp: r.timestamp === undefined ? undefined : BigInt(r.timestamp),
  };
}
