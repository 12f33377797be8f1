/**
 * Issue 16, item 1: two deployments (topic prefixes) on one broker, default settings, must not
 * share a consumer group; private groups are deleted when their consumer goes, or by the next start.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { prepareKafka } from '../../src/app/index.ts';
import { privateGroupId } from '../../src/kafka/groups.ts';
import { KafkaConnection } from '../../src/kafka/index.ts';
import { logger } from '../../src/log/index.ts';
import { deleteTopicsWithPrefix, uniquePrefix } from '../helpers/kafka.ts';
import { relayEnv, type TestEndpoint, testEndpoint, until } from '../helpers/relay.ts';
import { type AppChild, singleEndpointRoutesFile, startAppProcess } from '../helpers/relay-process.ts';

const PER_DEPLOYMENT = 24;

describe('consumer groups are scoped by KAFKA_TOPIC_PREFIX', () => {
  const { brokers, registryUrl } = inject('kafka');
  const children: AppChild[] = [];
  const endpoints: TestEndpoint[] = [];
  const kafkas: KafkaConnection[] = [];
  const prefixes = [uniquePrefix('deploy-a'), uniquePrefix('deploy-b')];
  const connect = (prefix: string) => {
    const kafka = new KafkaConnection({ brokers, registryUrl, topicPrefix: prefix, log: logger('test') });
    kafkas.push(kafka);
    return kafka;
  };

  afterAll(async () => {
    for (const c of children) await c.kill('SIGTERM');
    for (const e of endpoints) await e.close();
    for (const [i, k] of kafkas.entries()) {
      if (i < prefixes.length) await deleteTopicsWithPrefix(k, prefixes[i]!);
      await k.close();
    }
  });

  it('two RelayCores with prefixes a. and b. and no RELAY_GROUP_ID each deliver all of their own messages', async () => {
    const admins = prefixes.map((p) => connect(p));
    for (const prefix of prefixes) {
      const ep = await testEndpoint();
      endpoints.push(ep);
      const env = relayEnv(prefix, { ROUTES_FILE: singleEndpointRoutesFile('round-robin', ep.url) });
      expect(env.RELAY_GROUP_ID).toBeUndefined();
      children.push(await startAppProcess(env));
    }
    const ids = prefixes.map((p) => Array.from({ length: PER_DEPLOYMENT }, (_, i) => `${p}m-${i}`));
    for (const [d, kafka] of admins.entries()) {
      await kafka.serde.registerAll(['messages.normal']);
      const producer = await kafka.producer();
      await producer.send(
        'messages.normal',
        ids[d]!.map((id, i) => ({ key: `k${i}`, value: { id, payload: JSON.stringify({ id }) } })),
      );
    }
    for (const [d, ep] of endpoints.entries())
      await until(() => new Set(ep.delivered()).size >= PER_DEPLOYMENT, `deployment ${prefixes[d]} to deliver all`);
    for (const [d, ep] of endpoints.entries()) expect(new Set(ep.delivered())).toEqual(new Set(ids[d]));

    // Each deployment's groups are under its prefix and commit only its own topics.
    const admin = await admins[0]!.admin();
    for (const prefix of prefixes) {
      const groups = (await admin.groups(prefix)).map((g) => g.groupId);
      expect(groups).toEqual(
        expect.arrayContaining([`${prefix}relay.high`, `${prefix}relay.normal`, `${prefix}relay.low`]),
      );
      // A delivery's offset is committed a moment after it completes (completions share a commit).
      await until(
        async () => (await admin.groupTopics(`${prefix}relay.normal`)).length > 0,
        `${prefix}relay.normal to commit`,
      );
      expect(await admin.groupTopics(`${prefix}relay.normal`)).toEqual([`${prefix}messages.normal`]);
    }
    // No group of any name reads one deployment's topics unless it carries that deployment's prefix.
    const everyGroup = await admin.groups();
    for (const g of everyGroup.filter((x) => x.groupId.startsWith('t-'))) {
      const topics = await admin.groupTopics(g.groupId);
      for (const prefix of prefixes)
        if (topics.some((t) => t.startsWith(prefix))) expect(g.groupId.startsWith(prefix)).toBe(true);
    }

    // A graceful stop deletes the private groups (route store, actions, outcome watcher, registry).
    const privateBefore = (await admin.groups(prefixes[0])).filter((g) => g.groupId.includes('.private-'));
    expect(privateBefore.length).toBeGreaterThan(0);
    await children[0]!.kill('SIGTERM');
    await until(
      async () => !(await admin.groups(prefixes[0])).some((g) => g.groupId.includes('.private-')),
      'the stopped process to delete its private groups',
    );
    // The other deployment's groups are untouched.
    expect((await admin.groups(prefixes[1])).some((g) => g.groupId.includes('.private-'))).toBe(true);
  }, 300_000);

  it('a private group a dead process left behind is deleted by the next start; a live one stays', async () => {
    const prefix = uniquePrefix('sweep');
    const kafka = connect(prefix);
    await (await kafka.admin()).ensureTopics(['relay.routes']);
    const topic = kafka.catalog.name('relay.routes');
    const producer = await kafka.producer();
    await producer.sendRaw(topic, [{ key: 'x', value: 'y' }]);

    // A "dead" process: its consumer joins and commits, then its connection goes without deleting the group.
    const orphanId = privateGroupId(prefix, 'relay-routes');
    const orphan = kafka.consumer({ groupId: orphanId, maxWaitTimeMs: 50 });
    await orphan.subscribe([topic], { fromBeginning: true });
    let seen = false;
    await orphan.run(async () => {
      seen = true;
    });
    await until(() => seen, 'the orphan to read');
    // It leaves its group without deleting it (what a SIGKILLed process amounts to once its session expired).
    await orphan.disconnect();
    const live = kafka.privateConsumer('relay-routes', { maxWaitTimeMs: 50 });
    await live.subscribe([topic], { fromBeginning: true });
    let liveSeen = false;
    await live.run(async () => {
      liveSeen = true;
    });
    await until(() => liveSeen, 'the live consumer to read');
    const admin = await kafka.admin();
    expect((await admin.groups(prefix)).map((g) => g.groupId)).toContain(orphanId);

    await prepareKafka(kafka, logger('test'));

    const left = (await admin.groups(prefix)).map((g) => g.groupId);
    expect(left).not.toContain(orphanId);
    expect(left).toContain(live.groupId);
    await live.disconnect();
    expect((await admin.groups(prefix)).map((g) => g.groupId)).not.toContain(live.groupId);
    await deleteTopicsWithPrefix(kafka, prefix);
  }, 120_000);
});
