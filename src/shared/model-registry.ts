/**
 * The model registry: every version record of the compacted model-registry topic (key
 * `<model>/<version>`), read to its end at start and followed afterwards, so a restarted instance
 * and every other instance see the same versions and champions.
 */
import type { ModelVersion } from '../../schemas/types.ts';
import type { BatchConsumer, ConsumedBatch, KafkaConnection } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';

const READ_TIMEOUT_MS = 120_000;

export const registryKey = (model: string, version: string) => `${model}/${version}`;

export class ModelRegistry {
  private readonly records = new Map<string, ModelVersion>();
  private readonly listeners: ((v: ModelVersion) => void)[] = [];
  private consumer?: BatchConsumer;
  /** Why the registry stopped following the topic, if it did. */
  failure?: string;

  private readonly kafka: KafkaConnection;
  private readonly log: Logger;

  constructor(kafka: KafkaConnection, log: Logger) {
    this.kafka = kafka;
    this.log = log;
  }

  /** Reads the registry topic to the end it had when called; later records keep arriving in the background. */
  async start(): Promise<void> {
    const topic = this.kafka.catalog.name('model.registry');
    const admin = await this.kafka.admin();
    const ranges = await admin.offsets(topic);
    const ends = new Map(ranges.map((r) => [r.partition, BigInt(r.high)]));
    const pending = new Set(ranges.filter((r) => BigInt(r.high) > BigInt(r.low)).map((r) => r.partition));
    let caughtUp!: () => void;
    const ready = new Promise<void>((resolve) => (caughtUp = resolve));
    if (!pending.size) caughtUp();
    this.consumer = this.kafka.privateConsumer('neuroweaver-registry', { maxWaitTimeMs: 200 });
    this.consumer.onCrash((err, restarting) => {
      if (!restarting) this.failure = `model registry consumer stopped: ${err.message}`;
    });
    await this.consumer.subscribe([topic], { fromBeginning: true });
    await this.consumer.run(async (batch) => {
      await this.handle(batch);
      const last = batch.records[batch.records.length - 1];
      if (
        last &&
        BigInt(last.offset) + 1n >= (ends.get(batch.partition) ?? 0n) &&
        pending.delete(batch.partition) &&
        !pending.size
      )
        caughtUp();
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`the model registry (${topic}) was not read to its end within ${READ_TIMEOUT_MS / 1000} s`)),
        READ_TIMEOUT_MS,
      );
    });
    await Promise.race([ready, timeout]).finally(() => clearTimeout(timer));
    this.log.info({ versions: this.records.size }, 'model registry read');
  }

  private async handle(batch: ConsumedBatch): Promise<void> {
    for (const r of batch.records) {
      const key = r.key?.toString('utf8');
      if (!key) continue;
      if (!r.value) {
        this.records.delete(key);
        continue;
      }
      try {
        this.apply((await this.kafka.serde.decode('model.registry', r.value)).value);
      } catch (err) {
        this.log.warn(
          { key, offset: r.offset, err: (err as Error).message },
          'model registry record skipped: it does not decode',
        );
      }
    }
  }

  private apply(v: ModelVersion): void {
    const key = registryKey(v.model, v.version);
    const current = this.records.get(key);
    if (current && current.updatedAt > v.updatedAt) return;
    this.records.set(key, v);
    for (const l of this.listeners) l(v);
  }

  /** Writes version records (acks=all) and applies them here at once. */
  async publish(...versions: ModelVersion[]): Promise<void> {
    const producer = await this.kafka.producer();
    await producer.send(
      'model.registry',
      versions.map((v) => ({ key: registryKey(v.model, v.version), value: v })),
    );
    for (const v of versions) this.apply(v);
  }

  onChange(listener: (v: ModelVersion) => void): void {
    this.listeners.push(listener);
  }

  /** Versions, newest first. */
  list(model?: string): ModelVersion[] {
    return [...this.records.values()]
      .filter((v) => !model || v.model === model)
      .sort((a, b) => b.createdAt - a.createdAt || b.version.localeCompare(a.version));
  }

  get(model: string, version: string): ModelVersion | undefined {
    return this.records.get(registryKey(model, version));
  }

  /** The champion: the CHAMPION record updated last (two may briefly coexist while a promotion is written). */
  champion(model: string): ModelVersion | undefined {
    return this.list(model)
      .filter((v) => v.status === 'CHAMPION')
      .sort((a, b) => b.updatedAt - a.updatedAt)[0];
  }

  /** Makes `version` the champion and retires the current one; `replaced` remembers it for a rollback. */
  async promote(model: string, version: string, note: string): Promise<ModelVersion> {
    const target = this.get(model, version);
    if (!target) throw new Error(`${model}/${version} is not in the registry`);
    const current = this.champion(model);
    if (current?.version === version) return current;
    const now = Math.max(Date.now(), (current?.updatedAt ?? 0) + 1, target.updatedAt + 1);
    const promoted: ModelVersion = {
      ...target,
      status: 'CHAMPION',
      replaced: current?.version ?? null,
      note,
      updatedAt: now,
    };
    const retired = current
      ? [{ ...current, status: 'RETIRED' as const, note: `replaced by ${version}`, updatedAt: now }]
      : [];
    await this.publish(promoted, ...retired);
    return promoted;
  }

  /** Returns to the champion the current one replaced; resolves undefined if there is none to return to. */
  async rollback(model: string): Promise<{ champion: ModelVersion; retired: ModelVersion } | undefined> {
    const current = this.champion(model);
    const previous = current?.replaced ? this.get(model, current.replaced) : undefined;
    if (!current || !previous) return undefined;
    const now = Math.max(Date.now(), current.updatedAt + 1, previous.updatedAt + 1);
    const champion: ModelVersion = {
      ...previous,
      status: 'CHAMPION',
      note: `restored by rollback from ${current.version}`,
      updatedAt: now,
    };
    const retired: ModelVersion = {
      ...current,
      status: 'RETIRED',
      note: `rolled back to ${previous.version}`,
      updatedAt: now,
    };
    await this.publish(champion, retired);
    return { champion, retired };
  }

  /**
   * Forgets all but the newest `keep` versions of a model, never the champion nor the version a rollback
   * returns to: tombstones their registry records and resolves the pruned versions (to delete their artifacts).
   */
  async prune(model: string, keep: number): Promise<ModelVersion[]> {
    const champion = this.champion(model);
    const protectedVersions = new Set([champion?.version, champion?.replaced].filter(Boolean));
    const pruned = this.list(model)
      .slice(keep)
      .filter((v) => !protectedVersions.has(v.version));
    if (!pruned.length) return [];
    const producer = await this.kafka.producer();
    await producer.sendRaw(
      this.kafka.catalog.name('model.registry'),
      pruned.map((v) => ({ key: registryKey(v.model, v.version), value: null })),
    );
    for (const v of pruned) this.records.delete(registryKey(v.model, v.version));
    return pruned;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
