/**
 * `npm run bench:kafka-clients`: the Kafka clients we could run on, side by side on this broker.
 * For each client that loads here, in several rounds with the order rotated every round:
 *   produce      N records in calls of 2000, 4 calls in flight, acks=all;
 *   consume      N records in a fresh consumer group, committing after each batch is handled;
 *   passthrough  consume a batch, produce it to another topic (acks=all), then commit.
 * Rates and CPU per message are compared as ratios against kafkajs measured in the same round.
 * Correctness is checked in the same run: every record arrives once with its key, value and
 * headers intact, keys land on Java's partitions, commits are exactly the handled records, and a
 * new member of the group resumes exactly there.
 */
import { randomBytes } from 'node:crypto';
import { type KafkaAdmin, KafkaConnection } from '../src/kafka/index.ts';
import { logger } from '../src/log/index.ts';
import {
  BATCH,
  type Check,
  committedOffsets,
  describeOffsets,
  expectedPartitionCounts,
  IN_FLIGHT,
  KEYS,
  Meter,
  makeRecords,
  nextOffsets,
  noDuplicateOffsets,
  PARTITIONS,
  type PhaseResult,
  partitionCounts,
  produceAll,
  sameOffsets,
  sameRecords,
  waitFor,
} from './lib/kafka-clients-run.ts';
import { type BenchRecord, type ClientDriver, loadDrivers, type ReceivedRecord } from './lib/kafka-drivers/index.ts';
import { broker } from './lib/relay-run.ts';
import { table, writeResult } from './lib/result.ts';

const N = Number(process.env.BENCH_MESSAGES ?? 60_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PHASES = ['produce', 'consume', 'passthrough'] as const;
type Phase = (typeof PHASES)[number];

interface Run {
  admin: KafkaAdmin;
  prefix: string;
  input: BenchRecord[];
  inputTopic: string;
  reference: ClientDriver;
  checks: Check[];
  groups: string[];
}

function check(run: Run, client: string, name: string, ok: boolean, detail: string): void {
  run.checks.push({ client, check: name, ok, detail });
  if (!ok) console.error(`CHECK FAILED ${client} ${name}: ${detail}`);
}

async function newTopic(run: Run, name: string): Promise<string> {
  const topic = `${run.prefix}${name}`;
  await run.admin.createTopic(topic, PARTITIONS);
  return topic;
}

function newGroup(run: Run, name: string): string {
  const group = `${run.prefix}${name}`;
  run.groups.push(group);
  return group;
}

async function producePhase(run: Run, driver: ClientDriver, round: number): Promise<PhaseResult> {
  const topic = await newTopic(run, `produce-${driver.name}-${round}`);
  const records = makeRecords(N, `p${round}`);
  const result = await produceAll(driver, topic, records);
  const counts = await partitionCounts(run.admin, topic);
  const expected = expectedPartitionCounts(records);
  check(
    run,
    driver.name,
    'produce: every record written once, on the partition Java and kafkajs give its key',
    counts.join() === expected.join(),
    `records per partition ${counts.join(',')}, expected ${expected.join(',')}`,
  );
  return result;
}

/** Consumes the input topic in a fresh group, keeping what it got for the checks (outside the timed work). */
async function consumePhase(run: Run, driver: ClientDriver, round: number): Promise<PhaseResult> {
  const groupId = newGroup(run, `consume-${driver.name}-${round}`);
  const got: ReceivedRecord[] = [];
  const meter = new Meter(N / 10, N);
  const consumer = await driver.consume({
    topic: run.inputTopic,
    groupId,
    onBatch: async (_partition, records) => {
      for (const r of records) got.push(r);
      meter.progress(got.length);
    },
  });
  await waitFor(() => got.length >= N, `${driver.name} to consume ${N} records`);
  await consumer.stop();
  if (round === 0) {
    const same = sameRecords(run.input, got);
    check(
      run,
      driver.name,
      'consume: every record once, key, value and headers intact',
      same.ok && noDuplicateOffsets(got),
      same.detail,
    );
  }
  const committed = await committedOffsets(run.admin, groupId, run.inputTopic);
  const highs = new Map((await run.admin.offsets(run.inputTopic)).map((r) => [r.partition, BigInt(r.high)]));
  check(
    run,
    driver.name,
    `consume round ${round + 1}: the group's commits are the high watermarks once all is handled`,
    sameOffsets(committed, highs),
    `committed ${describeOffsets(committed)}; high ${describeOffsets(highs)}`,
  );
  return meter.result();
}

async function passThroughPhase(run: Run, driver: ClientDriver, round: number): Promise<PhaseResult> {
  const out = await newTopic(run, `pass-${driver.name}-${round}`);
  const groupId = newGroup(run, `pass-${driver.name}-${round}`);
  const producer = await driver.producer();
  const meter = new Meter(N / 10, N);
  let produced = 0;
  const consumer = await driver.consume({
    topic: run.inputTopic,
    groupId,
    onBatch: async (_partition, records) => {
      await producer.send(
        out,
        records.map((r) => ({ key: r.key, value: r.value!, headers: r.headers })),
      );
      produced += records.length;
      meter.progress(produced);
    },
  });
  await waitFor(() => produced >= N, `${driver.name} to pass ${N} records through`);
  await consumer.stop();
  await producer.close();
  const counts = await partitionCounts(run.admin, out);
  const expected = expectedPartitionCounts(run.input);
  check(
    run,
    driver.name,
    `passthrough round ${round + 1}: output holds each record once, on its key's partition`,
    counts.join() === expected.join(),
    `records per partition ${counts.join(',')}, expected ${expected.join(',')}`,
  );
  if (round === 0) {
    const same = sameRecords(run.input, await readAll(run, out));
    check(
      run,
      driver.name,
      'passthrough: output read back (by kafkajs) has every record once, intact',
      same.ok,
      same.detail,
    );
  }
  return meter.result();
}

/** Reads a topic whole with the reference client (kafkajs), untimed. */
async function readAll(run: Run, topic: string): Promise<ReceivedRecord[]> {
  const got: ReceivedRecord[] = [];
  const total = (await partitionCounts(run.admin, topic)).reduce((a, b) => a + b, 0);
  const consumer = await run.reference.consume({
    topic,
    groupId: newGroup(run, `read-${randomBytes(3).toString('hex')}`),
    onBatch: async (_p, records) => {
      for (const r of records) got.push(r);
    },
  });
  await waitFor(() => got.length >= total, `reading back ${topic}`);
  await consumer.stop();
  return got;
}

/**
 * Commit-after-handled, end to end: a first member handles part of the input and stops; the group's
 * commits must be exactly the ends of what it handled. A second member must then start exactly
 * there, and the two together must have handled every record once.
 */
async function resumeCheck(run: Run, driver: ClientDriver): Promise<void> {
  const groupId = newGroup(run, `resume-${driver.name}`);
  const first: ReceivedRecord[] = [];
  let consumer = await driver.consume({
    topic: run.inputTopic,
    groupId,
    onBatch: async (_p, records) => void first.push(...records),
  });
  await waitFor(() => first.length >= N / 10, `${driver.name}: first member`);
  await consumer.stop();
  const committed = await committedOffsets(run.admin, groupId, run.inputTopic);
  const handled = nextOffsets(first);
  check(
    run,
    driver.name,
    'resume: commits are exactly the ends of the handled records',
    sameOffsets(committed, handled),
    `committed ${describeOffsets(committed)}; handled up to ${describeOffsets(handled)}`,
  );

  const remaining = N - [...committed.values()].reduce((a, b) => a + Number(b), 0);
  const second: ReceivedRecord[] = [];
  consumer = await driver.consume({
    topic: run.inputTopic,
    groupId,
    onBatch: async (_p, records) => void second.push(...records),
  });
  await waitFor(() => second.length >= remaining, `${driver.name}: second member`);
  await consumer.stop();
  const starts = new Map<number, bigint>();
  for (const r of second)
    if (!starts.has(r.partition) || BigInt(r.offset) < starts.get(r.partition)!)
      starts.set(r.partition, BigInt(r.offset));
  const resumedAt = [...starts].every(([p, o]) => o === (committed.get(p) ?? 0n));
  const union = sameRecords(run.input, [...first, ...second]);
  check(
    run,
    driver.name,
    'resume: a new member starts at the commits, and the two members handled every record once',
    resumedAt && union.ok,
    `second member started at ${describeOffsets(starts)}; ${union.detail}`,
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const { brokers } = await broker();
  const { drivers, unavailable } = await loadDrivers(brokers);
  for (const [name, why] of Object.entries(unavailable)) console.error(`skipping ${name}: ${why}`);
  const prefix = `bench-kc-${randomBytes(3).toString('hex')}.`;
  const kafka = new KafkaConnection({
    brokers,
    registryUrl: 'http://unused.invalid',
    topicPrefix: prefix,
    clientId: 'automatrix-bench',
    log: logger('bench'),
  });
  const admin = await kafka.admin();
  const run: Run = {
    admin,
    prefix,
    input: makeRecords(N, 'in'),
    inputTopic: '',
    reference: drivers[0]!,
    checks: [],
    groups: [],
  };
  try {
    run.inputTopic = await newTopic(run, 'input');
    await produceAll(run.reference, run.inputTopic, run.input);
    const results: Record<Phase, Record<string, PhaseResult[]>> = { produce: {}, consume: {}, passthrough: {} };
    const rows: Record<string, string | number>[] = [];
    const phaseRunners: Record<Phase, (run: Run, d: ClientDriver, round: number) => Promise<PhaseResult>> = {
      produce: producePhase,
      consume: consumePhase,
      passthrough: passThroughPhase,
    };
    for (let round = 0; round < ROUNDS; round++) {
      const order = drivers.map((_, i) => drivers[(i + round) % drivers.length]!);
      for (const phase of PHASES) {
        for (const driver of order) {
          const r = await phaseRunners[phase](run, driver, round);
          (results[phase][driver.name] ??= []).push(r);
          rows.push({
            round: round + 1,
            phase,
            client: driver.name,
            msgs_per_s: Math.round(r.rate),
            cpu_us_per_msg: r.cpuUsPerMsg,
          });
          console.error(JSON.stringify(rows.at(-1)));
        }
      }
    }
    for (const driver of drivers) await resumeCheck(run, driver);

    const summary: Record<string, string | number>[] = [];
    const headline: Record<string, number | string> = {};
    for (const phase of PHASES) {
      const base = results[phase].kafkajs!;
      for (const driver of drivers) {
        const mine = results[phase][driver.name]!;
        const ratio = median(mine.map((r, i) => r.rate / base[i]!.rate));
        const cpuRatio = median(mine.map((r, i) => r.cpuUsPerMsg / base[i]!.cpuUsPerMsg));
        summary.push({
          phase,
          client: driver.name,
          msgs_per_s: Math.round(median(mine.map((r) => r.rate))),
          ratio_vs_kafkajs: ratio,
          cpu_us_per_msg: median(mine.map((r) => r.cpuUsPerMsg)),
          cpu_ratio_vs_kafkajs: cpuRatio,
        });
        if (driver.name === 'kafkajs')
          headline[`kafkajs_${phase}_msgs_per_s`] = Math.round(median(mine.map((r) => r.rate)));
        else {
          headline[`${driver.name}_${phase}_ratio`] = round3(ratio);
          headline[`${driver.name}_${phase}_cpu_ratio`] = round3(cpuRatio);
        }
      }
    }
    headline.checks_failed = run.checks.filter((c) => !c.ok).length;
    headline.checks = run.checks.length;
    console.log(table(rows));
    console.log();
    console.log(table(summary));
    console.log();
    console.log(table(run.checks.map((c) => ({ client: c.client, ok: c.ok ? 'ok' : 'FAILED', check: c.check }))));
    writeResult('kafka-clients', headline, {
      messages: N,
      rounds: ROUNDS,
      partitions: PARTITIONS,
      keys: KEYS,
      produceBatch: BATCH,
      produceInFlight: IN_FLIGHT,
      clients: Object.fromEntries(drivers.map((d) => [d.name, d.version])),
      unavailable,
      summary,
      rows,
      checks: run.checks,
    });
  } finally {
    await Promise.allSettled(drivers.map((d) => d.close()));
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    await admin.deleteTopics(topics).catch(() => undefined);
    for (const g of run.groups) await admin.deleteGroup(g);
    await kafka.close();
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
