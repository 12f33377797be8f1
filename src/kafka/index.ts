/** Everything that talks to Kafka and the schema registry. No kafkajs import outside this folder. */

export { type ClusterInfo, KafkaAdmin, type PartitionLag, type TopicDrift, type TopicReport } from './admin.js';
export { TopicCatalog } from './catalog.js';
export { type ConnectionOptions, KafkaConnection, probeBroker } from './client.js';
export {
  type Assignment,
  type BatchConsumer,
  type BatchHandler,
  type ConsumedBatch,
  type ConsumerOptions,
  KafkajsBatchConsumer,
} from './consumer.js';
export {
  DecodeError,
  type DecodeReason,
  EncodeError,
  RegistryUnavailableError,
  SchemaRegistrationError,
} from './errors.js';
export { murmur2, partitionForKey } from './partitioner.js';
export { type ProducerTransport, TypedProducer, type TypedRecord } from './producer.js';
export { type ReaderOptions, TopicReader } from './reader.js';
export { type ReplayOptions, type ReplayResult, replayWindow } from './replay.js';
export { type Decoded, Serde, type TopicInput } from './serde.js';
export type {
  ConsumedRecord,
  OutgoingRecord,
  PartitionRange,
  ProduceResult,
  RecordKey,
  TopicPartitionOffset,
} from './types.js';
