/** Our own record types, so no kafkajs type leaks past src/kafka/. */

export type RecordKey = string | Buffer | null;

export interface OutgoingRecord {
  key?: RecordKey;
  value: Buffer | string | null;
  headers?: Record<string, string>;
  partition?: number;
  /** Epoch milliseconds; the broker's time when absent. */
  timestamp?: number;
}

export interface ProduceResult {
  topic: string;
  partition: number;
  /** Offset of the first record written to this partition by the call. */
  baseOffset: string;
}

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  /** Epoch milliseconds (the record's timestamp). */
  timestamp: number;
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  /** For commits: the next offset to read. */
  offset: string;
}

export interface PartitionRange {
  partition: number;
  /** First offset still in the log. */
  low: string;
  /** Offset the next record will get (the high watermark). */
  high: string;
}
