import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { ConsumedRecord, KafkaConnection } from '../kafka/index.ts';
import { replayWindow } from '../kafka/index.ts';
import { progress } from '../progress/index.ts';

export interface ReplayCommand {
  topic: string;
  from?: number;
  to?: number;
  out?: string;
  toTopic?: string;
}

/** `automatrix replay`: a topic's time window to a JSON-lines file or to another topic. */
export async function runReplay(kafka: KafkaConnection, cmd: ReplayCommand): Promise<{ records: number }> {
  const declared = kafka.catalog.keys().find((k) => k === cmd.topic);
  const topic = declared ? kafka.catalog.name(declared) : cmd.topic;
  const key = kafka.catalog.keyOf(topic);
  const bar = progress(`replaying ${topic}`, 'records');
  const file = cmd.out ? createWriteStream(cmd.out) : undefined;
  const producer = cmd.toTopic ? await kafka.producer() : undefined;

  const toLine = async (r: ConsumedRecord): Promise<string> => {
    let value: unknown = r.value ? r.value.toString('base64') : null;
    let encoding = 'base64';
    if (key && r.value) {
      try {
        value = (await kafka.serde.decode(key, r.value)).value;
        encoding = 'decoded';
      } catch {
        /* keep the raw bytes */
      }
    }
    return JSON.stringify(
      {
        topic: r.topic,
        partition: r.partition,
        offset: r.offset,
        timestamp: r.timestamp,
        key: r.key?.toString('utf8') ?? null,
        headers: r.headers,
        encoding,
        value,
      },
      (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : v),
    );
  };

  const result = await replayWindow(kafka, {
    topic,
    from: cmd.from,
    to: cmd.to,
    onProgress: ({ read, total }) => bar.update(read, total),
    onRecords: async (records) => {
      if (file) {
        const lines = await Promise.all(records.map(toLine));
        if (!file.write(`${lines.join('\n')}\n`)) await once(file, 'drain');
      }
      if (producer && cmd.toTopic) {
        await producer.sendRaw(
          cmd.toTopic,
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
    `replayed ${result.records} records from ${topic}${cmd.out ? ` to ${cmd.out}` : ''}${cmd.toTopic ? ` to topic ${cmd.toTopic}` : ''}`,
  );
  return { records: result.records };
}
