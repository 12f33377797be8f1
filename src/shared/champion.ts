/**
 * Following a model's champion in the model registry, through Kafka only (no NeuroWeaver in the
 * process): what a component serving a NeuroWeaver model needs.
 */

import type { ModelVersion } from '../../schemas/index.ts';
import type { KafkaConnection } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import { artifactDir, ModelArtifactStore } from './model-artifacts.ts';
import { ModelRegistry } from './model-registry.ts';

export interface ChampionFollower {
  /** The model's champion as the registry says now. */
  champion(): ModelVersion | undefined;
  /** A version's record, once this follower has read it. */
  version(version: string): ModelVersion | undefined;
  /** The newest version the promotion gate has decided on (champion or rejected), if any. */
  latest(): ModelVersion | undefined;
  /** Resolves with a version's record once it shows the gate's decision (not CANDIDATE), or undefined after `timeoutMs`. */
  waitFor(version: string, timeoutMs: number): Promise<ModelVersion | undefined>;
  /** Resolves once every champion read so far has been handed to the listener and the listener has finished. */
  settled(): Promise<void>;
  /** Why the follower stopped reading the registry, if it did. */
  failure(): string | undefined;
  stop(): Promise<void>;
}

/** A champion and the folder of its artifacts in this instance's MODEL_SAVE_PATH (fetched from Kafka if it lacked them). */
export type ChampionListener = (champion: ModelVersion, dir: string) => Promise<void> | void;

/**
 * Reads the compacted model registry to its end, hands the model's champion to `onChange` (awaited,
 * so a starting component serves it at once), then follows the topic: every later change of
 * champion (promotion, manual promotion, rollback) is handed over too, in order.
 */
export async function followChampion(
  kafka: KafkaConnection,
  model: string,
  onChange: ChampionListener,
  opts: { saveRoot: string; log: Logger },
): Promise<ChampionFollower> {
  const registry = new ModelRegistry(kafka, opts.log);
  const store = new ModelArtifactStore(kafka, opts.saveRoot);
  // Fetched from Kafka when this instance's cache lacks them; if that fails, the listener's load names the folder.
  const localArtifacts = (v: ModelVersion) =>
    store.local(v).catch((err: unknown) => {
      opts.log.error({ err, model, version: v.version }, 'champion artifacts could not be fetched from Kafka');
      return artifactDir(opts.saveRoot, v.artifactPath);
    });
  let announced: string | undefined;
  let chain = Promise.resolve();
  const waiters = new Map<string, ((v: ModelVersion) => void)[]>();
  const announce = () => {
    const champion = registry.champion(model);
    if (!champion || champion.version === announced) return chain;
    announced = champion.version;
    chain = chain
      .then(async () => onChange(champion, await localArtifacts(champion)))
      .catch((err: unknown) => opts.log.error({ err, model, version: champion.version }, 'champion listener failed'));
    return chain;
  };
  registry.onChange((v) => {
    if (v.model !== model) return;
    void announce();
    if (!decided(v)) return;
    waiters.get(v.version)?.forEach((resolve) => {
      resolve(v);
    });
    waiters.delete(v.version);
  });
  await registry.start();
  await announce();
  return {
    champion: () => registry.champion(model),
    version: (version) => registry.get(model, version),
    latest: () => registry.list(model).find(decided),
    waitFor(version, timeoutMs) {
      const known = registry.get(model, version);
      if (known && decided(known)) return Promise.resolve(known);
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(undefined), timeoutMs);
        const list = waiters.get(version) ?? [];
        list.push((v) => {
          clearTimeout(timer);
          resolve(v);
        });
        waiters.set(version, list);
      });
    },
    settled: () => chain,
    failure: () => registry.failure,
    async stop() {
      await registry.stop();
      await chain;
    },
  };
}

/** A job writes its version as CANDIDATE, then as CHAMPION or REJECTED once the gate has decided. */
const decided = (v: ModelVersion) => v.status !== 'CANDIDATE';
