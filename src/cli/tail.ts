/** `automatrix tail TOPIC`: a topic's records as decoded JSON lines on stdout, live (and from a time in the past). */
import { CommanderError } from 'commander';
import type { ConsumedRecord, KafkaConnection } from '../kafka/index.ts';
import { lineText, recordLine, topicName } from './records.ts';

export interface TailCommand {
  topic: string;
  /** Epoch ms to start at; the end of the topic (only new records) when absent. */
  from?: number;
  /** Stop after this many records. */
  limit?: number;
  /** Keep reading new records (default); false stops at the end the topic had when the command started. */
  follow?: boolean;
  /** Only records with this key. */
  key?: string;
}

/** Prints records until interrupted, `limit` is reached, or (without `follow`) the starting end is reached. */
export async function runTail(
  kafka: KafkaConnection,
  cmd: TailCommand,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  signal?: AbortSignal,
): Promise<{ records: number }> {
  const topic = topicName(kafka, cmd.topic);
  const admin = await kafka.admin();
  if (!(await admin.listTopics()).includes(topic))
    throw new CommanderError(1, 'automatrix.tail', `topic ${topic} does not exist`);
  const ends = await admin.offsets(topic);
  const starts =
    cmd.from === undefined ? ends.map((e) => ({ ...e, offset: e.high })) : await admin.offsetsForTime(topic, cmd.from);
  const stopAt = new Map(ends.map((e) => [e.partition, BigInt(e.high)]));
  const follow = cmd.follow ?? true;
  const pending = new Set(
    starts.filter((s) => BigInt(s.offset) < (stopAt.get(s.partition) ?? 0n)).map((s) => s.partition),
  );
  let printed = 0;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  if (!follow && !pending.size) finish();
  if (cmd.limit === 0) finish();
  signal?.addEventListener('abort', () => finish(), { once: true });

  // One batch at a time per partition: lines keep offset order per partition.
  let chain = Promise.resolve();
  const reader = kafka.reader({
    topic,
    start: new Map(starts.map((s) => [s.partition, s.offset])),
    onBatch: (partition, records) => {
      chain = chain.then(() => print(partition, records));
      return chain;
    },
  });
  const print = async (partition: number, records: ConsumedRecord[]) => {
    for (const r of records) {
      if (cmd.limit !== undefined && printed >= cmd.limit) break;
      if (!follow && BigInt(r.offset) >= (stopAt.get(partition) ?? 0n)) break;
      if (cmd.key === undefined || r.key?.toString('utf8') === cmd.key) {
        write(lineText(await recordLine(kafka, r)));
        printed++;
      }
    }
    const last = records.at(-1);
    if (!follow && last && BigInt(last.offset) + 1n >= (stopAt.get(partition) ?? 0n)) pending.delete(partition);
    if ((cmd.limit !== undefined && printed >= cmd.limit) || (!follow && !pending.size)) finish();
  };
  await reader.start();
  try {
    await done;
  } finally {
    await reader.stop();
  }
  return { records: printed };
}
