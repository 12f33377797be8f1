export type { BenchRecord, ClientDriver, DriverConsumer, DriverProducer, ReceivedRecord } from './types.ts';

import { confluentDriver } from './confluent.ts';
import { kafkajsDriver } from './kafkajs.ts';
import { platformaticDriver } from './platformatic.ts';
import type { ClientDriver } from './types.ts';

/** The clients to compare that load here (kafkajs first: it is the baseline), and those that do not, with why. */
export async function loadDrivers(
  brokers: string[],
): Promise<{ drivers: ClientDriver[]; unavailable: Record<string, string> }> {
  const drivers = [kafkajsDriver(brokers), platformaticDriver(brokers)];
  const unavailable: Record<string, string> = {};
  const confluent = await confluentDriver(brokers);
  if ('unavailable' in confluent) unavailable.confluent = confluent.unavailable;
  else drivers.push(confluent);
  return { drivers, unavailable };
}
