/**
 * `npm run bench:routing`: every policy through the real RelayCore and broker, on every scenario
 * in bench/scenarios/. The learned policy's model is trained only on outcome records of separate
 * training runs (round-robin, other seeds) of each scenario family, by NeuroWeaver on RelayCore's
 * optimize request (as in production); then every policy is evaluated side by side on fresh seeds
 * (three by default, pooled), each learned lane serving that version from its model registry.
 * Latency is end to end, as the user sees it: per message, from the producer's timestamp to its first
 * successful answer, measured at the endpoint (Kafka transport, RelayCore's queueing, retries and
 * backoff included). Failed attempts are counted from RelayCore's outcome records.
 *
 *   npm run bench:routing [-- gray steady]   (only scenarios whose name contains a word)
 *   BENCH_POLICIES=p2c-peak-ewma,learned npm run bench:routing   (only these lanes)
 */
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeliveryOutcome } from '../schemas/types.ts';
import type { Hyperparameters } from '../src/ml/index.ts';
import { POLICIES, type PolicyName } from '../src/relay/index.ts';
import { bench } from './lib/relay-run.ts';
import { percentile, table, writeResult } from './lib/result.ts';
import { publishOutcomes, type TrainedRouting, trainRoutingModel } from './lib/routing-model.ts';
import { type RunResult, runLanes } from './lib/routing-run.ts';
import { loadScenarios, type Scenario } from './lib/scenario.ts';

/** BENCH_POLICIES narrows the lanes (say `p2c-peak-ewma,learned`): fewer lanes share the process, so less of the tail is theirs. */
const LANES = (process.env.BENCH_POLICIES ?? 'round-robin,least-inflight,p2c-peak-ewma,learned').split(',');
for (const p of LANES)
  if (!(POLICIES as readonly string[]).includes(p))
    throw new Error(`BENCH_POLICIES: unknown policy ${p} (one of ${POLICIES.join(', ')})`);
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
  /** End-to-end p50/p99 of the messages each endpoint answered. */
  by_endpoint: Record<string, { messages: number; p50: number; p99: number }>;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

function metrics(runs: RunResult[]): Metrics {
  const latencies: number[] = [];
  const byEndpoint = new Map<string, number[]>();
  let failedAttempts = 0;
  let produced = 0;
  let deadLettered = 0;
  let throughput = 0;
  for (const r of runs) {
    for (const a of r.answered) {
      const ms = a.answeredAt - a.producedAt;
      latencies.push(ms);
      byEndpoint.set(a.endpoint, [...(byEndpoint.get(a.endpoint) ?? []), ms]);
    }
    failedAttempts += r.outcomes.filter((o) => o.status === 'FAILED' || o.status === 'TIMEOUT').length;
    produced += r.produced;
    deadLettered += r.deadLettered;
    const starts = r.answered.map((a) => a.producedAt);
    const ends = r.answered.map((a) => a.answeredAt);
    throughput += r.answered.length / ((Math.max(...ends) - Math.min(...starts)) / 1000) / runs.length;
  }
  return {
    p50: round2(percentile(latencies, 50)),
    p99: round2(percentile(latencies, 99)),
    p999: round2(percentile(latencies, 99.9)),
    success: Math.round((latencies.length / produced) * 10000) / 10000,
    dead_lettered: deadLettered,
    failed_attempts: failedAttempts,
    throughput: round2(throughput),
    by_endpoint: Object.fromEntries(
      [...byEndpoint].map(([id, ms]) => [
        id,
        { messages: ms.length, p50: round2(percentile(ms, 50)), p99: round2(percentile(ms, 99)) },
      ]),
    ),
  };
}

const loadAverage = () => loadavg().map((x) => Math.round(x * 100) / 100);

/**
 * The learned policy's model: round-robin runs of every training scenario on the training seeds (every
 * endpoint measured in every state), their outcome records on a delivery.outcomes topic, and one
 * routing model for all scenario families trained from them by NeuroWeaver on RelayCore's optimize.
 */
async function trainModel(scenarios: Scenario[], modelPath: string): Promise<TrainedRouting> {
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
  const trainer = await bench('routing-train');
  try {
    await publishOutcomes(trainer, training);
    // A random holdout: the window is separate runs one after the other, so its newest 20% would be
    // the last scenario's runs alone rather than a sample of what the model serves.
    const model = await trainRoutingModel(trainer, modelPath, {
      windowMs: 24 * 3_600_000,
      hyperparameters: HYPERPARAMETERS,
      budget: { trials: 1, maxEpochs: EPOCHS },
      holdout: 'random',
    });
    console.error(
      `routing model ${model.record.version}: ${model.result.reason}; ${JSON.stringify(model.record.evaluation)}`,
    );
    return model;
  } finally {
    await trainer.close();
  }
}

async function main(): Promise<void> {
  const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const scenarios = loadScenarios(new URL('./scenarios/', import.meta.url), only);
  if (!scenarios.length) throw new Error(`no scenario matches ${only.join(', ')}`);
  const modelPath = mkdtempSync(join(tmpdir(), 'bench-routing-models-'));

  const policiesOf = (s: Scenario) => (LANES as PolicyName[]).filter((p) => !s.policies || s.policies.includes(p));
  const model = scenarios.some((s) => policiesOf(s).includes('learned'))
    ? await trainModel(
        scenarios.filter((s) => s.train !== false),
        modelPath,
      )
    : null;
  const version = model?.record.version ?? null;

  // 3. Evaluation on a fresh seed, every policy side by side in one run (machine noise hits all alike).
  const results: Record<string, Record<string, Metrics>> = {};
  const rows: Record<string, string | number>[] = [];
  const decision: Record<string, Record<string, number | null>> = {};
  for (const s of scenarios) {
    results[s.name] = {};
    decision[s.name] = {};
    const byPolicy = new Map<PolicyName, RunResult[]>();
    const policies = policiesOf(s);
    for (const [k, seed] of EVAL_SEEDS.entries()) {
      // The lane order rotates per seed: no policy is always the last one served in the shared event loop.
      const order = policies.map((_, j) => policies[(k + j) % policies.length]!);
      for (const run of await runLanes(
        s,
        order.map((policy) => ({ policy, seed })),
        modelPath,
        model?.record,
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
    for (const policy of policies) {
      const { by_endpoint, ...m } = results[s.name]![policy]!;
      rows.push({
        scenario: s.name,
        policy,
        ...m,
        decision_us: decision[s.name]![policy] ?? -1,
        by_endpoint: Object.entries(by_endpoint)
          .map(([id, e]) => `${id} ${e.p50}/${e.p99}`)
          .join(' '),
      });
    }
  }
  console.log(table(rows));
  const goals = scenarios
    .filter((s) => results[s.name]!.learned && results[s.name]!['p2c-peak-ewma'])
    .map((s) => {
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
  if (goals.length)
    console.log(
      `\nlearned vs p2c-peak-ewma, end to end (goals: p99 <= 0.8 and failed <= 0.5 in degrading and gray; p99 <= 1.0 in steady, pause-prone and capacity-cliff)\n${table(goals)}`,
    );
  const headOfLine = results['head-of-line']?.['round-robin']?.by_endpoint;
  writeResult(
    'routing',
    { goals, ...(headOfLine ? { head_of_line: headOfLine } : {}) },
    {
      scenarios: results,
      model: model && {
        version,
        metrics: model.record.metrics,
        evaluation: model.record.evaluation,
        rows: Number(model.record.rows),
        hyperparameters: model.record.hyperparameters,
        decision: model.result.reason,
      },
      load: loadAverage(),
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
