import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { CommanderError } from 'commander';
import type { KafkaConnection } from '../kafka/index.ts';
import { replayWindow } from '../kafka/index.ts';
import { progress } from '../progress/index.ts';
import { lineText, recordLine, topicName } from './records.ts';

export interface ReplayCommand {
  topic: string;
  from?: number;
  to?: number;
  out?: string;
  toTopic?: string;
  /** Partitions of `toTopic` if it has to be created (default: as many as the source). */
  partitions?: number;
}

const fail = (message: string) => new CommanderError(1, 'automatrix.replay', message);

/**
 * The topic to replay into: it exists, or it is created with `partitions` (the source's count by
 * default). The broker does not create topics on demand, so producing to a missing one would only
 * retry until it gave up.
 */
async function prepareTarget(
  kafka: KafkaConnection,
  source: string,
  target: string,
  partitions: number | undefined,
): Promise<void> {
  const admin = await kafka.admin();
  const existing = await admin.listTopics();
  if (!existing.includes(source)) throw fail(`topic ${source} does not exist`);
  if (existing.includes(target)) {
    const count = await admin.partitionCount(target);
    if (partitions !== undefined && partitions !== count)
      throw fail(
        `--partitions ${partitions}: topic ${target} exists with ${count} partitions (Kafka cannot shrink a topic; drop --partitions to replay into it as it is)`,
      );
    return;
  }
  const count = partitions ?? (await admin.partitionCount(source));
  try {
    await admin.createTopic(target, count);
  } catch (err) {
    throw fail(`could not create topic ${target}: ${(err as Error).message}`);
  }
  process.stderr.write(
    `created topic ${target} with ${count} partitions${partitions === undefined ? ` (as many as ${source})` : ''}\n`,
  );
}

/** `automatrix replay`: a topic's time window to a JSON-lines file or to another topic. */
export async function runReplay(kafka: KafkaConnection, cmd: ReplayCommand): Promise<{ records: number }> {
  const topic = topicName(kafka, cmd.topic);
  const target = cmd.toTopic ? topicName(kafka, cmd.toTopic) : undefined;
  if (target === topic) throw fail('--to-topic is the topic being replayed');
  if (target) await prepareTarget(kafka, topic, target, cmd.partitions);
  const bar = progress(`replaying ${topic}`, 'records');
  const file = cmd.out ? createWriteStream(cmd.out) : undefined;
  const producer = target ? await kafka.producer() : undefined;

  const result = await replayWindow(kafka, {
    topic,
    from: cmd.from,
    to: cmd.to,
    onProgress: ({ read, total }) => bar.update(read, total),
    onRecords: async (records) => {
      if (file) {
        const lines = await Promise.all(records.map(async (r) => lineText(await recordLine(kafka, r))));
        if (!file.write(`${lines.join('\n')}\n`)) await once(file, 'drain');
      }
      if (producer && target) {
        await producer.sendRaw(
          target,
          records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp })),
        );
      }
    },
  });
  if (file) {
    file.end();
    await once(file, 'finish');
  }
  bar.stop(
    `replayed ${result.records} records from ${topic}${cmd.out ? ` to ${cmd.out}` : ''}${target ? ` to topic ${target}` : ''}`,
  );
  return { records: result.records };
}
