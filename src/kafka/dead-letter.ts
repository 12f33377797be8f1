import type { DeadLetterInput, DeadLetterReason } from '../../schemas/types.ts';
import type { ConsumedRecord } from './types.ts';

/**
 * The dead-letter record of a consumed record that could not be handled: its bytes, where it came
 * from, and why. `reason` (text, for readers of the schema's first version) and `reasonCode` (the enum)
 * are written from the same value, here only.
 */
export function deadLetterOf(
  record: ConsumedRecord,
  reason: DeadLetterReason,
  error: string,
  about: Pick<DeadLetterInput, 'component'> & Partial<Pick<DeadLetterInput, 'messageId' | 'route' | 'attempts'>>,
): DeadLetterInput {
  return {
    sourceTopic: record.topic,
    sourcePartition: record.partition,
    sourceOffset: Number(record.offset),
    key: record.key,
    value: record.value,
    headers: record.headers,
    reason,
    reasonCode: reason,
    error,
    ...about,
    failedAt: Date.now(),
  };
}
