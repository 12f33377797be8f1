/** RelayCore's environment variables, spread into ENV (src/config/index.ts). */
import { bool, ConfigError, type EnvVar, int, num, str } from '../config/vars.ts';

export const TIERS = ['high', 'normal', 'low'] as const;
export type Tier = (typeof TIERS)[number];

/** `high=8,normal=3,low=1`: the share of delivery slots each tier gets while all three have work. */
export function parseTierWeights(raw: string): Record<Tier, number> {
  const weights: Record<Tier, number> = { high: 8, normal: 3, low: 1 };
  for (const item of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [tier, value] = item.split('=').map((s) => s.trim());
    if (!(TIERS as readonly string[]).includes(tier ?? ''))
      throw new Error(`tiers must be among ${TIERS.join(', ')} ("${item}" is not)`);
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || n > 1000)
      throw new Error(`each weight must be a number above 0 and at most 1000 ("${item}" is not)`);
    weights[tier as Tier] = n;
  }
  return weights;
}

/** `orders` (every tier) or `high=orders,low=bulk`: the route of a message that names none. */
export function parseDefaultRoutes(raw: string): Partial<Record<Tier, string>> {
  const out: Partial<Record<Tier, string>> = {};
  for (const item of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const parts = item.split('=').map((s) => s.trim());
    if (parts.length === 1) {
      for (const t of TIERS) out[t] ??= parts[0]!;
      continue;
    }
    const [tier, route] = parts;
    if (!(TIERS as readonly string[]).includes(tier ?? '') || !route)
      throw new Error(
        `items must be a route name or tier=route with a tier among ${TIERS.join(', ')} ("${item}" is not)`,
      );
    out[tier as Tier] = route;
  }
  return out;
}

/** RelayCore's consumer group prefix: RELAY_GROUP_ID, else `relay` under the topic prefix. */
export const relayGroupId = (config: { RELAY_GROUP_ID?: string; KAFKA_TOPIC_PREFIX: string }): string =>
  config.RELAY_GROUP_ID ?? `${config.KAFKA_TOPIC_PREFIX}relay`;

function custom<T>(name: string, description: string, defaultRaw: string, parse: (raw: string) => T): EnvVar<T> {
  return {
    name,
    description,
    defaultText: defaultRaw,
    parse(raw) {
      try {
        return parse(raw === undefined || raw.trim() === '' ? defaultRaw : raw.trim());
      } catch (err) {
        throw new ConfigError(name, `${(err as Error).message}, got "${raw}"`);
      }
    },
  };
}

export const RELAY_ENV = {
  ROUTES_FILE: str('ROUTES_FILE', {
    description:
      'RelayCore: JSON file of routes that seeds the `relay.routes` topic at start (routes already in the topic win). Unset: routes come from the topic and the API only.',
  }),
  RELAY_GROUP_ID: str('RELAY_GROUP_ID', {
    description:
      'RelayCore: consumer group prefix shared by every RelayCore process of a deployment (one group per tier: `<RELAY_GROUP_ID>.high`, ...). The default is scoped by the topic prefix, so deployments sharing a broker never share a group.',
    defaultText: '`<KAFKA_TOPIC_PREFIX>relay`',
  }),
  RELAY_AUTOSTART: bool('RELAY_AUTOSTART', {
    description: 'RelayCore: start consuming when the process starts (else wait for `POST /api/v2/relaycore/start`).',
    default: true,
  }),
  RELAY_DEFAULT_ROUTES: custom(
    'RELAY_DEFAULT_ROUTES',
    'RelayCore: route of a message that names none: one route name for every tier, or `tier=route` items (`high=orders,low=bulk`).',
    'default',
    parseDefaultRoutes,
  ),
  RELAY_TIER_WEIGHTS: custom(
    'RELAY_TIER_WEIGHTS',
    'RelayCore: share of delivery slots per tier while several tiers wait (weighted fair, so low still progresses).',
    'high=8,normal=3,low=1',
    parseTierWeights,
  ),
  RELAY_MAX_INFLIGHT: int('RELAY_MAX_INFLIGHT', 1, 100_000, {
    description: 'RelayCore: deliveries in flight at once in this process, across tiers.',
    default: 512,
  }),
  RELAY_MAX_UNCOMMITTED: int('RELAY_MAX_UNCOMMITTED', 1, 1_000_000, {
    description:
      "RelayCore: messages taken from the inbound tiers whose offsets are not committed yet, at most, across tiers. A crashed process's messages are delivered again from the committed offsets, so at most this many are delivered twice.",
    default: 2048,
  }),
  RELAY_NO_ENDPOINT_MAX_WAIT_MS: int('RELAY_NO_ENDPOINT_MAX_WAIT_MS', 0, 86_400_000, {
    description:
      'RelayCore: while no endpoint of a route is available (every breaker open, drained or forced open), its messages wait, and the partitions they came from pause, until a breaker probe succeeds; a message still waiting after this long is dead-lettered as `no_endpoint`. 0: dead-letter at once.',
    default: 300_000,
  }),
  RELAY_RETRY_BACKOFF_MS: int('RELAY_RETRY_BACKOFF_MS', 0, 60_000, {
    description: 'RelayCore: base of the exponential backoff (with jitter) between attempts.',
    default: 50,
  }),
  RELAY_EXPLORATION: num('RELAY_EXPLORATION', 0, 0.5, {
    description:
      'RelayCore `learned` policy: share of decisions that try a random endpoint, so every endpoint stays measured.',
    default: 0.01,
  }),
  RELAY_SHED_THRESHOLD: num('RELAY_SHED_THRESHOLD', 0.05, 1, {
    description:
      'RelayCore `learned` policy: predicted failure probability above which an endpoint is shed before its breaker would open.',
    default: 0.25,
  }),
  RELAY_HTTP_CONNECTIONS: int('RELAY_HTTP_CONNECTIONS', 1, 10_000, {
    description: 'RelayCore: keep-alive connections per HTTP endpoint origin.',
    default: 64,
  }),
  RELAY_OPTIMIZE_ANSWER_MS: int('RELAY_OPTIMIZE_ANSWER_MS', 100, 600_000, {
    description:
      'RelayCore: how long `POST /relaycore/optimize` waits for a NeuroWeaver instance to accept its retraining request before answering 503.',
    default: 15_000,
  }),
  RELAY_WAIT_TIMEOUT_MS: int('RELAY_WAIT_TIMEOUT_MS', 100, 600_000, {
    description: 'RelayCore: longest wait of `POST /relaycore/message?wait=true` for the delivery outcome.',
    default: 30_000,
  }),
} as const;
