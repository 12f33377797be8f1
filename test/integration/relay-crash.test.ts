/**
 * Issue 3 and 7, crash: a RelayCore process killed with SIGKILL mid-stream and restarted delivers
 * every message (or dead-letters it), and delivers again at most RELAY_MAX_UNCOMMITTED of them:
 * the successor starts at the committed offsets, and no more than that many messages are ever
 * started and not yet committed.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { DeadLetter } from '../../schemas/types.ts';
import { KafkaConnection } from '../../src/kafka/index.ts';
import { deleteTopicsWithPrefix, uniquePrefix } from '../helpers/kafka.ts';
import { follow, relayEnv, type TestEndpoint, testEndpoint, until } from '../helpers/relay.ts';
import { type AppChild, singleEndpointRoutesFile, startAppProcess } from '../helpers/relay-process.ts';

const WINDOW = 64;

describe('RelayCore killed mid-stream', () => {
  const children: AppChild[] = [];
  let ep: TestEndpoint | undefined;
  let kafka: KafkaConnection | undefined;
  const prefix = uniquePrefix('crash');
  afterAll(async () => {
    for (const c of children) await c.kill();
    await ep?.close();
    if (kafka) {
      await deleteTopicsWithPrefix(kafka, prefix);
      await kafka.close();
    }
  });

  it('delivers or dead-letters every message after a SIGKILL and a restart, and repeats at most the uncommitted window', async () => {
    ep = await testEndpoint(() => ({ status: 200, delayMs: 20 }));
    const routesFile = singleEndpointRoutesFile('p2c-peak-ewma', ep.url);
    const env = relayEnv(prefix, {
      ROUTES_FILE: routesFile,
      RELAY_MAX_INFLIGHT: '16',
      RELAY_MAX_UNCOMMITTED: String(WINDOW),
      RELAY_DEFAULT_ROUTES: 'default',
    });
    children.push(await startAppProcess(env));

    const { brokers, registryUrl } = inject('kafka');
    kafka = new KafkaConnection({ brokers, registryUrl, topicPrefix: prefix });
    await kafka.serde.registerAll(['messages.normal', 'deadletter']);
    const producer = await kafka.producer();
    const total = 3000;
    const ids = Array.from({ length: total }, (_, i) => `m-${i}`);
    for (let i = 0; i < total; i += 500) {
      await producer.send(
        'messages.normal',
        ids
          .slice(i, i + 500)
          .map((id, j) => ({ key: `k${(i + j) % 20}`, value: { id, payload: JSON.stringify({ id }) } })),
      );
      // Garbage among the messages: dead-lettered, and counted as handled in the committed prefix.
      await producer.sendRaw(kafka.catalog.name('messages.normal'), [
        { key: `k${i % 20}`, value: Buffer.from(`garbage-${i}`) },
      ]);
    }
    await until(() => ep!.hits.length >= 600, 'the first process to deliver a part');
    await children[0]!.kill('SIGKILL');
    const beforeRestart = new Set(ep.delivered()).size;
    expect(beforeRestart).toBeLessThan(total);

    children.push(await startAppProcess(env));
    await until(() => new Set(ep!.delivered()).size >= total, 'every message after the restart', 150_000);
    const dead = await follow(kafka, 'deadletter');
    await until(
      () => new Set(dead.records.map((r) => r.offset)).size >= total / 500,
      'the garbage in the dead-letter topic',
    );
    await dead.stop();

    const delivered = ep.delivered();
    const unique = new Set(delivered);
    expect(ids.filter((id) => !unique.has(id))).toEqual([]);
    const duplicates = delivered.length - unique.size;
    expect(duplicates).toBeLessThanOrEqual(WINDOW);
    const letters = await Promise.all(
      dead.records.map(async (r) => (await kafka!.serde.decode('deadletter', r.value)).value as DeadLetter),
    );
    const garbage = new Set(letters.filter((l) => l.reason === 'decode_error').map((l) => l.value?.toString()));
    expect([...garbage].sort()).toEqual(Array.from({ length: total / 500 }, (_, k) => `garbage-${k * 500}`).sort());
    console.log(
      `delivered ${total} messages: ${beforeRestart} before the kill, ${duplicates} delivered twice (bound ${WINDOW})`,
    );
  }, 300_000);
});
