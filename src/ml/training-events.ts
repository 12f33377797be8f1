/** Training progress on training.events: published without ever slowing or failing the job. */
import type { TrainingEventInput } from '../../schemas/types.ts';
import { type KafkaConnection, TopicSink } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';

export class TrainingEventSink {
  private readonly sink: TopicSink<'training.events'>;

  constructor(kafka: KafkaConnection, log: Logger) {
    this.sink = new TopicSink(kafka, 'training.events', log);
  }

  push(event: TrainingEventInput): void {
    this.sink.push({ key: event.jobId, value: { ...event, metrics: finite(event.metrics ?? {}) } });
  }

  flush(): Promise<void> {
    return this.sink.flush();
  }
}

/** Avro doubles could carry them, but JSON mirrors cannot: non-finite values are left out. */
const finite = (m: Record<string, number>) =>
  Object.fromEntries(Object.entries(m).filter(([, v]) => Number.isFinite(v)));

export const stringMap = (o: object) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)]));
