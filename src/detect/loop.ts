/**
 * The anomaly-detection stream processor: consumes metrics.samples in a consumer group (each
 * instance owns the services of its partitions), scores every sample, produces anomalies, and
 * snapshots each service's state to the compacted detector.state topic (same key and partition
 * count as metrics.samples). Offsets are committed only after a batch's anomalies, dead letters
 * and due snapshots are acknowledged by the broker.
 *
 * Restart: on every group join the latest snapshot of each service is read back; a service's
 * samples at or below its snapshot's offset are skipped (already in the state), later ones are
 * scored. A snapshot of another format version is ignored: that service relearns.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { AnomalyInput, DetectorStateInput, EcosystemEventInput, MetricSample } from '../../schemas/types.ts';
import { ecosystemEvent } from '../app/events.ts';
import {
  type BatchConsumer,
  type ConsumedBatch,
  type ConsumedRecord,
  DecodeError,
  deadLetterOf,
  type KafkaConnection,
  replayWindow,
  type TypedRecord,
} from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import { type EngineOptions, type EngineSnapshot, ServiceState, SNAPSHOT_FORMAT } from './engine.ts';
import { detectMetrics } from './metrics.ts';

export interface DetectLoopOptions extends EngineOptions {
  groupId: string;
  snapshotIntervalMs: number;
  maxServices: number;
}

interface Snapshot {
  partition: number;
  offset: number;
  state: EngineSnapshot;
}

export class DetectLoop {
  private readonly services = new Map<string, ServiceState>();
  private snapshots = new Map<string, Snapshot>();
  private readonly unsent = new Map<number, TypedRecord<'anomalies'>[]>();
  private consumer?: BatchConsumer;
  private restoring: Promise<void> = Promise.resolve();
  private crashed?: string;
  private running = false;

  private readonly kafka: KafkaConnection;
  private readonly log: Logger;
  private readonly opts: DetectLoopOptions;

  constructor(kafka: KafkaConnection, log: Logger, opts: DetectLoopOptions) {
    this.kafka = kafka;
    this.log = log;
    this.opts = opts;
  }

  get serviceCount(): number {
    return this.services.size;
  }

  /** Samples the detector of a service has learned from (0 if this instance does not hold it). */
  samplesOf(service: string): number {
    const d = this.services.get(service)?.detector.detectors[0];
    return d ? d.n : 0;
  }

  health(): { status: 'ok' | 'degraded' | 'stopped'; detail?: string } {
    if (this.crashed) return { status: 'degraded', detail: this.crashed };
    return this.running ? { status: 'ok', detail: `${this.services.size} services` } : { status: 'stopped' };
  }

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: this.opts.groupId, maxWaitTimeMs: 200 });
    this.consumer = consumer;
    consumer.onGroupJoin((assignment) => {
      const partitions = assignment[this.kafka.catalog.name('metrics.samples')] ?? [];
      this.restoring = this.restore(partitions);
    });
    consumer.onCrash((error, restarting) => {
      this.crashed = restarting ? undefined : error.message;
      this.log.error({ err: error, restarting }, 'detector consumer crashed');
    });
    await consumer.subscribe([this.kafka.catalog.name('metrics.samples')], { fromBeginning: true });
    await consumer.run((batch) => this.handle(batch), { partitionsConcurrently: 3 });
    this.running = true;
  }

  /** Stops consuming and snapshots every service held, so the next owner resumes where this one stopped. */
  async stop(): Promise<void> {
    this.running = false;
    await this.consumer?.stop();
    await this.flush([...this.services.values()]).catch((err: unknown) =>
      this.log.warn({ err }, 'final detector snapshot failed'),
    );
  }

  private async handle(batch: ConsumedBatch): Promise<void> {
    await this.restoring;
    // Anomalies of an earlier attempt at this partition whose produce failed: their samples are in
    // the state already (so they are skipped when fetched again), so they must go out first.
    const anomalies: TypedRecord<'anomalies'>[] = this.unsent.get(batch.partition) ?? [];
    this.unsent.delete(batch.partition);
    const dead: TypedRecord<'deadletter'>[] = [];
    const touched = new Set<string>();
    for (const record of batch.records) {
      const sample = await this.decode(record, dead);
      if (!sample) continue;
      const anomaly = this.scoreRecord(sample, record);
      touched.add(sample.service);
      if (anomaly) anomalies.push({ key: sample.service, value: anomaly });
    }
    const producer = await this.kafka.producer();
    try {
      if (anomalies.length) await producer.send('anomalies', anomalies);
    } catch (err) {
      this.unsent.set(batch.partition, anomalies);
      throw err;
    }
    if (dead.length) await producer.send('deadletter', dead);
    await this.flush(this.dueForSnapshot(touched));
    detectMetrics.samples.inc(batch.records.length);
    detectMetrics.services.set(this.services.size);
    await this.digest(anomalies.map((a) => a.value));
  }

  private async decode(record: ConsumedRecord, dead: TypedRecord<'deadletter'>[]): Promise<MetricSample | undefined> {
    try {
      return (await this.kafka.serde.decode('metrics.samples', record.value)).value;
    } catch (err) {
      if (!(err instanceof DecodeError) || err.retriable) throw err;
      dead.push({
        key: record.key,
        value: deadLetterOf(record, 'decode_error', `${err.reason}: ${err.message}`, { component: 'detect' }),
      });
      return undefined;
    }
  }

  /** Scores one decoded sample (skipping what a restored snapshot already contains). */
  scoreRecord(sample: MetricSample, record: Pick<ConsumedRecord, 'partition' | 'offset'>): AnomalyInput | undefined {
    const offset = Number(record.offset);
    const state = this.stateOf(sample.service, record.partition);
    if (state.partition === record.partition && offset <= state.offset) return undefined;
    state.partition = record.partition;
    state.offset = offset;
    const anomaly = state.score(sample);
    if (anomaly) detectMetrics.incidents.inc({ state: anomaly.state });
    return anomaly;
  }

  private stateOf(service: string, partition: number): ServiceState {
    let state = this.services.get(service);
    if (state) {
      // Map order doubles as recency order for eviction.
      this.services.delete(service);
      this.services.set(service, state);
      return state;
    }
    const snap = this.snapshots.get(service);
    state = snap ? ServiceState.fromJSON(service, snap.state, this.opts) : ServiceState.create(service, this.opts);
    if (snap) {
      state.partition = snap.partition;
      state.offset = snap.offset;
      state.changedSinceSnapshot = false;
      this.snapshots.delete(service);
    } else state.partition = partition;
    state.lastSnapshotAt = Date.now();
    this.services.set(service, state);
    this.evict();
    return state;
  }

  /** Beyond maxServices, the least recently seen service is snapshotted (in the background) and dropped. */
  private evict(): void {
    while (this.services.size > this.opts.maxServices) {
      const [service, state] = this.services.entries().next().value as [string, ServiceState];
      this.services.delete(service);
      void this.flush([state]).catch((err: unknown) =>
        this.log.warn({ err, service }, 'snapshot of an evicted service failed'),
      );
    }
  }

  /** Services of this batch whose last snapshot is older than the interval. */
  private dueForSnapshot(services: Set<string>): ServiceState[] {
    const now = Date.now();
    const due: ServiceState[] = [];
    for (const name of services) {
      const s = this.services.get(name);
      if (s?.changedSinceSnapshot && now - s.lastSnapshotAt >= this.opts.snapshotIntervalMs) due.push(s);
    }
    return due;
  }

  /** Writes snapshots, in requests of at most ~512 KB (the broker refuses batches over its message size). */
  private async flush(states: ServiceState[]): Promise<void> {
    const at = Date.now();
    let chunk: ServiceState[] = [];
    let records: TypedRecord<'detector.state'>[] = [];
    let bytes = 0;
    for (const s of states) {
      if (s.offset < 0 || !s.changedSinceSnapshot) continue;
      const value: DetectorStateInput = {
        service: s.service,
        format: SNAPSHOT_FORMAT,
        state: encodeState(s.toJSON()),
        sourcePartition: s.partition,
        sourceOffset: s.offset,
        at,
      };
      records.push({ key: s.service, value });
      chunk.push(s);
      bytes += value.state.length;
      if (bytes >= SNAPSHOT_REQUEST_BYTES) {
        await this.sendSnapshots(records, chunk, at);
        chunk = [];
        records = [];
        bytes = 0;
      }
    }
    if (records.length) await this.sendSnapshots(records, chunk, at);
  }

  /** A service counts as snapshotted once the broker has acknowledged its record. */
  private async sendSnapshots(
    records: TypedRecord<'detector.state'>[],
    states: ServiceState[],
    at: number,
  ): Promise<void> {
    await (await this.kafka.producer()).send('detector.state', records);
    for (const s of states) {
      s.changedSinceSnapshot = false;
      s.lastSnapshotAt = at;
    }
    detectMetrics.snapshots.inc(records.length);
  }

  /** Reads back the latest snapshot of every service and drops what this instance no longer owns. */
  private async restore(partitions: number[]): Promise<void> {
    const owned = new Set(partitions);
    for (const [service, state] of this.services) if (!owned.has(state.partition)) this.services.delete(service);
    // The new owner of a partition re-scores from its snapshot, and produces those anomalies itself.
    for (const partition of this.unsent.keys()) if (!owned.has(partition)) this.unsent.delete(partition);
    const latest = new Map<string, Snapshot>();
    // Right after topics are created the broker may not report offsets yet: retry a few times.
    for (let attempt = 1; ; attempt++) {
      try {
        latest.clear();
        await replayWindow(this.kafka, {
          topic: this.kafka.catalog.name('detector.state'),
          onRecords: async (records) => {
            for (const r of records) await this.readSnapshot(r, owned, latest);
          },
        });
        break;
      } catch (err) {
        if (attempt < 4) {
          await new Promise((r) => setTimeout(r, 500 * attempt));
          continue;
        }
        this.log.warn({ err }, 'could not read detector snapshots; affected services relearn');
        break;
      }
    }
    for (const [service, snap] of latest) if (!this.services.has(service)) this.snapshots.set(service, snap);
    this.log.info({ partitions, restored: latest.size }, 'detector state restored');
  }

  private async readSnapshot(r: ConsumedRecord, owned: Set<number>, latest: Map<string, Snapshot>): Promise<void> {
    const key = r.key?.toString('utf8');
    if (!key) return;
    if (!r.value) {
      latest.delete(key);
      return;
    }
    try {
      const { value } = await this.kafka.serde.decode('detector.state', r.value);
      if (value.format !== SNAPSHOT_FORMAT || !owned.has(value.sourcePartition)) return;
      latest.set(key, {
        partition: value.sourcePartition,
        offset: value.sourceOffset,
        state: decodeState(value.state),
      });
    } catch (err) {
      this.log.warn({ err: (err as Error).message, service: key }, 'unreadable detector snapshot ignored');
    }
  }

  /** OPEN and CLOSED records as ecosystem events, in one request per batch; a failure is logged, never fatal. */
  private async digest(anomalies: AnomalyInput[]): Promise<void> {
    const events = anomalies.filter((a) => a.state !== 'UPDATE').map((a) => ({ key: 'detect', value: digestEvent(a) }));
    if (!events.length) return;
    try {
      await (await this.kafka.producer()).send('ecosystem.events', events);
    } catch (err) {
      this.log.warn({ err, events: events.length }, 'could not publish anomaly digests');
    }
  }
}

function digestEvent(a: AnomalyInput): EcosystemEventInput {
  return ecosystemEvent({
    component: 'detect',
    kind: 'anomaly',
    severity: a.state === 'CLOSED' ? 'INFO' : a.score >= 0.9 ? 'CRITICAL' : 'WARNING',
    subject: a.service,
    message: a.explanation,
    data: {
      id: a.id,
      state: a.state,
      kind: a.kind ?? 'unknown',
      score: a.score.toFixed(3),
      metrics: a.metrics.join(','),
    },
  });
}

const SNAPSHOT_REQUEST_BYTES = 512 * 1024;

/** A snapshot's `state`: base64 of the gzipped JSON (a five-metric service: ~108 KB of JSON, ~47 KB gzipped). */
export function encodeState(state: EngineSnapshot): string {
  return gzipSync(JSON.stringify(state)).toString('base64');
}

export function decodeState(text: string): EngineSnapshot {
  return JSON.parse(gunzipSync(Buffer.from(text, 'base64')).toString('utf8')) as EngineSnapshot;
}
