import { int, list, oneOf } from '../config/vars.ts';

/**
 * Topics a client may read when none are configured. Left out on purpose: `messages.*` and
 * `relay.routes` (they carry endpoint headers, which may hold credentials), `deadletter` (raw
 * bytes of anything) and `detector.state` (internal snapshots).
 */
export const DEFAULT_GATEWAY_TOPICS = [
  'metrics.samples',
  'anomalies',
  'delivery.outcomes',
  'training.events',
  'model.registry',
  'orchestrator.actions',
  'ecosystem.events',
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
  GATEWAY_MAX_REPLAYS: int('GATEWAY_MAX_REPLAYS', 1, 1000, {
    description: 'Replays (subscriptions starting in the past) read from Kafka at once; more wait their turn.',
    default: 16,
  }),
} as const;
