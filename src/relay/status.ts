/** The shape of `GET /relaycore/status` (its TypeBox schema is its documentation under /docs) and the per-route part of it. */

import { type Static, Type } from '@fastify/type-provider-typebox';
import type { Route } from '../../schemas/types.ts';
import { Nullable } from '../api/schema.ts';
import { EvaluationSchema } from '../shared/index.ts';
import type { RouteRuntime } from './loop.ts';
import { redactTarget } from './redact.ts';

const PerTier = <T extends Parameters<typeof Type.Object>[0][string]>(t: T) =>
  Type.Object({ high: t, normal: t, low: t });

const Score = Type.Object(
  {
    basis: Type.String({
      description:
        'The rule ranking the endpoint now: the route policy, or p2c-peak-ewma for `learned` until it has predictions (no model yet).',
    }),
    score: Nullable(
      Type.Number({
        description:
          'The cost the policy ranks by; the lowest is chosen. learned: (latency x (1 + in-flight / loadScale) + P(fail) x (backoff + best latency + failureCostMs)) / weight; p2c-peak-ewma: peak-EWMA x (in-flight + 1) / weight; least-inflight: (in-flight + 1) / weight; round-robin: null (turns by weight).',
      }),
    ),
    predictedLatencyMs: Nullable(
      Type.Number({ description: 'learned: predicted attempt latency, never below the 1 s latency EWMA.' }),
    ),
    failureProbability: Nullable(
      Type.Number({
        description:
          'learned: predicted probability the attempt fails or times out, never below the 2 s failure share.',
      }),
    ),
    predictedAt: Nullable(
      Type.Number({
        description: 'learned: when these predictions were made (epoch ms; the last batch scored on the route).',
      }),
    ),
    peakEwmaMs: Type.Number({ description: 'The decayed peak-EWMA latency.' }),
    inflight: Type.Integer(),
  },
  { description: "What the route's policy thinks of the endpoint now." },
);

const Stats = Type.Object({
  inflight: Type.Integer(),
  attempts: Type.Integer(),
  delivered: Type.Integer(),
  failed: Type.Integer(),
  timeouts: Type.Integer(),
  rejected: Type.Integer(),
  shed: Type.Integer(),
  latencyEwmaMs: Type.Number({ description: '1 s EWMA.' }),
  peakEwmaMs: Type.Number(),
  p50Ms: Nullable(Type.Number()),
  p99Ms: Nullable(Type.Number()),
  errorRate: Type.Number({ description: '2 s EWMA of failed attempts.' }),
  errorRateLast16: Type.Number({ description: 'Failed share of the last 16 attempts.' }),
  ratePerS: Type.Number(),
  lastFailureAt: Nullable(Type.Number()),
});

const BreakerState = Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half-open')]);

const EndpointStatus = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('HTTP'), Type.Literal('KAFKA')]),
  target: Type.String(),
  weight: Type.Number({ description: 'Configured weight.' }),
  effectiveWeight: Type.Number({ description: "Configured weight x the orchestrator's factor." }),
  state: Type.Union([BreakerState, Type.Literal('forced-open'), Type.Literal('drained')], {
    description: 'The breaker state, unless an orchestrator control overrides it.',
  }),
  breaker: BreakerState,
  shedding: Type.Boolean({ description: 'learned: skipped for a predicted failure probability above shedThreshold.' }),
  controls: Type.Object({
    drained: Type.Boolean(),
    weightFactor: Type.Number(),
    forcedOpenUntil: Nullable(Type.Number()),
    actions: Type.Array(Type.String()),
  }),
  stats: Stats,
  score: Score,
});

export const LearnedState = Type.Object(
  {
    model: Nullable(Type.String({ description: 'The routing model version learned routes rank with.' })),
    fallback: Nullable(
      Type.Literal('p2c-peak-ewma', {
        description: 'Set while learned routes rank by p2c-peak-ewma instead of a model (see reason).',
      }),
    ),
    reason: Nullable(Type.String({ description: 'Why learned routes run on the fallback.' })),
  },
  { description: 'What the `learned` policy runs on now: a model, or the p2c-peak-ewma fallback and why.' },
);
export type LearnedStateBody = Static<typeof LearnedState>;

const Outage = Type.Object(
  {
    since: Type.Number({ description: 'When the route ran out of available endpoints (epoch ms).' }),
    waiting: Type.Integer({ description: 'Messages waiting for an endpoint now (their partitions are paused).' }),
    waited: Type.Integer({ description: 'Messages that waited in this outage so far.' }),
    expired: Type.Integer({
      description: 'Of those, dead-lettered as no_endpoint after RELAY_NO_ENDPOINT_MAX_WAIT_MS.',
    }),
    maxWaitMs: Type.Integer({ description: 'RELAY_NO_ENDPOINT_MAX_WAIT_MS.' }),
  },
  {
    description:
      'Set while no endpoint of the route is available: its messages wait (and their partitions pause) until a breaker probe succeeds.',
  },
);

const RouteStatus = Type.Object({
  name: Type.String(),
  policy: Type.String(),
  maxAttempts: Type.Integer(),
  settings: Type.Record(Type.String(), Type.String()),
  updatedAt: Type.Number(),
  decisions: Type.Integer(),
  decisionUs: Nullable(
    Type.Number({ description: 'Mean cost of a routing decision (µs), batched inference included.' }),
  ),
  outage: Nullable(Outage),
  learned: Nullable(LearnedState),
  endpoints: Type.Array(EndpointStatus),
});

export const RelayStatus = Type.Object(
  {
    running: Type.Boolean(),
    groupId: Type.String(),
    slots: Type.Object({
      capacity: Type.Integer(),
      inUse: Type.Integer(),
      waiting: PerTier(Type.Integer()),
      granted: PerTier(Type.Integer()),
    }),
    uncommitted: Type.Object(
      {
        capacity: Type.Integer(),
        inUse: Type.Integer(),
        waiting: Type.Integer(),
        pausedPartitions: Type.Array(Type.Object({ topic: Type.String(), partition: Type.Integer() }), {
          description: 'Partitions not fetched while some of their messages wait for a route without endpoints.',
        }),
      },
      {
        description:
          'Records taken from Kafka and not yet committed (RELAY_MAX_UNCOMMITTED), and handlers waiting for room',
      },
    ),
    counters: Type.Object({
      consumed: Type.Integer(),
      delivered: Type.Integer(),
      deadLettered: Type.Integer(),
      attempts: Type.Integer(),
      retries: Type.Integer(),
      outcomes: Type.Integer({ description: 'DeliveryOutcome records written (acknowledged by the broker).' }),
    }),
    model: Type.Object(
      {
        version: Nullable(
          Type.String({
            description: 'The routing model version learned routes use; null: none yet (they behave as p2c-peak-ewma).',
          }),
        ),
        champion: Nullable(
          Type.String({
            description:
              "The champion in NeuroWeaver's registry (differs from version only while it loads, or if it does not).",
          }),
        ),
        createdAt: Nullable(Type.Number()),
        note: Nullable(Type.String({ description: "The promotion gate's reason." })),
        rows: Nullable(Type.Integer({ description: 'Outcomes it was trained and evaluated on.' })),
        evaluation: Nullable(EvaluationSchema),
        error: Nullable(
          Type.String({ description: 'Why the champion is not serving, or why the registry is not followed.' }),
        ),
      },
      { description: "The routing model, followed from NeuroWeaver's model registry." },
    ),
    lag: PerTier(
      Type.Object({
        total: Type.Integer(),
        partitions: Type.Array(
          Type.Object({
            partition: Type.Integer(),
            committed: Nullable(Type.String()),
            high: Type.String(),
            lag: Type.Integer(),
          }),
        ),
      }),
    ),
    routes: Type.Array(RouteStatus),
    recentActions: Type.Array(
      Type.Object({
        id: Type.String(),
        kind: Type.String(),
        route: Type.String(),
        endpoint: Type.String(),
        at: Type.Number(),
        detail: Type.String(),
      }),
    ),
  },
  {
    examples: [
      {
        running: true,
        groupId: 'automatrix.relay',
        model: {
          version: 'v20261127-101500-3fa2',
          champion: 'v20261127-101500-3fa2',
          createdAt: 1795774500000,
          note: 'beats the champion: ...',
          rows: 48210,
          evaluation: {
            holdoutRows: 9642,
            network: { combined_loss: 0.31, latency_mae_log: 0.27, failure_logloss: 0.012, failure_auc: 0.91 },
            linear: { combined_loss: 0.45, latency_mae_log: 0.36, failure_logloss: 0.02, failure_auc: 0.84 },
            classic: { combined_loss: 1.2, latency_mae_log: 0.71, failure_logloss: 0.05, failure_auc: 0.7 },
            champion: null,
          },
          error: null,
        },
        routes: [
          {
            name: 'orders',
            policy: 'learned',
            endpoints: [
              {
                id: 'a',
                breaker: 'closed',
                state: 'closed',
                score: {
                  basis: 'learned',
                  score: 14.2,
                  predictedLatencyMs: 12.5,
                  failureProbability: 0.004,
                  predictedAt: 1795774501000,
                  peakEwmaMs: 13.1,
                  inflight: 2,
                },
              },
            ],
          },
        ],
      },
    ],
  },
);

export type RelayStatusBody = Static<typeof RelayStatus>;
type RouteStatusBody = Static<typeof RouteStatus>;

const finiteOrNull = (x: number | null) => (x !== null && Number.isFinite(x) ? x : null);

/** A route as the status shows it: definition, decision cost, outage, and per endpoint state, statistics and the policy's score. */
export function routeStatus(
  route: Route,
  rt: RouteRuntime | undefined,
  now: number,
  outage: Static<typeof Outage> | null,
  learned: LearnedStateBody | null,
): RouteStatusBody {
  const endpoints = rt?.endpoints ?? [];
  return {
    name: route.name,
    policy: route.policy,
    maxAttempts: route.maxAttempts,
    settings: route.settings,
    updatedAt: route.updatedAt,
    decisions: rt?.decisions ?? 0,
    decisionUs: rt?.decisions ? Math.round((rt.decisionMs / rt.decisions) * 1000 * 100) / 100 : null,
    outage,
    learned: route.policy === 'learned' ? learned : null,
    endpoints: endpoints.map((e) => {
      const score = rt!.policy.score(e, endpoints, now);
      return {
        id: e.endpoint.id,
        kind: e.endpoint.kind,
        target: redactTarget(e.endpoint.target),
        weight: e.endpoint.weight,
        effectiveWeight: e.weight,
        state: e.state(now),
        breaker: e.breakerState(),
        shedding: e.shedding,
        controls: {
          drained: e.controls.drained,
          weightFactor: e.controls.weightFactor,
          forcedOpenUntil: e.controls.forcedOpenUntil || null,
          actions: [...e.controls.actions],
        },
        stats: e.stats.snapshot(now),
        score: { ...score, score: finiteOrNull(score.score) },
      };
    }),
  };
}
