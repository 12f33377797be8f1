import { bool, int, list, oneOf } from '../config/vars.ts';

/**
 * Topics a client may read when none are configured. `deadletter` is there for operators (with
 * API tokens, grant it only to theirs: it holds the raw bytes of whatever failed). Left out on
 * purpose: `messages.*` and `relay.routes` (they carry endpoint headers, which may hold
 * credentials) and `detector.state` (internal snapshots).
 */
export const DEFAULT_GATEWAY_TOPICS = [
  'metrics.samples',
  'anomalies',
  'delivery.outcomes',
  'training.events',
  'model.registry',
  'orchestrator.actions',
  'ecosystem.events',
  'deadletter',
];

function topicName(value: string): void {
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(value))
    throw new Error(`items must be topic names (letters, digits, '.', '_', '-'; "${value}" is not)`);
}

export const GATEWAY_ENV = {
  GATEWAY_TOPICS: list('GATEWAY_TOPICS', topicName, {
    description:
      'Topics WebSocket clients may read, comma-separated. A declared topic is named without the prefix (`anomalies`); any other name is a full topic name, served as JSON or text.',
    default: DEFAULT_GATEWAY_TOPICS,
  }),
  GATEWAY_CLIENT_BUFFER: int('GATEWAY_CLIENT_BUFFER', 10, 1_000_000, {
    description: 'Records queued for one slow client at most; past it the slow-client policy applies.',
    default: 5000,
  }),
  GATEWAY_SLOW_CLIENT: oneOf('GATEWAY_SLOW_CLIENT', ['drop', 'disconnect'], {
    description:
      'What a client whose buffer overflows gets: `drop` (its oldest records are dropped and it is told how many, and from which offsets) or `disconnect` (close code 4008).',
    default: 'drop',
  }),
  GATEWAY_HEARTBEAT_MS: int('GATEWAY_HEARTBEAT_MS', 1000, 600_000, {
    description: 'WebSocket ping interval; a peer that misses one pong is disconnected.',
    default: 30_000,
  }),
  GATEWAY_MAX_CLIENTS: int('GATEWAY_MAX_CLIENTS', 1, 1_000_000, {
    description: 'WebSocket and SSE clients served at once.',
    default: 10_000,
  }),
  GATEWAY_MAX_SUBSCRIPTIONS: int('GATEWAY_MAX_SUBSCRIPTIONS', 1, 1000, {
    description: 'Subscriptions one client may hold.',
    default: 32,
  }),
  GATEWAY_FRAME_MS: int('GATEWAY_FRAME_MS', 1, 1000, {
    description:
      'Records for a client are coalesced for at most this long, then sent as one WebSocket frame (a JSON array of messages): each client gets at most one frame per tick however fast records arrive.',
    default: 10,
  }),
  GATEWAY_FRAME_BYTES: int('GATEWAY_FRAME_BYTES', 1024, 16 * 1024 * 1024, {
    description:
      'A frame is sent before its tick once this many bytes wait for it; larger batches are cut into frames of about this size (a record larger than this goes alone).',
    default: 256 * 1024,
  }),
  GATEWAY_PERMESSAGE_DEFLATE: bool('GATEWAY_PERMESSAGE_DEFLATE', {
    description:
      'Offer WebSocket compression (permessage-deflate). Off by default: each connection compresses its own copy of every frame, so the shared frame buffers no longer save any work.',
    default: false,
  }),
  GATEWAY_PARTITION_CHECK_MS: int('GATEWAY_PARTITION_CHECK_MS', 1000, 3_600_000, {
    description:
      'How often each mirrored topic is checked for new partitions; new ones are mirrored from their start without a restart.',
    default: 10_000,
  }),
  GATEWAY_MAX_REPLAYS: int('GATEWAY_MAX_REPLAYS', 1, 1000, {
    description: 'Replays (subscriptions starting in the past) read from Kafka at once; more wait their turn.',
    default: 16,
  }),
} as const;
