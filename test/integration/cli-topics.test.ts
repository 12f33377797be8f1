/** Issue 16, item 4: `automatrix topics list|delete --prefix P` cleans up a deployment, confirmed, never outside P. */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { prepareKafka } from '../../src/app/index.ts';
import { KafkaConnection } from '../../src/kafka/index.ts';
import { logger } from '../../src/log/index.ts';
import { deleteTopicsWithPrefix, uniquePrefix } from '../helpers/kafka.ts';
import { collect, type Finished, runCli } from '../helpers/process.ts';
import { until } from '../helpers/relay.ts';

describe('automatrix topics list|delete --prefix', () => {
  const { brokers, registryUrl } = inject('kafka');
  const env = { KAFKA_BROKERS: brokers.join(','), SCHEMA_REGISTRY_URL: registryUrl, LOG_LEVEL: 'warn' };
  const prefix = uniquePrefix('cleanup');
  // Starts like the prefix but is not under it: must survive.
  const neighbour = `${prefix.slice(0, -1)}-keep.`;
  let kafka: KafkaConnection;
  let keep: KafkaConnection;

  /** The CLI on a terminal (script(1) gives it one), answering the confirmation with `answer`. */
  const onTerminal = (args: string[], answer: string): Promise<Finished> => {
    const command = ['node', 'bin/automatrix.js', ...args].join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let asked = false;
    child.stdout!.on('data', (d: Buffer) => {
      if (!asked && d.toString().includes('[y/N]')) {
        asked = true;
        child.stdin!.write(`${answer}\n`);
      }
    });
    return collect(child, 120_000);
  };
  const topicsOf = async (p: string) => (await (await kafka.admin()).listTopics()).filter((t) => t.startsWith(p));

  beforeAll(async () => {
    kafka = new KafkaConnection({ brokers, registryUrl, topicPrefix: prefix, log: logger('test') });
    keep = new KafkaConnection({ brokers, registryUrl, topicPrefix: neighbour, log: logger('test') });
    // What a start leaves: every declared topic, its schema subjects, and a consumer group with offsets.
    await prepareKafka(kafka, logger('test'));
    await (await keep.admin()).ensureTopics(['relay.routes']);
    const producer = await kafka.producer();
    await producer.sendRaw(kafka.catalog.name('relay.routes'), [{ key: 'a', value: 'x' }]);
    const consumer = kafka.consumer({ groupId: kafka.groupId('relay.normal') });
    await consumer.subscribe([kafka.catalog.name('relay.routes')], { fromBeginning: true });
    let read = false;
    await consumer.run(async () => {
      read = true;
    });
    await until(() => read, 'the group to commit');
    await consumer.disconnect();
  });
  afterAll(async () => {
    await deleteTopicsWithPrefix(kafka, prefix);
    await deleteTopicsWithPrefix(keep, neighbour);
    await kafka.close();
    await keep.close();
  });

  it('lists the topics, groups and subjects under the prefix', async () => {
    const r = await runCli(['topics', 'list', '--prefix', prefix], env);
    expect(r.code).toBe(0);
    for (const key of kafka.catalog.keys()) expect(r.stdout).toContain(kafka.catalog.name(key));
    expect(r.stdout).toContain(`${prefix}relay.normal`);
    for (const key of kafka.catalog.keys()) expect(r.stdout).toContain(kafka.catalog.subject(key));
    expect(r.stdout).toContain(`under "${prefix}": ${kafka.catalog.keys().length} topics, 1 consumer groups`);
    expect(r.stdout).not.toContain(neighbour);
  });

  it('refuses without a confirmation, an empty prefix, or while a group has members', async () => {
    const piped = await runCli(['topics', 'delete', '--prefix', prefix], env);
    expect(piped.code).toBe(2);
    expect(piped.stderr.trim().split('\n').at(-1)).toBe(
      'automatrix: not deleting without a confirmation: run it in a terminal, or pass --yes',
    );
    const empty = await runCli(['topics', 'delete', '--prefix', '', '--yes'], env);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('--prefix must not be empty');

    const live = kafka.privateConsumer('watch', { maxWaitTimeMs: 50 });
    await live.subscribe([kafka.catalog.name('relay.routes')], { fromBeginning: true });
    let joined = false;
    await live.run(async () => {
      joined = true;
    });
    await until(() => joined, 'a live member');
    const refused = await runCli(['topics', 'delete', '--prefix', prefix, '--yes'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('have live members');
    await live.disconnect();

    const declined = await onTerminal(['topics', 'delete', '--prefix', prefix], 'n');
    expect(declined.stdout).toContain('nothing deleted');
    expect(await topicsOf(prefix)).toHaveLength(kafka.catalog.keys().length);
  });

  it('deletes everything under the prefix once confirmed, and nothing else', async () => {
    const r = await onTerminal(['topics', 'delete', '--prefix', prefix], 'y');
    expect(r.code).toBe(0);
    const n = kafka.catalog.keys().length;
    expect(r.stdout).toContain(`deleted ${n} topics, 1 consumer groups and ${n} schema subjects under "${prefix}"`);
    await until(async () => (await topicsOf(prefix)).length === 0, 'the topics to go');
    const admin = await kafka.admin();
    expect(await admin.groups(prefix)).toEqual([]);
    for (const key of kafka.catalog.keys())
      expect(await kafka.serde.hasSubject(kafka.catalog.subject(key))).toBe(false);
    expect(await topicsOf(neighbour)).toEqual([keep.catalog.name('relay.routes')]);

    const again = await runCli(['topics', 'delete', '--prefix', prefix, '--yes'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`nothing under "${prefix}"`);
  });
});
