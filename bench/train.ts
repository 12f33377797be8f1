/**
 * `npm run bench:train`: NeuroWeaver's tuning time and holdout error on 10k and 100k synthetic rows
 * (8 trials, successive halving, in the training worker thread as in production), against a linear
 * regression fitted on the same split; then inference latency for batches of 1, 16 and 256 rows on
 * every TensorFlow.js backend that loads here. Data: src/ml/synthetic.ts (nonlinear score + noise sd 0.02).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactDir, loadArtifacts } from '../src/ml/artifacts.ts';
import { splitData, splitRows } from '../src/ml/dataset.ts';
import { performanceKind } from '../src/ml/kinds/performance.ts';
import { regressionMetrics } from '../src/ml/stats.ts';
import { performanceScore, syntheticRows } from '../src/ml/synthetic.ts';
import { predictRows, type TrainingRequest, type TrainingResult } from '../src/ml/training.ts';
import { trainInWorker } from '../src/ml/worker-client.ts';
import { type BackendName, tensorflow } from '../src/shared/tensorflow.ts';
import { percentile, table, writeResult } from './lib/result.ts';

const TRIALS = Number(process.env.BENCH_TRIALS ?? 8);
const MAX_EPOCHS = Number(process.env.BENCH_MAX_EPOCHS ?? 40);
const SIZES = (process.env.BENCH_SIZES ?? '10000,100000').split(',').map(Number);
const root = mkdtempSync(join(tmpdir(), 'bench-train-'));

interface TuneRun {
  rows: number;
  seconds: number;
  result: TrainingResult;
  oracleRmse: number;
  req: TrainingRequest;
}

async function tuneOn(rows: number, backend: 'auto' | 'cpu' = 'auto'): Promise<TuneRun> {
  const data = syntheticRows(rows, { seed: 42 });
  const s = splitRows(data, { seed: 42, holdout: 0.2, val: 0.2 });
  const req: TrainingRequest = {
    kind: 'performance',
    seed: 42,
    budget: { trials: TRIALS, maxEpochs: MAX_EPOCHS, timeS: 3600 },
    train: splitData(performanceKind, s.train, null),
    val: splitData(performanceKind, s.val, null),
    holdout: splitData(performanceKind, s.holdout, null),
    saveRoot: root,
    artifactPath: `performance/bench-${rows}-${backend}`,
    version: `bench-${rows}`,
    kindState: null,
  };
  const holdout = s.holdout as typeof data;
  // The noise floor: the true (noiseless) score's error on the holdout; no model can do better on average.
  const oracleRmse = regressionMetrics(
    holdout.map((r) => [Math.min(1, Math.max(0, performanceScore(r)))]),
    holdout.map((r) => [r.performance_score]),
  ).rmse;
  const holdoutCopy = { x: { ...req.holdout.x, data: req.holdout.x.data.slice() }, y: req.holdout.y };
  const started = performance.now();
  let epochs = 0;
  const result = await trainInWorker(req, {
    backend,
    onMessage: (m) => {
      if (m.type === 'event' && m.event.kind === 'EPOCH' && ++epochs % 25 === 0)
        process.stderr.write(
          `  ${rows} rows: ${m.event.progress.epochsDone}/${m.event.progress.epochsPlanned} epochs, best val_loss ${m.event.progress.best?.valLoss.toFixed(4)}\n`,
        );
    },
  });
  return {
    rows,
    seconds: (performance.now() - started) / 1000,
    result,
    oracleRmse,
    req: { ...req, holdout: holdoutCopy },
  };
}

async function inferenceLatency(
  modelDir: string,
  x: TrainingRequest['holdout']['x'],
): Promise<Record<string, Record<string, number> | string>> {
  const out: Record<string, Record<string, number> | string> = {};
  const { tf, fallbacks } = await tensorflow();
  const candidates: BackendName[] = ['tensorflow', 'wasm', 'cpu'];
  for (const backend of candidates) {
    try {
      if (!(await tf.setBackend(backend))) throw new Error('not registered');
    } catch (err) {
      out[backend] =
        `unavailable: ${fallbacks.find((f) => f.startsWith(`${backend}:`))?.slice(backend.length + 2) ?? (err as Error).message.split('\n')[0]}`;
      continue;
    }
    await tf.ready();
    const { model, state } = await loadArtifacts(tf, modelDir);
    const figures: Record<string, number> = {};
    for (const batch of [1, 16, 256]) {
      const slice = { data: x.data.subarray(0, batch * x.cols), rows: batch, cols: x.cols };
      for (let i = 0; i < 300; i++) predictRows(tf, model, slice, state.xScaler, state.yScaler);
      const times: number[] = [];
      for (let i = 0; i < 2000; i++) {
        const t0 = performance.now();
        predictRows(tf, model, slice, state.xScaler, state.yScaler);
        times.push((performance.now() - t0) * 1000);
      }
      figures[String(batch)] = Math.round(percentile(times, 50) * 10) / 10;
      figures[`${batch}_p99`] = Math.round(percentile(times, 99) * 10) / 10;
    }
    model.dispose();
    out[backend] = figures;
  }
  return out;
}

async function main(): Promise<void> {
  const { backend } = await tensorflow();
  const runs: TuneRun[] = [];
  for (const rows of SIZES) {
    process.stderr.write(`tuning ${TRIALS} trials on ${rows} rows (${backend})\n`);
    runs.push(await tuneOn(rows));
  }
  process.stderr.write('tuning 10000 rows on the cpu backend, for the ratio\n');
  const cpu10k = await tuneOn(10_000, 'cpu');
  const largest = runs.at(-1)!;
  const latency = await inferenceLatency(artifactDir(root, largest.req.artifactPath), largest.req.holdout.x);

  const rows = [...runs, cpu10k].map(summaryRow);
  console.log(table(rows));
  console.log('');
  console.log(
    table(
      Object.entries(latency).map(([b, f]) =>
        typeof f === 'string'
          ? { backend: b, 'p50 µs batch 1': f, 'batch 16': '', 'batch 256': '', 'p99 µs 1/16/256': '' }
          : {
              backend: b,
              'p50 µs batch 1': f['1']!,
              'batch 16': f['16']!,
              'batch 256': f['256']!,
              'p99 µs 1/16/256': `${f['1_p99']}/${f['16_p99']}/${f['256_p99']}`,
            },
      ),
    ),
  );
  const main = latency[backend];
  const find = (n: number) => runs.find((r) => r.rows === n);
  writeResult(
    'train',
    {
      backend,
      tune_10k_s: round(find(10_000)?.seconds),
      tune_100k_s: round(find(100_000)?.seconds),
      tuned_holdout_rmse: round(largest.result.evaluation.network.rmse, 5),
      baseline_holdout_rmse: round(largest.result.evaluation.linear?.rmse, 5),
      infer_us: typeof main === 'object' ? { '1': main['1'], '16': main['16'], '256': main['256'] } : main,
    },
    {
      trials: TRIALS,
      maxEpochs: MAX_EPOCHS,
      runs: rows,
      bestHyperparameters: Object.fromEntries(runs.map((r) => [r.rows, r.result.hyperparameters])),
      trialOutcomes: Object.fromEntries(runs.map((r) => [r.rows, r.result.trials])),
      inference: latency,
      cpuVsWasmTrainingRatio: round(cpu10k.seconds / (find(10_000)?.seconds ?? Number.NaN), 2),
    },
  );
}

function summaryRow(r: TuneRun) {
  return {
    run: `tune ${r.rows} rows (${r.result.backend})`,
    seconds: Math.round(r.seconds * 10) / 10,
    epochs_trained: r.result.trials.reduce((n, t) => n + t.epochs, 0),
    tuned_rmse: r.result.evaluation.network.rmse!,
    linear_rmse: r.result.evaluation.linear?.rmse ?? Number.NaN,
    noise_floor_rmse: r.oracleRmse,
    tuned_r2: r.result.evaluation.network.r2!,
    linear_r2: r.result.evaluation.linear?.r2 ?? Number.NaN,
  };
}

const round = (v: number | undefined, digits = 1) => (v === undefined ? null : Number(v.toFixed(digits)));

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => rmSync(root, { recursive: true, force: true }));
