import { randomUUID } from 'node:crypto';
import type { EcosystemEventInput } from '../../schemas/types.js';
import type { KafkaConnection } from '../kafka/index.js';
import type { Logger } from '../log/index.js';

export type EcosystemEventSpec = Omit<EcosystemEventInput, 'id' | 'at'> & { at?: number };

/** Publishes to the ecosystem feed topic. Never throws: the feed must not break the work it reports on. */
export class EcosystemEvents {
  constructor(
    private readonly kafka: KafkaConnection,
    private readonly log: Logger,
  ) {}

  async publish(event: EcosystemEventSpec): Promise<void> {
    try {
      const producer = await this.kafka.producer();
      await producer.send('ecosystem.events', [
        { key: event.component, value: { id: randomUUID(), at: Date.now(), ...event } },
      ]);
    } catch (err) {
      this.log.warn({ err, event: event.kind }, 'could not publish ecosystem event');
    }
  }
}
