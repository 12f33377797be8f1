/** Datasets: rows from a request body or from a topic replayed over a time window, and their splits. */
import { AutomatrixError } from '../errors/index.ts';
import { type KafkaConnection, replayWindow } from '../kafka/index.ts';
import type { AnyModelKind } from './kinds/types.ts';
import { RowError } from './kinds/types.ts';
import { type Matrix, seededRandom, shuffledIndices, toMatrix } from './stats.ts';
import type { SplitData } from './training.ts';

export interface Dataset {
  rows: unknown[];
  /** When each row was observed (record timestamps), for a holdout of the newest rows; null: the rows' order. */
  times: number[] | null;
  /** `request`, or the replayed topic. */
  source: string;
  from: number | null;
  to: number | null;
  /** Records read from the topic, and those that carried no label or did not decode. */
  scanned: number;
  unlabelled: number;
  undecodable: number;
}

/** A row of a request that does not fit: the field is named like the API's validation errors. */
export class DatasetError extends AutomatrixError {
  declare readonly field: string;

  constructor(field: string, message: string) {
    super('row_invalid', message, { field });
  }
}

/** Parses request rows; the first bad one throws naming `<path>.<index>.<field>`. */
export function parseRequestRows(kind: AnyModelKind, data: unknown[], withTarget: boolean, path: string): unknown[] {
  return data.map((value, i) => {
    try {
      return kind.parseRequestRow(value, withTarget);
    } catch (err) {
      if (!(err instanceof RowError)) throw err;
      const field = err.field ? `${path}.${i}.${err.field}` : `${path}.${i}`;
      throw new DatasetError(field, `${field} ${err.message}`);
    }
  });
}

export interface ReplaySpec {
  /** Topic name; the kind's source topic when absent. */
  topic?: string;
  from?: number;
  to?: number;
  onProgress?: (p: { read: number; total: number }) => void;
  signal?: AbortSignal;
}

/** Replays a time window of the kind's source topic (every partition, stopping at the window's end) into labelled rows. */
export async function datasetFromReplay(
  kafka: KafkaConnection,
  kind: AnyModelKind,
  spec: ReplaySpec,
): Promise<Dataset> {
  const topic = spec.topic ?? kafka.catalog.name(kind.source);
  const dataset: Dataset = {
    rows: [],
    times: [],
    source: topic,
    from: spec.from ?? null,
    to: spec.to ?? null,
    scanned: 0,
    unlabelled: 0,
    undecodable: 0,
  };
  const result = await replayWindow(kafka, {
    topic,
    from: spec.from,
    to: spec.to,
    signal: spec.signal,
    onProgress: spec.onProgress,
    onRecords: async (records) => {
      for (const r of records) {
        let value: unknown;
        try {
          value = (await kafka.serde.decode(kind.source, r.value)).value;
        } catch {
          dataset.undecodable++;
          continue;
        }
        const row = kind.fromRecord(value as never, r.timestamp);
        if (row === null) {
          dataset.unlabelled++;
        } else {
          dataset.rows.push(row);
          dataset.times!.push(r.timestamp);
        }
      }
    },
  });
  dataset.scanned = result.records;
  return dataset;
}

export interface Splits {
  train: unknown[];
  val: unknown[];
  holdout: unknown[];
}

export interface SplitOptions {
  seed: number;
  /** Share of the rows held out for the reported metrics and the promotion gate. */
  holdout: number;
  /** Share of the remaining rows that validates (tuning, early stopping). */
  val: number;
  /**
   * With times, the holdout is the newest rows (ties and no times: the last ones): a champion trained on an
   * earlier window has not seen them, so the gate compares on data neither model trained on, as in production.
   */
  times?: number[] | null;
  newest?: boolean;
}

/** Splits rows into train / validation / holdout; seeded, so a job is reproducible. */
export function splitRows(rows: unknown[], opts: SplitOptions): Splits {
  const random = seededRandom(opts.seed ^ 0x5eed);
  const nHoldout = Math.max(1, Math.round(rows.length * opts.holdout));
  let order: number[];
  if (opts.newest) {
    const times = opts.times;
    const byTime = rows.map((_, i) => i).sort((a, b) => (times ? times[a]! - times[b]! : 0) || a - b);
    const rest = byTime.slice(0, rows.length - nHoldout);
    const restShuffled = shuffledIndices(rest.length, random).map((i) => rest[i]!);
    order = [...byTime.slice(rows.length - nHoldout), ...restShuffled];
  } else {
    order = shuffledIndices(rows.length, random);
  }
  const nVal = Math.max(1, Math.round((rows.length - nHoldout) * opts.val));
  const pick = (from: number, to: number) => order.slice(from, to).map((i) => rows[i]);
  return {
    holdout: pick(0, nHoldout),
    val: pick(nHoldout, nHoldout + nVal),
    train: pick(nHoldout + nVal, rows.length),
  };
}

export function featureMatrix(kind: AnyModelKind, rows: unknown[], state: unknown): Matrix {
  return toMatrix(
    rows.map((r) => kind.features(r, state)),
    kind.featureCount,
  );
}

export function splitData(kind: AnyModelKind, rows: unknown[], state: unknown): SplitData {
  return {
    x: featureMatrix(kind, rows, state),
    y: toMatrix(
      rows.map((r) => kind.targets(r)),
      kind.targetNames.length,
    ),
  };
}
