import { randomUUID } from 'node:crypto';
import type { EcosystemEventInput, EcosystemEventKind } from '../../schemas/types.ts';
import type { KafkaConnection } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';

export type EcosystemEventSpec = Omit<EcosystemEventInput, 'id' | 'at' | 'kind' | 'kindCode'> & {
  kind: EcosystemEventKind;
  at?: number;
};

/** The record of an event: `kind` (text, for readers of the schema's first version) and `kindCode` (the enum) written from one value, here only. */
export function ecosystemEvent(event: EcosystemEventSpec): EcosystemEventInput {
  return { id: randomUUID(), at: Date.now(), ...event, kindCode: event.kind };
}

/** Publishes to the ecosystem feed topic. Never throws: the feed must not break the work it reports on. */
export class EcosystemEvents {
  private readonly kafka: KafkaConnection;
  private readonly log: Logger;

  constructor(kafka: KafkaConnection, log: Logger) {
    this.kafka = kafka;
    this.log = log;
  }

  async publish(event: EcosystemEventSpec): Promise<void> {
    try {
      const producer = await this.kafka.producer();
      await producer.send('ecosystem.events', [{ key: event.component, value: ecosystemEvent(event) }]);
    } catch (err) {
      this.log.warn({ err, event: event.kind }, 'could not publish ecosystem event');
    }
  }
}
