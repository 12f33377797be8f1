/** The pieces of `bench:kafka-clients`: records, timed phases, and the correctness checks. */

import { type KafkaAdmin, partitionForKey } from '../../src/kafka/index.ts';
import type { BenchRecord, ClientDriver, ReceivedRecord } from './kafka-drivers/index.ts';
import { until } from './relay-run.ts';

export const PARTITIONS = 6;
export const KEYS = 1000;
/** Records per produce call: what RelayCore's coalescer writes at most in one request. */
export const BATCH = 2000;
/** Produce calls in flight at once, as several partition batches of RelayCore produce concurrently. */
export const IN_FLIGHT = 4;
const PHASE_TIMEOUT_MS = 180_000;

export interface PhaseResult {
  rate: number;
  cpuUsPerMsg: number;
}

/** `n` records like RelayCore's Kafka deliveries: a key among KEYS, a ~250-byte JSON value, two headers. */
export function makeRecords(n: number, tag: string): BenchRecord[] {
  const payload = 'x'.repeat(220);
  return Array.from({ length: n }, (_, i) => {
    const id = `${tag}-${i}`;
    return {
      key: `k${i % KEYS}`,
      value: Buffer.from(JSON.stringify({ id, type: 'bench', payload })),
      headers: { 'message-id': id, 'message-type': 'bench' },
    };
  });
}

/**
 * Rate and CPU per message (this process, all threads: librdkafka's too) in the steady state: from
 * the moment `warm` records are done (connections made, group joined, first fetches decoded) until
 * `total` are.
 */
export class Meter {
  private startCount = -1;
  private t0 = 0;
  private cpu0: NodeJS.CpuUsage | undefined;
  private seconds = 0;
  private cpuUs = 0;
  private readonly warm: number;
  private readonly total: number;

  constructor(warm: number, total: number) {
    this.warm = warm;
    this.total = total;
  }
  /** Call with the count of records done so far. */
  progress(done: number): void {
    if (this.startCount < 0 && done >= this.warm) {
      this.startCount = done;
      this.t0 = performance.now();
      this.cpu0 = process.cpuUsage();
    } else if (this.cpu0 && !this.seconds && done >= this.total) {
      this.seconds = (performance.now() - this.t0) / 1000;
      const cpu = process.cpuUsage(this.cpu0);
      this.cpuUs = cpu.user + cpu.system;
    }
  }
  result(): PhaseResult {
    if (!this.seconds) throw new Error('phase did not finish');
    const n = this.total - this.startCount;
    return { rate: n / this.seconds, cpuUsPerMsg: this.cpuUs / n };
  }
}

export async function waitFor(check: () => boolean, what: string): Promise<void> {
  if (!(await until(check, PHASE_TIMEOUT_MS))) throw new Error(`timed out waiting for ${what}`);
}

/** Sends `records` in BATCH-sized calls, IN_FLIGHT at a time; the first call alone, untimed (connections, metadata). */
export async function produceAll(driver: ClientDriver, topic: string, records: BenchRecord[]): Promise<PhaseResult> {
  const producer = await driver.producer();
  const meter = new Meter(BATCH, records.length);
  await producer.send(topic, records.slice(0, BATCH));
  let next = BATCH;
  let done = BATCH;
  meter.progress(done);
  const worker = async () => {
    while (next < records.length) {
      const batch = records.slice(next, next + BATCH);
      next += batch.length;
      await producer.send(topic, batch);
      meter.progress((done += batch.length));
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  await producer.close();
  return meter.result();
}

// ---- checks ------------------------------------------------------------------------------

export interface Check {
  client: string;
  check: string;
  ok: boolean;
  detail: string;
}

/** Where each key's records must land: Java's default partitioner, which kafkajs shares. */
export function expectedPartitionCounts(records: BenchRecord[]): number[] {
  const counts = new Array<number>(PARTITIONS).fill(0);
  for (const r of records) counts[partitionForKey(String(r.key), PARTITIONS)]!++;
  return counts;
}

export async function partitionCounts(admin: KafkaAdmin, topic: string): Promise<number[]> {
  const ranges = await admin.offsets(topic);
  return ranges.map((r) => Number(BigInt(r.high) - BigInt(r.low)));
}

/** Every record of `sent` exactly once in `received`, with its key, value and headers intact. */
export function sameRecords(sent: BenchRecord[], received: ReceivedRecord[]): { ok: boolean; detail: string } {
  const byId = new Map<string, BenchRecord>();
  for (const r of sent) byId.set(r.headers['message-id']!, r);
  const seen = new Set<string>();
  let duplicates = 0;
  let damaged = 0;
  for (const r of received) {
    const id = r.headers['message-id'] ?? '';
    const original = byId.get(id);
    if (seen.has(id)) duplicates++;
    seen.add(id);
    if (!original || !intact(original, r)) damaged++;
  }
  const missing = sent.length - [...seen].filter((id) => byId.has(id)).length;
  return {
    ok: !duplicates && !damaged && !missing,
    detail: `${received.length} received, ${missing} missing, ${duplicates} duplicates, ${damaged} with a changed key, value or header`,
  };
}

function intact(sent: BenchRecord, got: ReceivedRecord): boolean {
  const sameHeaders =
    Object.keys(sent.headers).length === Object.keys(got.headers).length &&
    Object.entries(sent.headers).every(([k, v]) => got.headers[k] === v);
  return sameHeaders && got.key?.toString() === String(sent.key) && got.value?.equals(sent.value) === true;
}

/** Each offset of each partition at most once. */
export function noDuplicateOffsets(received: ReceivedRecord[]): boolean {
  return new Set(received.map((r) => `${r.partition}:${r.offset}`)).size === received.length;
}

/** Per partition, the offset after the last record handed over. */
export function nextOffsets(received: ReceivedRecord[]): Map<number, bigint> {
  const next = new Map<number, bigint>();
  for (const r of received) {
    const after = BigInt(r.offset) + 1n;
    if (after > (next.get(r.partition) ?? -1n)) next.set(r.partition, after);
  }
  return next;
}

export async function committedOffsets(
  admin: KafkaAdmin,
  groupId: string,
  topic: string,
): Promise<Map<number, bigint>> {
  const rows = await admin.lag(groupId, [topic]);
  return new Map(rows.filter((r) => r.committed !== null).map((r) => [r.partition, BigInt(r.committed!)]));
}

export const describeOffsets = (m: Map<number, bigint>) =>
  [...m]
    .sort((a, b) => a[0] - b[0])
    .map(([p, o]) => `${p}:${o}`)
    .join(' ');

export function sameOffsets(a: Map<number, bigint>, b: Map<number, bigint>): boolean {
  return a.size === b.size && [...a].every(([p, o]) => b.get(p) === o);
}
