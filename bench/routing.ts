/**
 * `npm run bench:routing`: every policy through the real RelayCore and broker, on every scenario
 * in bench/scenarios/. The learned policy's model is trained only on outcome records of separate
 * training runs (round-robin, other seeds) of each scenario family, by NeuroWeaver on RelayCore's
 * optimize request (as in production); then every policy is evaluated side by side on fresh seeds
 * (three by default, pooled), each learned lane serving that version from its model registry.
 * Latency is per message, from its first routing decision to its successful response (retries and
 * backoff included; Kafka transport excluded).
 *
 *   npm run bench:routing [-- gray steady]   (only scenarios whose name contains a word)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeliveryOutcome } from '../schemas/types.ts';
import type { Hyperparameters } from '../src/ml/index.ts';
import type { PolicyName } from '../src/relay/index.ts';
import { bench } from './lib/relay-run.ts';
import { percentile, table, writeResult } from './lib/result.ts';
import { publishOutcomes, trainRoutingModel } from './lib/routing-model.ts';
import { type RunResult, runLanes } from './lib/routing-run.ts';
import { loadScenarios } from './lib/scenario.ts';

const POLICIES: PolicyName[] = ['round-robin', 'least-inflight', 'p2c-peak-ewma', 'learned'];
const TRAIN_SEEDS = [101, 202];
/** Evaluation seeds: each is one side-by-side run; a policy's figures pool the messages of all of them. */
const EVAL_SEEDS = (process.env.BENCH_SEEDS ?? '7,8,9').split(',').map(Number);
/** Fixed (no search): the network RelayCore's in-process training used to fit, for comparable results. */
const HYPERPARAMETERS: Hyperparameters = {
  layers: 2,
  units: 32,
  learningRate: 0.003,
  batchSize: 256,
  l2: 0,
  dropout: 0,
  activation: 'relu',
};
const EPOCHS = 40;

interface Metrics {
  p50: number;
  p99: number;
  p999: number;
  success: number;
  dead_lettered: number;
  failed_attempts: number;
  throughput: number;
}

function metrics(runs: RunResult[]): Metrics {
  const latencies: number[] = [];
  let failedAttempts = 0;
  let produced = 0;
  let deadLettered = 0;
  let throughput = 0;
  for (const r of runs) {
    const m = runMetrics(r);
    latencies.push(...m.latencies);
    failedAttempts += m.failedAttempts;
    produced += r.produced;
    deadLettered += r.deadLettered;
    throughput += m.throughput / runs.length;
  }
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    p50: round(percentile(latencies, 50)),
    p99: round(percentile(latencies, 99)),
    p999: round(percentile(latencies, 99.9)),
    success: Math.round((latencies.length / produced) * 10000) / 10000,
    dead_lettered: deadLettered,
    failed_attempts: failedAttempts,
    throughput: round(throughput),
  };
}

function runMetrics(r: RunResult): { latencies: number[]; failedAttempts: number; throughput: number } {
  const byMessage = new Map<string, { first: number; done: number | null }>();
  let failedAttempts = 0;
  for (const o of r.outcomes) {
    const m = byMessage.get(o.messageId) ?? { first: Infinity, done: null };
    m.first = Math.min(m.first, o.decidedAt);
    if (o.status === 'DELIVERED') m.done = o.decidedAt + o.latencyMs;
    if (o.status === 'FAILED' || o.status === 'TIMEOUT') failedAttempts++;
    byMessage.set(o.messageId, m);
  }
  const latencies = [...byMessage.values()].filter((m) => m.done !== null).map((m) => m.done! - m.first);
  const starts = [...byMessage.values()].map((m) => m.first);
  const ends = [...byMessage.values()].filter((m) => m.done !== null).map((m) => m.done!);
  const spanS = (Math.max(...ends) - Math.min(...starts)) / 1000;
  return { latencies, failedAttempts, throughput: latencies.length / spanS };
}

async function main(): Promise<void> {
  const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const scenarios = loadScenarios(new URL('./scenarios/', import.meta.url), only);
  if (!scenarios.length) throw new Error(`no scenario matches ${only.join(', ')}`);
  const modelPath = mkdtempSync(join(tmpdir(), 'bench-routing-models-'));

  // 1. Training data: round-robin runs (every endpoint measured in every state), on training seeds.
  const training: DeliveryOutcome[] = [];
  for (const s of scenarios) {
    const runs = await runLanes(
      s,
      TRAIN_SEEDS.map((seed) => ({ policy: 'round-robin', seed })),
      modelPath,
    );
    for (const run of runs) {
      training.push(...run.outcomes);
      console.error(`training run ${s.name} seed ${run.seed}: ${run.outcomes.length} outcomes`);
    }
  }
  // 2. One routing model for all scenario families, from outcome records only, trained by NeuroWeaver.
  const trainer = await bench('routing-train');
  let model;
  try {
    await publishOutcomes(trainer, training);
    // A random holdout: the window is ten separate runs one after the other, so its newest 20% would be
    // the last scenario's runs alone (steady, no failures) rather than a sample of what the model serves.
    model = await trainRoutingModel(trainer, modelPath, {
      windowMs: 24 * 3_600_000,
      hyperparameters: HYPERPARAMETERS,
      budget: { trials: 1, maxEpochs: EPOCHS },
      holdout: 'random',
    });
  } finally {
    await trainer.close();
  }
  const version = model.record.version;
  console.error(`routing model ${version}: ${model.result.reason}; ${JSON.stringify(model.record.metrics)}`);

  // 3. Evaluation on a fresh seed, every policy side by side in one run (machine noise hits all alike).
  const results: Record<string, Record<string, Metrics>> = {};
  const rows: Record<string, string | number>[] = [];
  const decision: Record<string, Record<string, number | null>> = {};
  for (const s of scenarios) {
    results[s.name] = {};
    decision[s.name] = {};
    const byPolicy = new Map<PolicyName, RunResult[]>();
    for (const [k, seed] of EVAL_SEEDS.entries()) {
      // The lane order rotates per seed: no policy is always the last one served in the shared event loop.
      const order = POLICIES.map((_, j) => POLICIES[(k + j) % POLICIES.length]!);
      for (const run of await runLanes(
        s,
        order.map((policy) => ({ policy, seed })),
        modelPath,
        model.record,
      )) {
        if (run.policy === 'learned' && run.modelVersion !== version)
          throw new Error(`learned run served model ${run.modelVersion}, expected ${version}`);
        byPolicy.set(run.policy, [...(byPolicy.get(run.policy) ?? []), run]);
      }
    }
    for (const [policy, runs] of byPolicy) {
      results[s.name]![policy] = metrics(runs);
      const us = runs.map((r) => r.decisionUs).filter((x): x is number => x !== null);
      decision[s.name]![policy] = us.length
        ? Math.round((us.reduce((a, b) => a + b, 0) / us.length) * 100) / 100
        : null;
      console.error(`${s.name} ${policy}: ${JSON.stringify(results[s.name]![policy])}`);
    }
    for (const policy of POLICIES)
      rows.push({
        scenario: s.name,
        policy,
        ...(results[s.name]![policy] as unknown as Record<string, number>),
        decision_us: decision[s.name]![policy] ?? -1,
      });
  }
  console.log(table(rows));
  const goals = scenarios.map((s) => {
    const l = results[s.name]!.learned!;
    const p = results[s.name]!['p2c-peak-ewma']!;
    return {
      scenario: s.name,
      p99_ratio: Math.round((l.p99 / p.p99) * 1000) / 1000,
      failed_ratio: p.failed_attempts
        ? Math.round((l.failed_attempts / p.failed_attempts) * 1000) / 1000
        : l.failed_attempts
          ? Infinity
          : 1,
    };
  });
  console.log(
    `\nlearned vs p2c-peak-ewma (goal: p99 <= 0.8 and failed <= 0.5 in degrading and gray, p99 <= 1.05 in steady)\n${table(goals)}`,
  );
  writeResult(
    'routing',
    { scenarios: results },
    {
      model: {
        version,
        metrics: model.record.metrics,
        rows: Number(model.record.rows),
        hyperparameters: model.record.hyperparameters,
        decision: model.result.reason,
      },
      decisionUs: decision,
      goals,
      evalSeeds: EVAL_SEEDS,
      trainSeeds: TRAIN_SEEDS,
    },
  );
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
