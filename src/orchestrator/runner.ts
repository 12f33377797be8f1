/**
 * The orchestrator's Kafka side. Two consumers:
 * - metrics.samples in the group `<prefix>orchestrator`: instances split the services, each
 *   learning forecasts and the failure model from its own (a new group starts from the earliest
 *   retained sample: it is trained on replayed history before it acts);
 * - anomalies and ecosystem.events in a group of its own per instance, so every instance serves
 *   the whole anomaly window on the API; it acts only on the services it owns (whose metric
 *   partition it is assigned).
 * Conditions older than the horizon teach but trigger nothing. Every decision goes to
 * orchestrator.actions (key: target); webhook actions are executed here when not in dry-run.
 */
import { randomUUID } from 'node:crypto';
import type { OrchestratorAction } from '../../schemas/types.ts';
import type { EcosystemEvents } from '../app/events.ts';
import {
  type BatchConsumer,
  type ConsumedBatch,
  DecodeError,
  type KafkaConnection,
  partitionForKey,
} from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import type { Brain } from './brain.ts';
import type { Condition } from './policy.ts';
import { executeWebhook, type WebhookSettings } from './webhook.ts';

export interface RunnerOptions {
  groupPrefix: string;
  lookbackMs: number;
  /** Metric history replayed on every group join to rebuild the models (0: resume from committed offsets). */
  trainWindowMs: number;
  webhook: WebhookSettings;
}

export class OrchestratorRunner {
  private metrics?: BatchConsumer;
  private feed?: BatchConsumer;
  private readonly feedGroup: string;
  private owned = new Set<number>();
  private metricPartitions = 0;
  private running = false;
  private crashed?: string;

  private readonly kafka: KafkaConnection;
  private readonly brain: Brain;
  private readonly log: Logger;
  private readonly events: EcosystemEvents;
  private readonly opts: RunnerOptions;

  constructor(kafka: KafkaConnection, brain: Brain, log: Logger, events: EcosystemEvents, opts: RunnerOptions) {
    this.kafka = kafka;
    this.brain = brain;
    this.log = log;
    this.events = events;
    this.opts = opts;
    this.feedGroup = `${opts.groupPrefix}orchestrator-feed-${randomUUID()}`;
  }

  health(): { status: 'ok' | 'degraded' | 'stopped'; detail?: string } {
    if (this.crashed) return { status: 'degraded', detail: this.crashed };
    return this.running
      ? { status: 'ok', detail: `${this.brain.serviceNames().length} services, ${this.brain.anomalies.size} incidents` }
      : { status: 'stopped' };
  }

  async start(): Promise<void> {
    const topic = (k: 'metrics.samples' | 'anomalies' | 'ecosystem.events') => this.kafka.catalog.name(k);
    this.metricPartitions = await (await this.kafka.admin()).partitionCount(topic('metrics.samples'));
    this.metrics = this.kafka.consumer({ groupId: `${this.opts.groupPrefix}orchestrator`, maxWaitTimeMs: 200 });
    this.metrics.onGroupJoin((a) => {
      this.owned = new Set(a[topic('metrics.samples')] ?? []);
      void this.rewind(topic('metrics.samples'), [...this.owned]);
    });
    this.feed = this.kafka.consumer({ groupId: this.feedGroup, maxWaitTimeMs: 200 });
    for (const c of [this.metrics, this.feed]) {
      c.onCrash((error, restarting) => {
        this.crashed = restarting ? undefined : error.message;
        this.log.error({ err: error, restarting }, 'orchestrator consumer crashed');
      });
    }
    await this.metrics.subscribe([topic('metrics.samples')], { fromBeginning: true });
    await this.feed.subscribe([topic('anomalies'), topic('ecosystem.events')], { fromBeginning: true });
    await this.metrics.run((b) => this.onMetrics(b));
    await this.feed.run((b) => this.onFeed(b));
    this.running = true;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.allSettled([this.metrics?.stop(), this.feed?.stop()]);
    await this.feed?.disconnect().catch(() => undefined);
    await (await this.kafka.admin()).deleteGroup(this.feedGroup);
  }

  /**
   * The models live in memory: after a start or a rebalance, the assigned partitions are replayed
   * from `trainWindowMs` ago (samples already learned are skipped by the brain; conditions older
   * than the horizon trigger nothing), so forecasts and the failure model are rebuilt by replay.
   */
  private async rewind(topic: string, partitions: number[]): Promise<void> {
    if (!this.opts.trainWindowMs || !partitions.length) return;
    try {
      const offsets = await (await this.kafka.admin()).offsetsForTime(topic, Date.now() - this.opts.trainWindowMs);
      for (const o of offsets) if (partitions.includes(o.partition)) this.metrics?.seek(topic, o.partition, o.offset);
    } catch (err) {
      this.log.warn({ err }, 'could not rewind the metric history; models learn from new samples only');
    }
  }

  /** Owned: this instance is assigned the metrics partition of the service (or has no assignment to go by). */
  owns(service: string): boolean {
    if (!this.owned.size || !this.metricPartitions) return true;
    return this.owned.has(partitionForKey(service, this.metricPartitions));
  }

  private async onMetrics(batch: ConsumedBatch): Promise<void> {
    const conditions: Condition[] = [];
    const recent = Date.now() - this.brain.settings.horizonMs;
    for (const r of batch.records) {
      let sample;
      try {
        sample = (await this.kafka.serde.decode('metrics.samples', r.value)).value;
      } catch (err) {
        // The detector dead-letters undecodable samples; here they are only skipped.
        if (err instanceof DecodeError && !err.retriable) continue;
        throw err;
      }
      const raised = this.brain.observeSample(sample);
      if (sample.timestamp >= recent) conditions.push(...raised);
    }
    await this.act(conditions);
  }

  private async onFeed(batch: ConsumedBatch): Promise<void> {
    const keep = Date.now() - this.opts.lookbackMs;
    const recent = Date.now() - this.brain.settings.horizonMs;
    const conditions: Condition[] = [];
    const isAnomaly = batch.topic === this.kafka.catalog.name('anomalies');
    for (const r of batch.records) {
      if (r.timestamp < keep) continue;
      try {
        if (isAnomaly) {
          const { value } = await this.kafka.serde.decode('anomalies', r.value);
          const c = this.brain.observeAnomaly(value);
          if (r.timestamp >= recent && this.owns(value.service)) conditions.push(c);
        } else {
          const { value } = await this.kafka.serde.decode('ecosystem.events', r.value);
          const c = this.brain.observeEvent(value);
          if (c && r.timestamp >= recent) conditions.push(c);
        }
      } catch (err) {
        if (err instanceof DecodeError && !err.retriable) continue;
        throw err;
      }
    }
    await this.act(conditions);
  }

  /** Decides, executes webhooks (outside dry-run) and audits every action. */
  async act(conditions: Condition[]): Promise<OrchestratorAction[]> {
    if (!conditions.length) return [];
    return this.publish(this.brain.decide(conditions));
  }

  /** Executes webhooks (outside dry-run) and writes the actions to orchestrator.actions. */
  async publish(actions: OrchestratorAction[]): Promise<OrchestratorAction[]> {
    for (const a of actions) {
      if (a.kind === 'webhook' && !a.dryRun && a.status !== 'SKIPPED' && a.status !== 'RATE_LIMITED')
        Object.assign(a, await executeWebhook(a, this.opts.webhook));
    }
    if (!actions.length) return [];
    const producer = await this.kafka.producer();
    try {
      await producer.send(
        'orchestrator.actions',
        actions.map((a) => ({ key: a.target, value: a })),
      );
    } catch (err) {
      // Not audited, so not decided: the batch comes again and so does the condition.
      this.brain.policy.forget(actions.map((a) => a.id));
      throw err;
    }
    this.brain.recordActions(actions);
    for (const a of actions) {
      if (a.kind === 'scale' && a.status === 'PROPOSED') continue;
      void this.events.publish({
        component: 'orchestrator',
        kind: 'action',
        severity: a.status === 'FAILED' ? 'WARNING' : 'INFO',
        subject: a.target,
        message: `${a.kind} ${a.status}${a.dryRun ? ' (dry run)' : ''}: ${a.reason}`,
        data: { id: a.id, kind: a.kind, status: a.status, trigger: a.trigger ?? '' },
      });
    }
    this.log.info(
      { actions: actions.map((a) => ({ id: a.id, kind: a.kind, target: a.target, status: a.status })) },
      'orchestrator decisions',
    );
    return actions;
  }
}
