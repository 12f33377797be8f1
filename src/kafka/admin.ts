// Before kafkajs loads: it must pick up the patched produce path (kafkajs-produce.ts).
import './kafkajs-produce.ts';
import kafkajs, { type Admin } from 'kafkajs';
import { type TopicKey, topicConfigs } from '../../topics/index.ts';
import { AutomatrixError } from '../errors/index.ts';
import type { TopicCatalog } from './catalog.ts';
import { isPrivateGroup } from './groups.ts';
import type { PartitionRange } from './types.ts';

const { ConfigResourceTypes } = kafkajs;

export interface TopicDrift {
  topic: string;
  /** `partitions`, `replicationFactor`, or a topic config name. */
  field: string;
  declared: string;
  actual: string;
}

export interface TopicReport {
  created: string[];
  existing: string[];
  drift: TopicDrift[];
}

export interface PartitionLag {
  topic: string;
  partition: number;
  committed: string | null;
  high: string;
  lag: number;
}

export interface GroupInfo {
  groupId: string;
  /** Stable, Empty, PreparingRebalance, ... as the broker reports it. */
  state: string;
  members: number;
}

export interface ClusterInfo {
  clusterId: string;
  controller: number | null;
  brokers: { nodeId: number; host: string; port: number }[];
}

/** Admin operations; the only place topics are created. */
export class KafkaAdmin {
  private readonly admin: Admin;
  private readonly catalog: TopicCatalog;

  constructor(admin: Admin, catalog: TopicCatalog) {
    this.admin = admin;
    this.catalog = catalog;
  }

  async describeCluster(): Promise<ClusterInfo> {
    return this.admin.describeCluster();
  }

  /**
   * Creates every declared topic that is missing and reports how existing ones differ from
   * their declaration. Never deletes, shrinks or reconfigures: drift is for a person to resolve.
   */
  async ensureTopics(keys: readonly TopicKey[] = this.catalog.keys()): Promise<TopicReport> {
    const existing = new Set(await this.admin.listTopics());
    const missing = keys.filter((k) => !existing.has(this.catalog.name(k)));
    if (missing.length) {
      await this.create({
        topics: missing.map((k) => {
          const decl = this.catalog.declaration(k);
          return {
            topic: this.catalog.name(k),
            numPartitions: decl.partitions,
            replicationFactor: decl.replicationFactor,
            configEntries: Object.entries(topicConfigs(decl)).map(([name, value]) => ({ name, value })),
          };
        }),
      });
    }
    const present = keys.filter((k) => existing.has(this.catalog.name(k)));
    return {
      created: missing.map((k) => this.catalog.name(k)),
      existing: present.map((k) => this.catalog.name(k)),
      drift: present.length ? await this.drift(present) : [],
    };
  }

  private async drift(keys: TopicKey[]): Promise<TopicDrift[]> {
    const names = keys.map((k) => this.catalog.name(k));
    const { topics } = await untilMetadataSettles(() => this.admin.fetchTopicMetadata({ topics: names }));
    const configs = await untilMetadataSettles(() =>
      this.admin.describeConfigs({
        includeSynonyms: false,
        resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
      }),
    );
    const drift: TopicDrift[] = [];
    for (const key of keys) {
      const name = this.catalog.name(key);
      const decl = this.catalog.declaration(key);
      const meta = topics.find((t) => t.name === name);
      const partitions = meta?.partitions.length ?? 0;
      if (partitions !== decl.partitions)
        drift.push({ topic: name, field: 'partitions', declared: String(decl.partitions), actual: String(partitions) });
      const rf = meta?.partitions[0]?.replicas.length ?? 0;
      if (rf !== decl.replicationFactor)
        drift.push({
          topic: name,
          field: 'replicationFactor',
          declared: String(decl.replicationFactor),
          actual: String(rf),
        });
      const entries = configs.resources.find((r) => r.resourceName === name)?.configEntries ?? [];
      for (const [field, declared] of Object.entries(topicConfigs(decl))) {
        const actual = entries.find((e) => e.configName === field)?.configValue ?? '(unset)';
        if (actual !== declared) drift.push({ topic: name, field, declared, actual });
      }
    }
    return drift;
  }

  async listTopics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  /** Creates a topic outside the catalog (Kafka endpoints, tests). Resolves false if it existed. */
  async createTopic(topic: string, partitions = 1, configs: Record<string, string> = {}): Promise<boolean> {
    return this.create({
      topics: [
        {
          topic,
          numPartitions: partitions,
          configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
        },
      ],
    });
  }

  /**
   * Creates topics and waits for their leaders. kafkajs' wait retries only LEADER_NOT_AVAILABLE, but a
   * KRaft broker may first answer the new topic's metadata with UNKNOWN_TOPIC_OR_PARTITION: the topic
   * exists, its metadata has not settled yet, so wait for that instead of failing.
   */
  private async create(opts: { topics: Parameters<Admin['createTopics']>[0]['topics'] }): Promise<boolean> {
    try {
      return await this.admin.createTopics({ waitForLeaders: true, ...opts });
    } catch (err) {
      if (!SETTLING.test(`${(err as Error).message} ${(err as { type?: string }).type ?? ''}`))
        throw creationError(err);
      await untilMetadataSettles(() => this.admin.fetchTopicMetadata({ topics: opts.topics.map((t) => t.topic) }));
      return true;
    }
  }

  async deleteTopics(topics: string[]): Promise<void> {
    if (topics.length) await this.admin.deleteTopics({ topics });
  }

  /** Grows a topic to `count` partitions (Kafka cannot shrink one). */
  async addPartitions(topic: string, count: number): Promise<void> {
    await this.admin.createPartitions({ topicPartitions: [{ topic, count }] });
  }

  async partitionCount(topic: string): Promise<number> {
    const { topics } = await untilMetadataSettles(() => this.admin.fetchTopicMetadata({ topics: [topic] }));
    return topics[0]?.partitions.length ?? 0;
  }

  /** Low and high offsets of every partition of a topic. */
  async offsets(topic: string): Promise<PartitionRange[]> {
    const rows = await untilMetadataSettles(() => this.admin.fetchTopicOffsets(topic));
    return rows
      .map((r) => ({ partition: r.partition, low: r.low, high: r.high }))
      .sort((a, b) => a.partition - b.partition);
  }

  /** For each partition, the first offset whose timestamp is at or after `timestamp` (the high watermark if none). */
  async offsetsForTime(topic: string, timestamp: number): Promise<{ partition: number; offset: string }[]> {
    const rows = await untilMetadataSettles(() => this.admin.fetchTopicOffsetsByTimestamp(topic, timestamp));
    return rows.map((r) => ({ partition: r.partition, offset: r.offset })).sort((a, b) => a.partition - b.partition);
  }

  /** Committed offset and lag of a consumer group on each partition of the given topics. */
  async lag(groupId: string, topics: string[]): Promise<PartitionLag[]> {
    const committed = await this.admin.fetchOffsets({ groupId, topics });
    const out: PartitionLag[] = [];
    for (const t of committed) {
      const ranges = await this.offsets(t.topic);
      for (const p of t.partitions) {
        const range = ranges.find((r) => r.partition === p.partition);
        const high = range?.high ?? '0';
        const start = p.offset === '-1' ? (range?.low ?? '0') : p.offset;
        out.push({
          topic: t.topic,
          partition: p.partition,
          committed: p.offset === '-1' ? null : p.offset,
          high,
          lag: Math.max(0, Number(BigInt(high) - BigInt(start))),
        });
      }
    }
    return out;
  }

  async deleteGroup(groupId: string): Promise<void> {
    await this.admin.deleteGroups([groupId]).catch(() => undefined);
  }

  /** Consumer groups whose id starts with `prefix`, with their state. */
  async groups(prefix = ''): Promise<GroupInfo[]> {
    const ids = (await this.admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
    if (!ids.length) return [];
    const { groups } = await this.admin.describeGroups(ids);
    return groups
      .map((g) => ({ groupId: g.groupId, state: g.state, members: g.members.length }))
      .sort((a, b) => a.groupId.localeCompare(b.groupId));
  }

  /** Topics a group has committed offsets on. */
  async groupTopics(groupId: string): Promise<string[]> {
    const offsets = await this.admin.fetchOffsets({ groupId });
    return offsets.filter((t) => t.partitions.some((p) => p.offset !== '-1')).map((t) => t.topic);
  }

  /** Deletes groups that have no member (the broker refuses the others); returns those deleted. */
  async deleteEmptyGroups(groupIds: string[]): Promise<string[]> {
    if (!groupIds.length) return [];
    const { groups } = await this.admin.describeGroups(groupIds);
    const empty = groups.filter((g) => g.state === 'Empty' || g.state === 'Dead').map((g) => g.groupId);
    const deleted: string[] = [];
    for (const id of empty) {
      const ok = await this.admin.deleteGroups([id]).then(
        () => true,
        () => false,
      );
      if (ok) deleted.push(id);
    }
    return deleted;
  }

  /**
   * Deletes the private groups under `prefix` that no consumer uses any more: a process that died
   * could not delete its own (see groups.ts). A live private consumer's group has a member and stays.
   */
  async sweepPrivateGroups(prefix: string): Promise<string[]> {
    const ids = (await this.admin.listGroups()).groups.map((g) => g.groupId).filter((id) => isPrivateGroup(id, prefix));
    return this.deleteEmptyGroups(ids);
  }

  async disconnect(): Promise<void> {
    await this.admin.disconnect();
  }
}

/** kafkajs reports "Topic creation errors" and keeps the broker's reasons in `errors`: say them. */
function creationError(err: unknown): Error {
  const reasons = [...new Set(((err as { errors?: { message?: string }[] }).errors ?? []).map((e) => e.message))].join(
    '; ',
  );
  return reasons ? new AutomatrixError('bad_request', reasons, { cause: err }) : (err as Error);
}

const SETTLING =
  /does not host this topic-partition|UNKNOWN_TOPIC_OR_PARTITION|LEADER_NOT_AVAILABLE|NOT_LEADER|There is no leader/i;

/**
 * Right after a topic is created (or a broker restarts) the metadata kafkajs holds can lag behind
 * the broker for a moment: offset lookups then fail with "does not host this topic-partition" or,
 * inside kafkajs, a TypeError on a partition it does not know yet. Both settle within seconds.
 */
async function untilMetadataSettles<T>(call: () => Promise<T>, attempts = 8): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const settling =
        err instanceof TypeError || SETTLING.test(`${(err as Error).message} ${(err as { type?: string }).type ?? ''}`);
      if (!settling || attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 150 * attempt));
    }
  }
}
