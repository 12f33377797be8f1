/**
 * `npm run bench:relay`: messages per second through RelayCore to Kafka-topic endpoints, next to
 * a bare consume-and-produce pass-through (the src/kafka wrappers, nothing else) on the same
 * broker, the same input and the same Kafka client (KAFKA_CLIENT), alternating in one run; and what
 * a routing decision costs. RelayCore does more than the pass-through by design: it decodes each
 * value, routes it, and writes a DeliveryOutcome record per attempt next to each delivery (every
 * outcome is counted against the attempts), where the pass-through copies the bytes.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PolicyName, parseRoute } from '../src/relay/index.ts';
import { type Bench, bench, sleep, until } from './lib/relay-run.ts';
import { table, writeResult } from './lib/result.ts';
import { trainRoutingModel } from './lib/routing-model.ts';

const N = Number(process.env.BENCH_MESSAGES ?? 60_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const KEYS = 1000;

async function produceInput(b: Bench): Promise<void> {
  const producer = await b.kafka.producer();
  const payload = JSON.stringify({ data: 'x'.repeat(220) });
  for (let i = 0; i < N; i += 2000) {
    const batch = Array.from({ length: Math.min(2000, N - i) }, (_, j) => ({
      key: `k${(i + j) % KEYS}`,
      value: { id: `m-${i + j}`, route: 'sink', type: 'bench', payload },
    }));
    await producer.send('messages.normal', batch);
  }
}

/** The baseline: consume a batch, produce it to another topic, commit. */
async function passThrough(b: Bench, round: number): Promise<number> {
  const out = `${b.prefix}passthrough.out`;
  const kafka = await b.client();
  const producer = await kafka.newProducer();
  const consumer = kafka.consumer({
    groupId: `${b.prefix}passthrough-${round}`,
    maxWaitTimeMs: 100,
    maxBytesPerPartition: 512 * 1024,
  });
  let first = 0;
  let done = 0;
  let finished = 0;
  await consumer.subscribe([kafka.catalog.name('messages.normal')], { fromBeginning: true });
  await consumer.run(
    async (batch) => {
      first ||= performance.now();
      await producer.sendRaw(
        out,
        batch.records.map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
      );
      done += batch.records.length;
      if (done >= N) finished = performance.now();
    },
    { partitionsConcurrently: 6 },
  );
  await until(() => finished > 0, 300_000);
  await consumer.disconnect();
  await producer.disconnect();
  return N / ((finished - first) / 1000);
}

async function relayPass(
  b: Bench,
  policy: PolicyName,
  modelPath: string,
  round: number,
): Promise<{ rate: number; decisionUs: number; outcomes: number }> {
  const relay = await b.relay({
    RELAY_AUTOSTART: 'false',
    MODEL_SAVE_PATH: modelPath,
    RELAY_MAX_INFLIGHT: '4096',
    RELAY_GROUP_ID: `${b.prefix}relay-${round}`,
  });
  const endpoints = ['a', 'b'].map((id) => ({ id, kind: 'KAFKA', target: `${b.prefix}sink-${id}` }));
  if (policy === 'learned' && !relay.loop.scorerVersion())
    throw new Error('the learned pass has no routing model to serve');
  await relay.putRoute(parseRoute({ name: 'sink', policy, endpoints }));
  await relay.loop.start();
  let first = 0;
  const counters = relay.loop.counters;
  await until(() => counters.consumed > 0, 120_000);
  first = performance.now();
  // Done once every message is delivered and every attempt's outcome record is acknowledged.
  await until(() => counters.delivered + counters.deadLettered >= N && counters.outcomes >= counters.attempts, 300_000);
  const finished = performance.now();
  const rt = relay.loop.routes.get('sink')!;
  const decisionUs = (rt.decisionMs / rt.decisions) * 1000;
  if (counters.deadLettered) throw new Error(`${counters.deadLettered} messages dead-lettered in the relay pass`);
  await relay.stop();
  return { rate: N / ((finished - first) / 1000), decisionUs, outcomes: counters.attempts };
}

async function main(): Promise<void> {
  const b = await bench('relay', [
    { name: 'sink-a', partitions: 6 },
    { name: 'sink-b', partitions: 6 },
    { name: 'passthrough.out', partitions: 6 },
  ]);
  try {
    await produceInput(b);
    const dir = mkdtempSync(join(tmpdir(), 'bench-relay-'));
    const modelPath = join(dir, 'models');
    const rows: Record<string, string | number>[] = [];
    const rates = { passthrough: [] as number[], relay: [] as number[], decision: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      const pass = await passThrough(b, round);
      // Each relay round is a new consumer group on the same input.
      const relay = await relayPass(b, 'p2c-peak-ewma', modelPath, round);
      rates.passthrough.push(pass);
      rates.relay.push(relay.rate);
      rates.decision.push(relay.decisionUs);
      rows.push({
        round: round + 1,
        passthrough_msgs_per_s: Math.round(pass),
        relay_msgs_per_s: Math.round(relay.rate),
        ratio: relay.rate / pass,
        decision_us: relay.decisionUs,
      });
      console.error(JSON.stringify(rows.at(-1)));
      await sleep(500);
    }
    // The learned policy's decision cost, with a model NeuroWeaver trains on this run's latest outcomes (the
    // network RelayCore used to fit). Inference costs the same whatever the model's quality: a version the
    // gate rejects (to Kafka endpoints the recent latency is hard to beat) is served anyway, and reported so.
    const trained = await trainRoutingModel(b, modelPath, {
      windowMs: 10_000,
      hyperparameters: {
        layers: 2,
        units: 32,
        learningRate: 0.003,
        batchSize: 256,
        l2: 0,
        dropout: 0,
        activation: 'relu',
      },
      budget: { trials: 1, maxEpochs: 10 },
      serveRejected: true,
    });
    const learnedModel = {
      version: trained.record.version,
      promoted: trained.result.promoted,
      reason: trained.result.reason,
    };
    console.error(`learned pass serves ${JSON.stringify(learnedModel)}`);
    const relayLearned = await (async () => {
      const pass = await passThrough(b, ROUNDS);
      const r = await relayPass(b, 'learned', modelPath, ROUNDS);
      return { pass, ...r };
    })();
    rows.push({
      round: 'learned',
      passthrough_msgs_per_s: Math.round(relayLearned.pass),
      relay_msgs_per_s: Math.round(relayLearned.rate),
      ratio: relayLearned.rate / relayLearned.pass,
      decision_us: relayLearned.decisionUs,
    });
    const median = (xs: number[]) => [...xs].sort((a, c) => a - c)[Math.floor(xs.length / 2)]!;
    const headline = {
      relay_msgs_per_s: Math.round(median(rates.relay)),
      passthrough_msgs_per_s: Math.round(median(rates.passthrough)),
      ratio: Math.round((median(rates.relay) / median(rates.passthrough)) * 1000) / 1000,
      decision_us: Math.round(median(rates.decision) * 100) / 100,
    };
    console.log(table(rows));
    writeResult('relay', headline, {
      messages: N,
      rounds: ROUNDS,
      keys: KEYS,
      policy: 'p2c-peak-ewma',
      learned: {
        model: learnedModel,
        relay_msgs_per_s: Math.round(relayLearned.rate),
        passthrough_msgs_per_s: Math.round(relayLearned.pass),
        decision_us: relayLearned.decisionUs,
      },
      rows,
    });
  } finally {
    await b.close();
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
