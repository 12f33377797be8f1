import { afterAll, describe, expect, inject, it } from 'vitest';
import { KafkaConnection } from '../../src/kafka/index.ts';
import { deleteTopicsWithPrefix, uniquePrefix } from '../helpers/kafka.ts';
import { relayEnv, type TestEndpoint, testEndpoint, until } from '../helpers/relay.ts';
import { type AppChild, singleEndpointRoutesFile, startAppProcess } from '../helpers/relay-process.ts';

const WINDOW = 64;

interface Status {
  counters: { consumed: number };
}

describe('RelayCore rebalance', () => {
  const children: AppChild[] = [];
  let ep: TestEndpoint | undefined;
  let kafka: KafkaConnection | undefined;
  const prefix = uniquePrefix('rebalance');
  afterAll(async () => {
    for (const c of children) await c.kill();
    await ep?.close();
    if (kafka) {
      await deleteTopicsWithPrefix(kafka, prefix);
      await kafka.close();
    }
  });

  it("a killed member's partitions go to the survivor, which delivers every message", async () => {
    ep = await testEndpoint(() => ({ status: 200, delayMs: 20 }));
    const routesFile = singleEndpointRoutesFile('round-robin', ep.url);
    // One group for both processes (the same topic prefix, so the same default RELAY_GROUP_ID).
    const env = relayEnv(prefix, {
      ROUTES_FILE: routesFile,
      RELAY_MAX_INFLIGHT: '4',
      RELAY_MAX_UNCOMMITTED: String(WINDOW),
    });
    children.push(await startAppProcess(env), await startAppProcess(env));
    const [a, b] = children as [AppChild, AppChild];
    const consumed = async (c: AppChild) =>
      ((await (await fetch(`${c.base}/api/v2/relaycore/status`)).json()) as Status).counters.consumed;

    const { brokers, registryUrl } = inject('kafka');
    kafka = new KafkaConnection({ brokers, registryUrl, topicPrefix: prefix });
    await kafka.serde.registerAll(['messages.normal']);
    const producer = await kafka.producer();
    const topic = kafka.catalog.name('messages.normal');
    const total = 4000;
    const ids = Array.from({ length: total }, (_, i) => `m-${i}`);
    // Keys spread over every partition, so both members have work.
    await producer.send(
      'messages.normal',
      ids.map((id, i) => ({ key: `k${i % 60}`, value: { id, payload: JSON.stringify({ id }) } })),
    );

    // Both members take part before one dies.
    await until(async () => (await consumed(a)) > 0 && (await consumed(b)) > 0, 'both members to consume');
    const admin = await kafka.admin();
    const group = `${prefix}relay.normal`;
    const committed = async () => new Map((await admin.lag(group, [topic])).map((p) => [p.partition, p]));
    await b.kill('SIGKILL');
    const atKill = await committed();
    const deliveredAtKill = new Set(ep.delivered()).size;
    expect(deliveredAtKill).toBeLessThan(total);

    await until(() => new Set(ep!.delivered()).size >= total, 'every message after the takeover', 150_000);
    const delivered = ep.delivered();
    const unique = new Set(delivered);
    expect(ids.filter((id) => !unique.has(id))).toEqual([]);
    expect(delivered.length - unique.size).toBeLessThanOrEqual(WINDOW);

    // The survivor holds every partition now: all of them are committed to the end by the one live member.
    await until(
      async () => [...(await committed()).values()].every((p) => p.lag === 0),
      'every partition committed to its end',
    );
    const after = await committed();
    const stalled = [...atKill.values()].filter((p) => p.lag > 0).map((p) => p.partition);
    for (const p of stalled) expect(after.get(p)!.committed).not.toBe(atKill.get(p)!.committed);
    // Whatever was not delivered when the other member died, the survivor consumed.
    expect(await consumed(a)).toBeGreaterThanOrEqual(total - deliveredAtKill);
    console.log(
      `rebalance: ${deliveredAtKill} delivered before the kill, ${delivered.length - unique.size} twice (bound ${WINDOW}); partitions with work left at the kill: ${stalled.join(',')}`,
    );
  }, 300_000);
});
