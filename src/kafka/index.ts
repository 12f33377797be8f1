/** Everything that talks to Kafka and the schema registry. No kafkajs import outside this folder. */
export { KafkaConnection, probeBroker, type ConnectionOptions } from './client.js';
export { TopicCatalog } from './catalog.js';
export { Serde, type Decoded, type TopicInput } from './serde.js';
export { TypedProducer, type ProducerTransport, type TypedRecord } from './producer.js';
export { KafkajsBatchConsumer, type BatchConsumer, type Assignment, type BatchHandler, type ConsumedBatch, type ConsumerOptions } from './consumer.js';
export { KafkaAdmin, type ClusterInfo, type PartitionLag, type TopicDrift, type TopicReport } from './admin.js';
export { murmur2, partitionForKey } from './partitioner.js';
export { TopicReader, type ReaderOptions } from './reader.js';
export { replayWindow, type ReplayOptions, type ReplayResult } from './replay.js';
export { DecodeError, EncodeError, RegistryUnavailableError, SchemaRegistrationError, type DecodeReason } from './errors.js';
export type { ConsumedRecord, OutgoingRecord, PartitionRange, ProduceResult, RecordKey, TopicPartitionOffset } from './types.js';
