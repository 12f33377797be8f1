/**
 * Every Kafka topic of AutoMatrix, declared once. Startup creates what is missing and reports
 * drift; the README's topic table and the typed producers/consumers derive from this list.
 * Real topic names are `KAFKA_TOPIC_PREFIX` + the key below (default prefix `automatrix.`).
 */
import type { SchemaTypes } from '../schemas/types.ts';

export type SchemaName = keyof SchemaTypes;
export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';

export interface TopicDeclaration {
  /** Avro schema of the values (file in schemas/, registered under `<topic>-value`). */
  readonly schema: SchemaName;
  readonly partitions: number;
  readonly replicationFactor: number;
  /** -1 keeps records forever (compacted topics). */
  readonly retentionMs: number;
  readonly cleanupPolicy: CleanupPolicy;
  /** What the record key is. */
  readonly key: string;
  readonly description: string;
  /** Further topic configs, checked for drift like the rest. */
  readonly configs?: Readonly<Record<string, string>>;
  /**
   * String fields that carry JSON text: a producer sending plain JSON may give them as a JSON object
   * or array, which is read as its JSON text (the HTTP API accepts them that way too).
   */
  readonly jsonTextFields?: readonly string[];
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const COMPACTED = { 'min.cleanable.dirty.ratio': '0.1', 'segment.ms': String(HOUR) } as const;

const inbound = (tier: string): TopicDeclaration => ({
  schema: 'relay-message',
  partitions: 6,
  replicationFactor: 1,
  retentionMs: 7 * DAY,
  cleanupPolicy: 'delete',
  key: 'ordering key (messages with the same key are delivered in order)',
  description: `Inbound messages for RelayCore, ${tier} priority.`,
  jsonTextFields: ['payload'],
});

export const TOPICS = {
  'messages.high': inbound('high'),
  'messages.normal': inbound('normal'),
  'messages.low': inbound('low'),
  'delivery.outcomes': {
    schema: 'delivery-outcome',
    partitions: 6,
    replicationFactor: 1,
    retentionMs: 7 * DAY,
    cleanupPolicy: 'delete',
    key: 'endpoint id',
    description: 'One record per delivery attempt; the training data of the learned routing policy.',
  },
  deadletter: {
    schema: 'dead-letter',
    partitions: 3,
    replicationFactor: 1,
    retentionMs: 30 * DAY,
    cleanupPolicy: 'delete',
    key: 'original record key',
    description: 'Records that could not be decoded or delivered, with the reason and the original bytes.',
  },
  'metrics.samples': {
    schema: 'metric-sample',
    partitions: 6,
    replicationFactor: 1,
    retentionMs: 14 * DAY,
    cleanupPolicy: 'delete',
    key: 'service name',
    description:
      'Metric samples of monitored services: the input of anomaly detection, forecasting and the performance model.',
  },
  anomalies: {
    schema: 'anomaly',
    partitions: 3,
    replicationFactor: 1,
    retentionMs: 30 * DAY,
    cleanupPolicy: 'delete',
    key: 'service name',
    description:
      'Anomalies found online, with score, expected range and explanation; one incident opens and closes once.',
  },
  'training.events': {
    schema: 'training-event',
    partitions: 3,
    replicationFactor: 1,
    retentionMs: 7 * DAY,
    cleanupPolicy: 'delete',
    key: 'job id',
    description: 'Live progress of NeuroWeaver training jobs (per trial and epoch).',
  },
  'retrain.requests': {
    schema: 'retrain-request',
    partitions: 3,
    replicationFactor: 1,
    retentionMs: DAY,
    cleanupPolicy: 'delete',
    key: 'request id',
    description:
      'Retraining requests to NeuroWeaver (RelayCore optimize, the API of another instance): one NeuroWeaver instance takes each.',
  },
  'retrain.replies': {
    schema: 'retrain-reply',
    partitions: 3,
    replicationFactor: 1,
    retentionMs: DAY,
    cleanupPolicy: 'delete',
    key: 'request id',
    description: "NeuroWeaver's answers to retraining requests: QUEUED, then FINISHED or FAILED; or REFUSED.",
  },
  'model.registry': {
    schema: 'model-version',
    partitions: 1,
    replicationFactor: 1,
    retentionMs: -1,
    cleanupPolicy: 'compact',
    key: '`<model>/<version>`',
    description:
      'Model versions and their status (champion, candidate, ...): the model registry, read back at startup.',
    configs: COMPACTED,
  },
  'model.artifacts': {
    schema: 'model-artifact',
    partitions: 1,
    replicationFactor: 1,
    retentionMs: -1,
    cleanupPolicy: 'compact',
    key: '`<model>/<version>/<chunk>` (null value deletes)',
    description:
      'Model artifacts in chunks, published with each version, so any instance serves the champion without a shared disk (MODEL_SAVE_PATH is a cache).',
    configs: COMPACTED,
  },
  'orchestrator.actions': {
    schema: 'orchestrator-action',
    partitions: 3,
    replicationFactor: 1,
    retentionMs: 90 * DAY,
    cleanupPolicy: 'delete',
    key: 'target',
    description:
      'Audit log of every AI Orchestrator decision and each step of its lifecycle (PROPOSED, EXECUTED or FAILED, VERIFIED or INEFFECTIVE); a live PROPOSED action is the request to its executor.',
  },
  'action.results': {
    schema: 'action-result',
    partitions: 3,
    replicationFactor: 1,
    retentionMs: 30 * DAY,
    cleanupPolicy: 'delete',
    key: 'action id',
    description:
      "Executors' answers to orchestrator actions (RelayCore, NeuroWeaver, the webhook caller): EXECUTED or FAILED, with what was done.",
  },
  'ecosystem.events': {
    schema: 'ecosystem-event',
    partitions: 3,
    replicationFactor: 1,
    retentionMs: 3 * DAY,
    cleanupPolicy: 'delete',
    key: 'component',
    description: 'The ecosystem feed: component status, breaker transitions, anomaly, training and action digests.',
  },
  'relay.routes': {
    schema: 'route',
    partitions: 1,
    replicationFactor: 1,
    retentionMs: -1,
    cleanupPolicy: 'compact',
    key: 'route name (null value deletes)',
    description: 'RelayCore routes changed at run time, shared by every RelayCore instance.',
    configs: COMPACTED,
  },
  'detector.state': {
    schema: 'detector-state',
    partitions: 6,
    replicationFactor: 1,
    retentionMs: -1,
    cleanupPolicy: 'compact',
    key: 'service name (same partitioning as metrics.samples)',
    description: 'Snapshots of the anomaly detector state per service, so a restart resumes without relearning.',
    configs: COMPACTED,
  },
} as const satisfies Record<string, TopicDeclaration>;

export type TopicKey = keyof typeof TOPICS;
export type TopicSchema<K extends TopicKey> = (typeof TOPICS)[K]['schema'];
/** The decoded value type of a topic. */
export type TopicValue<K extends TopicKey> = SchemaTypes[TopicSchema<K>];

export const TOPIC_KEYS = Object.keys(TOPICS) as TopicKey[];

/** The ecosystem feed: what the gateway's `WS /api/v2/ws/ecosystem` and `GET /api/v2/ecosystem/live` carry. */
export const ECOSYSTEM_TOPICS: TopicKey[] = [
  'ecosystem.events',
  'anomalies',
  'training.events',
  'orchestrator.actions',
];

/** Kafka topic configs of a declaration, as the broker reports them. */
export function topicConfigs(decl: TopicDeclaration): Record<string, string> {
  return {
    'cleanup.policy': decl.cleanupPolicy,
    'retention.ms': String(decl.retentionMs),
    ...decl.configs,
  };
}
