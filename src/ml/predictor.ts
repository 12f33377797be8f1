/** Serves predictions from each model's champion, loaded from its artifacts on the main thread (a batch takes microseconds). */
import type { Evaluation, ModelVersion } from '../../schemas/types.ts';
import type { Logger } from '../log/index.ts';
import type { ModelArtifactStore } from '../shared/model-artifacts.ts';
import type { TensorflowRuntime } from '../shared/tensorflow.ts';
import { type LoadedModel, loadArtifacts } from './artifacts.ts';
import { featureMatrix } from './dataset.ts';
import type { AnyModelKind } from './kinds/types.ts';
import { predictRows } from './training.ts';

export interface Prediction {
  version: string;
  outputs: Record<string, number>[];
  /** Raw outputs in target units, for drift measurement. */
  raw: number[][];
}

interface Slot extends LoadedModel {
  version: string;
  /** The registry's record of what the gate measured (its holdout figures are drift's reference). */
  evaluation: Evaluation | null;
}

/** Non-champion versions asked for by name stay loaded, the least recently used evicted past this many. */
const OTHER_VERSIONS = 4;

export class Predictor {
  private readonly slots = new Map<string, Slot>();
  private readonly others = new Map<string, Slot>();
  private readonly loadErrors = new Map<string, string>();

  private readonly runtime: () => Promise<TensorflowRuntime>;
  private readonly artifacts: ModelArtifactStore;
  private readonly log: Logger;

  constructor(runtime: () => Promise<TensorflowRuntime>, artifacts: ModelArtifactStore, log: Logger) {
    this.runtime = runtime;
    this.artifacts = artifacts;
    this.log = log;
  }

  /** Loads a version's artifacts and makes it the one that predicts for its model. */
  async load(v: ModelVersion): Promise<void> {
    if (this.slots.get(v.model)?.version === v.version) return;
    try {
      const { tf } = await this.runtime();
      const loaded = await loadArtifacts(tf, await this.artifacts.local(v));
      const previous = this.slots.get(v.model);
      this.slots.set(v.model, { ...loaded, version: v.version, evaluation: v.evaluation });
      this.loadErrors.delete(v.model);
      previous?.model.dispose();
      this.log.info({ model: v.model, version: v.version }, `serving ${v.model} ${v.version}`);
    } catch (err) {
      const message = `artifacts of ${v.model}/${v.version} do not load: ${(err as Error).message}`;
      this.loadErrors.set(v.model, message);
      this.log.error({ model: v.model, version: v.version }, message);
    }
  }

  serving(model: string): { version: string; evaluation: Evaluation | null; kindState: unknown } | undefined {
    const slot = this.slots.get(model);
    return slot && { version: slot.version, evaluation: slot.evaluation, kindState: slot.state.kindState };
  }

  loadError(model: string): string | undefined {
    return this.loadErrors.get(model);
  }

  /** Predicts parsed rows with the loaded champion, or with `version` (loaded on demand); undefined when there is none. */
  async predict(kind: AnyModelKind, rows: unknown[], version?: ModelVersion): Promise<Prediction | undefined> {
    const slot =
      version && this.slots.get(kind.name)?.version !== version.version
        ? await this.other(version)
        : this.slots.get(kind.name);
    if (!slot) return undefined;
    const { tf } = await this.runtime();
    const x = featureMatrix(kind, rows, slot.state.kindState);
    const raw = predictRows(tf, slot.model, x, slot.state.xScaler, slot.state.yScaler);
    return { version: slot.version, outputs: raw.map((r) => kind.toOutputs(r)), raw };
  }

  private async other(v: ModelVersion): Promise<Slot> {
    const key = `${v.model}/${v.version}`;
    let slot = this.others.get(key);
    if (!slot) {
      const { tf } = await this.runtime();
      slot = {
        ...(await loadArtifacts(tf, await this.artifacts.local(v))),
        version: v.version,
        evaluation: v.evaluation,
      };
      const existing = this.others.get(key);
      if (existing) {
        slot.model.dispose();
        slot = existing;
      }
    }
    this.others.delete(key);
    this.others.set(key, slot);
    for (const [k, old] of [...this.others].slice(0, Math.max(0, this.others.size - OTHER_VERSIONS))) {
      this.others.delete(k);
      old.model.dispose();
    }
    return slot;
  }

  dispose(): void {
    for (const slot of [...this.slots.values(), ...this.others.values()]) slot.model.dispose();
    this.slots.clear();
    this.others.clear();
  }
}
