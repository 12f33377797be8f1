/** Publishes training progress to the training-events topic without ever slowing or failing the job. */
import type { TrainingEventInput } from '../../schemas/types.ts';
import type { KafkaConnection } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';

export class TrainingEventSink {
  private buffer: TrainingEventInput[] = [];
  private draining?: Promise<void>;

  private readonly kafka: KafkaConnection;
  private readonly log: Logger;

  constructor(kafka: KafkaConnection, log: Logger) {
    this.kafka = kafka;
    this.log = log;
  }

  push(event: TrainingEventInput): void {
    this.buffer.push({ ...event, metrics: finite(event.metrics ?? {}) });
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
          const producer = await this.kafka.producer();
          await producer.send(
            'training.events',
            batch.map((e) => ({ key: e.jobId, value: e })),
          );
        } catch (err) {
          this.log.warn({ err: (err as Error).message, dropped: batch.length }, 'training events not published');
        }
      }
    } finally {
      this.draining = undefined;
    }
  }
}

/** Avro doubles could carry them, but JSON mirrors cannot: non-finite values are left out. */
const finite = (m: Record<string, number>) =>
  Object.fromEntries(Object.entries(m).filter(([, v]) => Number.isFinite(v)));

export const stringMap = (o: object) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)]));
