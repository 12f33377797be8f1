/**
 * Waits for the fate of a message, whichever RelayCore instance delivers it: reads the outcomes
 * and dead-letter topics from the moment it starts, and decodes only records whose
 * `message-id` header someone waits for.
 */
import type { DeadLetter, DeliveryOutcome } from '../../schemas/types.ts';
import type { BatchConsumer, KafkaConnection } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';

export type Fate =
  | { status: 'DELIVERED'; outcome: DeliveryOutcome }
  | { status: 'DEAD_LETTERED'; deadLetter: Omit<DeadLetter, 'key' | 'value'> };

export class OutcomeWatcher {
  private readonly waiters = new Map<string, ((fate: Fate) => void)[]>();
  private consumer?: BatchConsumer;

  private readonly kafka: KafkaConnection;
  private readonly log: Logger;

  constructor(kafka: KafkaConnection, log: Logger) {
    this.kafka = kafka;
    this.log = log;
  }

  async start(): Promise<void> {
    const outcomes = this.kafka.catalog.name('delivery.outcomes');
    const deadletter = this.kafka.catalog.name('deadletter');
    const admin = await this.kafka.admin();
    const starts = await Promise.all(
      [outcomes, deadletter].map(async (t) => ({ topic: t, offsets: await admin.offsets(t) })),
    );
    this.consumer = this.kafka.privateConsumer('relay-watch', { maxWaitTimeMs: 50 });
    await this.consumer.subscribe([outcomes, deadletter]);
    await this.consumer.run(
      async (batch) => {
        if (!this.waiters.size) return;
        for (const r of batch.records) {
          const id = r.headers['message-id'];
          if (!id || !this.waiters.has(id)) continue;
          try {
            if (batch.topic === outcomes) {
              const { value } = await this.kafka.serde.decode('delivery.outcomes', r.value);
              if ((value as DeliveryOutcome).status === 'DELIVERED')
                this.settle(id, { status: 'DELIVERED', outcome: value as DeliveryOutcome });
            } else {
              const { value } = await this.kafka.serde.decode('deadletter', r.value);
              const { key: _k, value: _v, ...deadLetter } = value as DeadLetter;
              this.settle(id, { status: 'DEAD_LETTERED', deadLetter });
            }
          } catch (err) {
            this.log.warn({ err: (err as Error).message }, 'could not decode a watched outcome');
          }
        }
      },
      { partitionsConcurrently: 3 },
    );
    // Start at the end as it was before subscribing: nothing written after this point is missed.
    for (const { topic, offsets } of starts) for (const o of offsets) this.consumer.seek(topic, o.partition, o.high);
  }

  private settle(id: string, fate: Fate): void {
    const list = this.waiters.get(id);
    this.waiters.delete(id);
    list?.forEach((resolve) => {
      resolve(fate);
    });
  }

  /** Resolves with the message's fate, or undefined after `timeoutMs`. Register before producing the message. */
  wait(messageId: string, timeoutMs: number): { fate: Promise<Fate | undefined>; cancel: () => void } {
    let resolveFn!: (f: Fate | undefined) => void;
    const fate = new Promise<Fate | undefined>((r) => (resolveFn = r));
    const list = this.waiters.get(messageId) ?? [];
    const entry = (f: Fate) => {
      clearTimeout(timer);
      resolveFn(f);
    };
    list.push(entry);
    this.waiters.set(messageId, list);
    const cancel = () => {
      clearTimeout(timer);
      const l = this.waiters.get(messageId)?.filter((x) => x !== entry) ?? [];
      if (l.length) this.waiters.set(messageId, l);
      else this.waiters.delete(messageId);
      resolveFn(undefined);
    };
    const timer = setTimeout(cancel, timeoutMs);
    return { fate, cancel };
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
