/** The AI Orchestrator's HTTP API under /api/v2/ai. */

import {
  ACTION_CAUSE_SYMBOLS,
  ACTION_EXECUTOR_SYMBOLS,
  ACTION_KIND_SYMBOLS,
  ACTION_STATUS_SYMBOLS,
} from '../../schemas/index.ts';
import { type ApiInstance, HttpError, Nullable, type Static, Type } from '../api/index.ts';
import { parseTime } from '../shared/time.ts';
import type { Brain } from './brain.ts';
import type { Incident } from './store.ts';

const ForecastPoint = Type.Object({
  at: Type.Number(),
  mean: Type.Number(),
  low80: Type.Number(),
  high80: Type.Number(),
  low95: Type.Number(),
  high95: Type.Number(),
});
const Saturation = Type.Object({
  expectedAt: Nullable(
    Type.Number({ description: 'When the mean forecast reaches the limit (epoch ms); null: not within the horizon.' }),
  ),
  earliestAt: Nullable(Type.Number({ description: 'When the upper 95% bound reaches it.' })),
});
const Series = (unit: string) =>
  Type.Object({
    unit: Type.Literal(unit),
    seasonality: Type.String(),
    current: Type.Number(),
    forecast: Type.Array(ForecastPoint),
    saturation: Saturation,
  });
const Recommendation = Type.Object({
  service: Type.String(),
  currentReplicas: Nullable(Type.Integer()),
  desiredReplicas: Type.Integer(),
  neededReplicas: Type.Integer(),
  peakRps: Type.Number(),
  capacityPerReplicaRps: Type.Number(),
  costDeltaPerHour: Type.Number(),
  costDeltaPerMonth: Type.Number(),
  reason: Type.String(),
  at: Type.Number(),
});
const Capacity = Type.Object({
  service: Type.String(),
  at: Type.Number(),
  horizonMs: Type.Number(),
  samplingIntervalMs: Type.Number(),
  replicas: Nullable(Type.Integer()),
  capacityPerReplicaRps: Type.Number(),
  requests: Series('req/s'),
  cpu: Series('%'),
  memory: Series('%'),
  recommendation: Nullable(Recommendation),
});
/** A vocabulary of the Avro schemas (its enum's symbols) as an HTTP schema. */
const OneOf = <const T extends string[]>(symbols: readonly [...T], description?: string) =>
  Type.Enum(symbols, description ? { description } : {});
const ActionStatus = OneOf(
  ACTION_STATUS_SYMBOLS,
  'PROPOSED (decided; carried out when dryRun is false) → EXECUTED or FAILED (the executor answered, or did not in time) → VERIFIED or INEFFECTIVE (the effect was checked); SKIPPED and RATE_LIMITED were never carried out.',
);
const Action = Type.Object({
  id: Type.String(),
  kind: OneOf(ACTION_KIND_SYMBOLS),
  target: Type.String(),
  reason: Type.String(),
  trigger: Nullable(Type.String()),
  cause: Nullable(OneOf(ACTION_CAUSE_SYMBOLS)),
  dryRun: Type.Boolean(),
  status: ActionStatus,
  executor: Nullable(OneOf(ACTION_EXECUTOR_SYMBOLS)),
  detail: Nullable(Type.String({ description: 'What the executor did, or what the check of the effect found.' })),
  params: Type.Record(Type.String(), Type.String()),
  error: Nullable(Type.String()),
  at: Type.Number(),
});
const ActionWithHistory = Type.Object({
  action: Action,
  history: Type.Array(Type.Object({ status: ActionStatus, at: Type.Number(), detail: Nullable(Type.String()) }), {
    description: 'Every step of the action, oldest first.',
  }),
});
const Contribution = Type.Object({
  metric: Type.String(),
  value: Type.Number(),
  expectedLow: Type.Number(),
  expectedHigh: Type.Number(),
  score: Type.Number(),
  share: Type.Number(),
});
const IncidentSchema = Type.Object({
  id: Type.String(),
  service: Type.String(),
  state: Type.Union([Type.Literal('OPEN'), Type.Literal('CLOSED')]),
  kind: Type.String(),
  metrics: Type.Array(Type.String()),
  score: Type.Number({ description: 'Highest score of the incident, 0-1.' }),
  explanation: Type.String(),
  contributions: Type.Array(Contribution),
  startedAt: Type.Number(),
  endedAt: Nullable(Type.Number()),
  updatedAt: Type.Number(),
});
const Driver = Type.Object({
  feature: Type.String(),
  value: Type.Number(),
  effect: Type.Number({ description: 'Contribution to the log-odds.' }),
});
const Prediction = Type.Object({
  probability: Type.Number({ description: 'Probability of an SLO breach within the horizon.' }),
  horizonMs: Type.Number(),
  drivers: Type.Array(Driver),
  rule: Type.Number({ description: 'The classic rule for comparison: share of the SLO in use.' }),
  inBreach: Type.Boolean(),
  trainedOn: Type.Integer({ description: 'Labeled samples the shared model has learned from.' }),
  at: Type.Number(),
});
const ServiceName = Type.Object({
  service_name: Type.String({ minLength: 1, maxLength: 256, examples: ['checkout'] }),
});
const ErrorRef = Type.Ref('Error');

const incidentView = (i: Incident): Static<typeof IncidentSchema> => ({
  id: i.id,
  service: i.service,
  state: i.state,
  kind: i.kind,
  metrics: i.metrics,
  score: i.peakScore,
  explanation: i.latest.explanation,
  contributions: i.latest.contributions,
  startedAt: i.startedAt,
  endedAt: i.endedAt,
  updatedAt: i.updatedAt,
});

function timeParam(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseTime(value);
  } catch (err) {
    throw new HttpError(400, `${field}: ${(err as Error).message}`, field);
  }
}

export interface RouteDeps {
  brain: Brain;
  dryRunOnly: boolean;
  /** Runs the policy for the given services now; `dryRun` forces proposals only. */
  optimize(services: string[] | undefined, dryRun: boolean): Promise<Static<typeof Action>[]>;
}

export function orchestratorRoutes(api: ApiInstance, deps: RouteDeps): void {
  const { brain } = deps;
  api.post(
    '/ai/autonomous-optimization',
    {
      schema: {
        summary: 'Evaluate services now: failure risk, scaling, and the self-healing actions they call for',
        description:
          'Every decision is also written to orchestrator.actions. With ORCH_DRY_RUN=true only proposals are made.',
        tags: ['ai'],
        body: Type.Object(
          {
            services: Type.Optional(
              Type.Array(Type.String({ minLength: 1 }), {
                minItems: 1,
                maxItems: 1000,
                description: 'Services to evaluate (default: all this instance knows).',
              }),
            ),
            dryRun: Type.Optional(
              Type.Boolean({ default: true, description: 'Propose only. false needs ORCH_DRY_RUN=false.' }),
            ),
          },
          { additionalProperties: false, examples: [{ services: ['checkout'], dryRun: true }] },
        ),
        response: {
          200: Type.Object({
            dryRun: Type.Boolean(),
            evaluated: Type.Array(Type.String()),
            actions: Type.Array(Action),
          }),
          404: ErrorRef,
          409: ErrorRef,
        },
      },
    },
    async (req) => {
      const dryRun = req.body.dryRun ?? true;
      if (!dryRun && deps.dryRunOnly)
        throw new HttpError(409, 'this instance runs with ORCH_DRY_RUN=true: it only proposes actions', 'body.dryRun');
      const unknown = req.body.services?.find((s) => !brain.serviceNames().includes(s));
      if (unknown !== undefined) throw new HttpError(404, `no metrics seen for service "${unknown}"`, 'body.services');
      const actions = await deps.optimize(req.body.services, dryRun);
      return { dryRun, evaluated: req.body.services ?? brain.serviceNames(), actions };
    },
  );

  api.get(
    '/ai/insights/:service_name',
    {
      schema: {
        summary:
          'What the orchestrator knows of one service: failure risk and its drivers, capacity, open anomalies, recent actions',
        tags: ['ai'],
        params: ServiceName,
        response: {
          200: Type.Object({
            service: Type.String(),
            lastSampleAt: Nullable(Type.Number()),
            failure: Nullable(Prediction),
            capacity: Nullable(Capacity),
            openAnomalies: Type.Array(IncidentSchema),
            recentActions: Type.Array(Action),
          }),
          404: ErrorRef,
        },
      },
    },
    async (req) => {
      const service = req.params.service_name;
      if (!brain.knows(service))
        throw new HttpError(
          404,
          `unknown service "${service}": no metrics or anomalies seen for it`,
          'params.service_name',
        );
      return {
        service,
        lastSampleAt: brain.lastSample(service)?.timestamp ?? null,
        failure: brain.prediction(service) ?? null,
        capacity: brain.capacity(service) ?? null,
        openAnomalies: brain.anomalies.openFor(service).map(incidentView),
        recentActions: brain.recentActions((a) => brain.policy.concerns(a, service)),
      };
    },
  );

  api.get(
    '/ai/actions',
    {
      schema: {
        summary: 'Recent actions and their lifecycle: decided, executed by RelayCore/NeuroWeaver/the webhook, verified',
        description:
          'Each action with its latest step and every step so far (the same records as orchestrator.actions). A live action is EXECUTED only once its executor answered on action.results, then VERIFIED or INEFFECTIVE once its effect was checked (ORCH_VERIFY_AFTER_MS); an ineffective endpoint action is rolled back by a restore_endpoint action.',
        tags: ['ai'],
        querystring: Type.Object(
          {
            status: Type.Optional(ActionStatus),
            service: Type.Optional(Type.String({ minLength: 1, description: 'Only actions concerning this service.' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ actions: Type.Array(ActionWithHistory) }) },
      },
    },
    async (req) => {
      const { status, service, limit } = req.query;
      return {
        actions: brain.actionViews(
          (a) => (!status || a.status === status) && (!service || brain.policy.concerns(a, service)),
          limit ?? 50,
        ),
      };
    },
  );

  api.get(
    '/ai/predictive/capacity',
    {
      schema: {
        summary:
          'Capacity forecasts with 80%/95% intervals, time to saturation and the scaling recommendation, per service',
        tags: ['ai'],
        querystring: Type.Object(
          {
            service: Type.Optional(Type.String({ minLength: 1, description: 'One service (default: all).' })),
            horizonMinutes: Type.Optional(
              Type.Integer({
                minimum: 1,
                maximum: 10080,
                description: 'Forecast horizon (default ORCH_HORIZON_MINUTES).',
              }),
            ),
          },
          { examples: [{ service: 'checkout', horizonMinutes: 120 }] },
        ),
        response: {
          200: Type.Object({ horizonMinutes: Type.Integer(), services: Type.Array(Capacity) }),
          404: ErrorRef,
        },
      },
    },
    async (req) => {
      const horizonMinutes = req.query.horizonMinutes ?? Math.round(brain.settings.horizonMs / 60_000);
      const names = req.query.service ? [req.query.service] : brain.serviceNames();
      const services = names.map((s) => brain.capacity(s, horizonMinutes * 60_000)).filter((c) => c !== undefined);
      if (req.query.service && !services.length)
        throw new HttpError(404, `no metrics seen for service "${req.query.service}"`, 'querystring.service');
      return { horizonMinutes, services };
    },
  );

  api.get(
    '/ai/anomalies',
    {
      schema: {
        summary: 'Incidents this instance has read from the anomalies topic (a bounded window), newest first',
        tags: ['ai'],
        querystring: Type.Object(
          {
            service: Type.Optional(Type.String({ minLength: 1 })),
            from: Type.Optional(
              Type.String({ description: 'Active at or after: ISO date-time, epoch ms, or relative like -2h.' }),
            ),
            to: Type.Optional(Type.String({ description: 'Started at or before (same forms).' })),
            minScore: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
            state: Type.Optional(
              Type.Union([Type.Literal('open'), Type.Literal('closed'), Type.Literal('any')], { default: 'any' }),
            ),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
          },
          { examples: [{ service: 'checkout', from: '-2h', minScore: 0.7, state: 'open' }] },
        ),
        response: { 200: Type.Object({ count: Type.Integer(), incidents: Type.Array(IncidentSchema) }), 400: ErrorRef },
      },
    },
    async (req) => {
      const from = timeParam(req.query.from, 'querystring.from');
      const to = timeParam(req.query.to, 'querystring.to');
      if (from !== undefined && to !== undefined && to < from)
        throw new HttpError(400, 'querystring.to is before querystring.from', 'querystring.to');
      const incidents = brain.anomalies
        .query({
          service: req.query.service,
          from,
          to,
          minScore: req.query.minScore,
          state: req.query.state,
          limit: req.query.limit,
        })
        .map(incidentView);
      return { count: incidents.length, incidents };
    },
  );
}
