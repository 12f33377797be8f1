/** The Kafka layer's environment variables, spread into ENV (src/config/index.ts). */
import { oneOf } from '../config/vars.ts';

export const KAFKA_CLIENTS = ['kafkajs', 'platformatic'] as const;
export type KafkaClientName = (typeof KAFKA_CLIENTS)[number];

export const KAFKA_ENV = {
  KAFKA_CLIENT: oneOf('KAFKA_CLIENT', KAFKA_CLIENTS, {
    description:
      'Client under the producers and batch consumers: `kafkajs`, or `platformatic` (@platformatic/kafka; experimental). Admin, topic readers and probes stay on kafkajs either way. See docs/kafka-clients.md.',
    default: 'kafkajs',
  }),
};
