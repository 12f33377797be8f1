/** Everything that talks to Kafka and the schema registry. No kafkajs import outside this folder. */

export {
  type ClusterInfo,
  type GroupInfo,
  KafkaAdmin,
  type PartitionLag,
  type TopicDrift,
  type TopicReport,
} from './admin.ts';
export { TopicCatalog } from './catalog.ts';
export { type ConnectionOptions, KafkaConnection, probeBroker } from './client.ts';
export {
  type Assignment,
  type BatchConsumer,
  type BatchHandler,
  type ConsumedBatch,
  type ConsumerOptions,
  KafkajsBatchConsumer,
  type RunOptions,
} from './consumer.ts';
export { deadLetterOf } from './dead-letter.ts';
export {
  DecodeError,
  type DecodeReason,
  EncodeError,
  RegistryUnavailableError,
  SchemaRegistrationError,
} from './errors.ts';
export { isPrivateGroup } from './groups.ts';
export { murmur2, partitionForKey } from './partitioner.ts';
export { PartitionBatcher } from './platformatic/batcher.ts';
// How records map onto @platformatic/kafka's types (KAFKA_CLIENT=platformatic; bench:kafka-clients drives it too).
export {
  deserializers as platformaticDeserializers,
  headersToRecord as platformaticHeaders,
} from './platformatic/codec.ts';
export { platformaticProducer } from './platformatic/producer.ts';
export { type ProducerTransport, TypedProducer, type TypedRecord } from './producer.ts';
export { type ReaderOptions, TopicReader } from './reader.ts';
export { type ReplayOptions, type ReplayResult, replayWindow } from './replay.ts';
export { type Decoded, Serde, type TopicInput } from './serde.ts';
export { TopicSink } from './sink.ts';
export type {
  ConsumedRecord,
  OutgoingRecord,
  PartitionRange,
  ProduceResult,
  RecordKey,
  TopicPartitionOffset,
} from './types.ts';
