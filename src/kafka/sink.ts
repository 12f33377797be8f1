/**
 * A fire-and-forget publisher for one declared topic: records are buffered and written in batches
 * in the background, and a failed write is logged, never thrown, so the work that emits them (a
 * training job, an executor's answer) never slows down or fails because of it. For records that
 * must not be lost, use TypedProducer.send and handle its error.
 */
import type { TopicKey } from '../../topics/index.ts';
import type { Logger } from '../log/index.ts';
import type { KafkaConnection } from './client.ts';
import type { TypedRecord } from './producer.ts';

export class TopicSink<K extends TopicKey> {
  private buffer: TypedRecord<K>[] = [];
  private draining?: Promise<void>;

  private readonly kafka: KafkaConnection;
  private readonly topic: K;
  private readonly log: Logger;

  constructor(kafka: KafkaConnection, topic: K, log: Logger) {
    this.kafka = kafka;
    this.topic = topic;
    this.log = log;
  }

  push(record: TypedRecord<K>): void {
    this.buffer.push(record);
    this.draining ??= this.drain();
  }

  /** Resolves once everything pushed so far is written (or given up on). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      while (this.buffer.length) {
        const batch = this.buffer.splice(0, 500);
        try {
          await (await this.kafka.producer()).send(this.topic, batch);
        } catch (err) {
          this.log.warn(
            { err: (err as Error).message, dropped: batch.length, topic: this.topic },
            'records not published',
          );
        }
      }
    } finally {
      this.draining = undefined;
    }
  }
}
