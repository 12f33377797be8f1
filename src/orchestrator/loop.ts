/**
 * The orchestrator's Kafka side. Three consumers:
 * - metrics.samples in the group `<prefix>orchestrator`: instances split the services, each
 *   learning forecasts and the failure model from its own (a new group starts from the earliest
 *   retained sample: it is trained on replayed history before it acts);
 * - anomalies and ecosystem.events in a group of its own per instance, so every instance serves
 *   the whole anomaly window on the API; it acts only on the services it owns (whose metric
 *   partition it is assigned);
 * - action.results in a group of its own per instance, from its end: the executors' answers.
 * Conditions older than the horizon teach but trigger nothing. Every decision and every later
 * step of its lifecycle (lifecycle.ts) goes to orchestrator.actions (key: target); this process is
 * the executor of webhook actions, and answers them on action.results like any executor.
 */
import { hostname } from 'node:os';
import type { ActionResultInput, OrchestratorAction } from '../../schemas/index.ts';
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
import { ActionLifecycle, type LifecycleSettings } from './lifecycle.ts';
import type { Condition } from './policy.ts';
import { executeWebhook, type WebhookSettings } from './webhook.ts';

export interface OrchestratorLoopOptions {
  lookbackMs: number;
  /** Metric history replayed on every group join to rebuild the models (0: resume from committed offsets). */
  trainWindowMs: number;
  webhook: WebhookSettings;
  lifecycle: LifecycleSettings;
}

export class OrchestratorLoop {
  private metrics?: BatchConsumer;
  private feed?: BatchConsumer;
  private results?: BatchConsumer;
  readonly lifecycle: ActionLifecycle;
  private ticker?: NodeJS.Timeout;
  private readonly instance = `${hostname()}:${process.pid}`;
  private owned = new Set<number>();
  private metricPartitions = 0;
  private running = false;
  private crashed?: string;

  private readonly kafka: KafkaConnection;
  private readonly brain: Brain;
  private readonly log: Logger;
  private readonly events: EcosystemEvents;
  private readonly opts: OrchestratorLoopOptions;

  constructor(
    kafka: KafkaConnection,
    brain: Brain,
    log: Logger,
    events: EcosystemEvents,
    opts: OrchestratorLoopOptions,
  ) {
    this.kafka = kafka;
    this.brain = brain;
    this.log = log;
    this.events = events;
    this.opts = opts;
    this.lifecycle = new ActionLifecycle(opts.lifecycle);
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
    this.metrics = this.kafka.consumer({ groupId: this.kafka.groupId('orchestrator'), maxWaitTimeMs: 200 });
    this.metrics.onGroupJoin((a) => {
      this.owned = new Set(a[topic('metrics.samples')] ?? []);
      void this.rewind(topic('metrics.samples'), [...this.owned]);
    });
    this.feed = this.kafka.privateConsumer('orchestrator-feed', { maxWaitTimeMs: 200 });
    this.results = this.kafka.privateConsumer('orchestrator-results', { maxWaitTimeMs: 100 });
    for (const c of [this.metrics, this.feed, this.results]) {
      c.onCrash((error, restarting) => {
        this.crashed = restarting ? undefined : error.message;
        this.log.error({ err: error, restarting }, 'orchestrator consumer crashed');
      });
    }
    await this.metrics.subscribe([topic('metrics.samples')], { fromBeginning: true });
    await this.feed.subscribe([topic('anomalies'), topic('ecosystem.events')], { fromBeginning: true });
    // Answers to actions decided from now on: a new group starts at the topic's end.
    await this.results.subscribe([this.kafka.catalog.name('action.results')]);
    await this.metrics.run((b) => this.onMetrics(b));
    await this.feed.run((b) => this.onFeed(b));
    await this.results.run((b) => this.onResults(b));
    const { answerTimeoutMs, verifyAfterMs } = this.opts.lifecycle;
    const tickMs = Math.min(5000, Math.max(100, Math.min(answerTimeoutMs, verifyAfterMs) / 4));
    this.ticker = setInterval(
      () => void this.tick().catch((err) => this.log.warn({ err }, 'action check failed')),
      tickMs,
    );
    this.ticker.unref();
    this.running = true;
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.ticker) clearInterval(this.ticker);
    await Promise.allSettled([this.metrics?.stop(), this.feed?.stop(), this.results?.stop()]);
    await Promise.allSettled([this.feed?.disconnect(), this.results?.disconnect()]);
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

  /** Decides and audits; live decisions go to their executors. */
  async act(conditions: Condition[]): Promise<OrchestratorAction[]> {
    if (!conditions.length) return [];
    return this.publish(this.brain.decide(conditions));
  }

  /**
   * Writes decisions to orchestrator.actions (a live PROPOSED one is the request to its executor)
   * and follows each live one; this process then carries out the webhooks among them.
   */
  async publish(actions: OrchestratorAction[]): Promise<OrchestratorAction[]> {
    if (!actions.length) return [];
    try {
      await this.write(actions);
    } catch (err) {
      // Not audited, so not decided: the batch comes again and so does the condition.
      this.brain.policy.forget(actions.map((a) => a.id));
      throw err;
    }
    const now = Date.now();
    for (const a of actions) this.lifecycle.track(a, now);
    for (const a of actions) if (a.kind === 'webhook' && a.status === 'PROPOSED' && !a.dryRun) void this.runWebhook(a);
    return actions;
  }

  /** Executes a webhook and answers it on action.results, as RelayCore answers its actions. */
  private async runWebhook(action: OrchestratorAction): Promise<void> {
    const outcome = await executeWebhook(action, this.opts.webhook);
    const answer: ActionResultInput = {
      actionId: action.id,
      kind: action.kind,
      target: action.target,
      executor: 'webhook',
      instance: this.instance,
      status: outcome.status === 'EXECUTED' ? 'EXECUTED' : 'FAILED',
      detail: outcome.error ?? 'POSTed the action to the webhook',
      at: Date.now(),
    };
    try {
      await (await this.kafka.producer()).send('action.results', [{ key: action.id, value: answer }]);
    } catch (err) {
      this.log.warn({ err, action: action.id }, 'webhook answer not written; the action will show FAILED (no answer)');
    }
  }

  private async onResults(batch: ConsumedBatch): Promise<void> {
    const steps: OrchestratorAction[] = [];
    for (const r of batch.records) {
      try {
        const { value } = await this.kafka.serde.decode('action.results', r.value);
        steps.push(...this.lifecycle.onResult(value, Date.now()));
      } catch (err) {
        if (err instanceof DecodeError && !err.retriable) continue;
        throw err;
      }
    }
    if (steps.length) await this.write(steps);
  }

  /** Records the steps that are due (no answer in time, effects to check) and rolls back what did not help. */
  async tick(now = Date.now()): Promise<void> {
    const { steps, rollbacks } = this.lifecycle.due(now, (a, executedAt) => this.brain.effectOf(a, executedAt));
    if (steps.length) await this.write(steps);
    const undo = rollbacks.flatMap(({ action, why }) => this.brain.policy.rollback(action, why, now) ?? []);
    if (undo.length) await this.publish(undo);
  }

  /** Appends records to orchestrator.actions, then to the brain's view, the feed and the log. */
  private async write(records: OrchestratorAction[]): Promise<void> {
    const producer = await this.kafka.producer();
    await producer.send(
      'orchestrator.actions',
      records.map((a) => ({ key: a.target, value: a })),
    );
    this.brain.recordActions(records);
    for (const a of records) {
      if (a.kind === 'scale' && a.status === 'PROPOSED') continue;
      void this.events.publish({
        component: 'orchestrator',
        kind: 'action',
        severity: a.status === 'FAILED' || a.status === 'INEFFECTIVE' ? 'WARNING' : 'INFO',
        subject: a.target,
        message: `${a.kind} ${a.status}${a.dryRun ? ' (dry run)' : ''}: ${a.detail ?? a.reason}`,
        data: { id: a.id, kind: a.kind, status: a.status, trigger: a.trigger ?? '' },
      });
    }
    this.log.info(
      { actions: records.map((a) => ({ id: a.id, kind: a.kind, target: a.target, status: a.status })) },
      'orchestrator actions',
    );
  }
}
