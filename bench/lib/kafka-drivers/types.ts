/**
 * Thin, client-specific drivers for `npm run bench:kafka-clients`: each does the same three things
 * (produce with acks=all, consume in a group with a manual commit after each batch, and both at once)
 * with one Kafka client, used the way that client is meant to be used. Benchmark code, not the app's:
 * kafkajs is driven through src/kafka (the only place that calls it), the other clients directly.
 */

export interface BenchRecord {
  key: Buffer | string | null;
  value: Buffer;
  headers: Record<string, string>;
}

export interface ReceivedRecord {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

export interface DriverProducer {
  /** Resolves once the broker acknowledged every record (acks=all). */
  send(topic: string, records: BenchRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface DriverConsumeOptions {
  topic: string;
  groupId: string;
  /** Called with each fetched batch of one partition; the batch's end is committed after it returns. */
  onBatch: (partition: number, records: ReceivedRecord[]) => Promise<void>;
}

export interface DriverConsumer {
  /** Stops after the batches in progress are handled and committed, and leaves the group. */
  stop(): Promise<void>;
}

export interface ClientDriver {
  readonly name: string;
  /** Version of the client package (and of librdkafka, for the native one). */
  readonly version: string;
  producer(): Promise<DriverProducer>;
  /** Joins the group and starts at its committed offsets, or at the earliest offset where it has none. */
  consume(opts: DriverConsumeOptions): Promise<DriverConsumer>;
  close(): Promise<void>;
}
