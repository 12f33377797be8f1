/** RelayCore's HTTP API under /api/v2: consumption control, messages, optimisation, status, routes. */
import { type Static, Type } from '@fastify/type-provider-typebox';
import type { Route } from '../../schemas/types.ts';
import { HttpError } from '../api/errors.ts';
import { Nullable } from '../api/schema.ts';
import type { ApiInstance } from '../api/server.ts';
import { EvaluationSchema, HyperparametersSchema } from '../shared/index.ts';
import type { RelayCore } from './component.ts';
import { TIERS } from './config.ts';
import { redactRoute, restoreRedacted } from './redact.ts';
import { registerSink } from './sink.ts';
import { LearnedState, RelayStatus } from './status.ts';
import { POLICIES, parseRoute, RouteError, SETTINGS } from './store.ts';

const tags = ['relaycore'];
const Err = Type.Ref('Error');
const Name = Type.String({
  pattern: '^[A-Za-z0-9._-]{1,100}$',
  description: 'Letters, digits, ".", "_" or "-".',
  examples: ['orders'],
});
const StringMap = Type.Record(Type.String(), Type.String());
const SettingValue = Type.Union([Type.String(), Type.Number()]);

const EndpointSchema = Type.Object(
  {
    id: Name,
    kind: Type.Union([Type.Literal('HTTP'), Type.Literal('KAFKA')]),
    target: Type.String({
      description: 'URL for HTTP, topic name for KAFKA.',
      examples: ['http://localhost:8000/api/v2/relaycore/sink', 'orders.audit'],
    }),
    weight: Type.Optional(Type.Number({ minimum: 0, maximum: 1000, default: 1 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000, default: 5000 })),
    headers: Type.Optional(StringMap),
  },
  { additionalProperties: false },
);

const RouteFields = {
  policy: Type.Optional(
    Type.Union(
      POLICIES.map((p) => Type.Literal(p)),
      { description: POLICIES.join(', ') },
    ),
  ),
  endpoints: Type.Array(EndpointSchema, { minItems: 1 }),
  maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 20, default: 3 })),
  settings: Type.Optional(
    Type.Record(Type.String(), SettingValue, {
      description: `Breaker and policy settings: ${Object.entries(SETTINGS)
        .map(([k, v]) => `${k} (${v.doc})`)
        .join('; ')}.`,
    }),
  ),
};

/** Runs as written against `npm start`: both endpoints are the built-in sink (b answers late). */
const routeExample = {
  name: 'orders',
  policy: 'p2c-peak-ewma',
  endpoints: [
    { id: 'a', kind: 'HTTP', target: 'http://localhost:8000/api/v2/relaycore/sink', timeoutMs: 2000 },
    { id: 'b', kind: 'HTTP', target: 'http://localhost:8000/api/v2/relaycore/sink?delayMs=50', weight: 0.5 },
  ],
  maxAttempts: 3,
  settings: { errorThresholdPercentage: '50', resetTimeoutMs: '5000' },
};

const RouteBody = Type.Object(
  { name: Name, ...RouteFields },
  { additionalProperties: false, examples: [routeExample] },
);
const RouteUpdate = Type.Object(
  { name: Type.Optional(Name), ...RouteFields },
  { additionalProperties: false, examples: [routeExample] },
);
const RoutePatch = Type.Object(
  {
    policy: RouteFields.policy,
    endpoints: Type.Optional(RouteFields.endpoints),
    maxAttempts: RouteFields.maxAttempts,
    settings: RouteFields.settings,
  },
  { additionalProperties: false, examples: [{ policy: 'learned' }] },
);

const EndpointOut = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  target: Type.String(),
  weight: Type.Number(),
  timeoutMs: Type.Integer(),
  headers: StringMap,
});
const RouteOut = Type.Object({
  name: Type.String(),
  policy: Type.String(),
  endpoints: Type.Array(EndpointOut),
  maxAttempts: Type.Integer(),
  settings: StringMap,
  updatedAt: Type.Number(),
  learned: Type.Optional(LearnedState),
});
const NameParams = Type.Object({ name: Name });

const MessageBody = Type.Object(
  {
    id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'Unique id, also the idempotency key; generated when absent.',
      }),
    ),
    route: Type.Optional({
      ...Name,
      description: 'Route name (create `orders` with the POST /relaycore/routes example first).',
    }),
    priority: Type.Optional(
      Type.Union(
        TIERS.map((t) => Type.Literal(t)),
        { default: 'normal' },
      ),
    ),
    key: Type.Optional(
      Type.String({ maxLength: 1000, description: 'Ordering key: messages with the same key are delivered in order.' }),
    ),
    type: Type.Optional(Type.String({ minLength: 1, maxLength: 200, default: 'default' })),
    payload: Type.Union([Type.String(), Type.Object({}, { additionalProperties: true }), Type.Array(Type.Unknown())], {
      description: 'Text, or JSON (sent as its JSON text).',
    }),
    contentType: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    headers: Type.Optional(StringMap),
  },
  {
    additionalProperties: false,
    examples: [
      {
        route: 'orders',
        priority: 'high',
        key: 'customer-42',
        type: 'order.created',
        payload: { orderId: 1001, total: 25.5 },
      },
    ],
  },
);
const MessageQuery = Type.Object({
  wait: Type.Optional(
    Type.Boolean({ default: false, description: 'Wait for the delivery outcome (from whichever instance delivers).' }),
  ),
  timeoutMs: Type.Optional(
    Type.Integer({ minimum: 100, maximum: 600_000, description: 'Longest wait; default RELAY_WAIT_TIMEOUT_MS.' }),
  ),
});
const MessageOut = Type.Object({
  id: Type.String(),
  topic: Type.String(),
  priority: Type.String(),
  partition: Type.Integer(),
  offset: Type.String(),
  status: Type.Union([
    Type.Literal('ACCEPTED'),
    Type.Literal('DELIVERED'),
    Type.Literal('DEAD_LETTERED'),
    Type.Literal('PENDING'),
  ]),
  outcome: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  deadLetter: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

const OptimizeBody = Type.Object(
  {
    windowMinutes: Type.Optional(
      Type.Number({
        minimum: 1,
        maximum: 7 * 24 * 60,
        default: 60,
        description: 'NeuroWeaver replays this much of delivery.outcomes.',
      }),
    ),
    timeoutS: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 3600,
        default: 600,
        description: 'Longest wait for the training job once NeuroWeaver has accepted it (it goes on after that).',
      }),
    ),
    budget: Type.Optional(
      Type.Object(
        {
          trials: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 64,
              description: 'Hyperparameter trials (default ML_TUNE_TRIALS of the NeuroWeaver instance).',
            }),
          ),
          maxEpochs: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          timeS: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
        },
        { additionalProperties: false },
      ),
    ),
    hyperparameters: Type.Optional(HyperparametersSchema),
    holdout: Type.Optional(
      Type.Union([Type.Literal('newest'), Type.Literal('random')], {
        description:
          'The outcomes NeuroWeaver holds out to evaluate and gate the new version on: the newest (default) or a random sample (when the window is not one continuous stretch of traffic).',
      }),
    ),
  },
  {
    additionalProperties: false,
    examples: [{ windowMinutes: 30 }, { windowMinutes: 60, budget: { trials: 4, maxEpochs: 30 } }],
  },
);

const OptimizeReply = Type.Object(
  {
    jobId: Type.String({ description: "NeuroWeaver's training job (GET /api/v2/neuroweaver/jobs/:id)." }),
    model: Type.String(),
    window: Type.Object({ from: Type.Number(), to: Type.Number() }),
    promoted: Type.Boolean({
      description: 'Whether the new version passed the promotion gate and is now the champion.',
    }),
    reason: Type.String({
      description:
        "The gate's reason: the primary metric against the classic baseline and the champion, on the same holdout.",
    }),
    candidate: Type.Object({
      version: Type.String(),
      status: Type.String({ description: 'CHAMPION or REJECTED.' }),
      rows: Type.Integer(),
      hyperparameters: Type.Record(Type.String(), Type.String()),
      evaluation: Nullable(EvaluationSchema),
    }),
    serving: Type.Union([Type.String(), Type.Null()], {
      description: 'The version learned routes on this instance use now.',
    }),
    learned: LearnedState,
    routesUsingLearned: Type.Array(Type.String()),
  },
  {
    examples: [
      {
        jobId: '0b7c5e1e-5a1d-4b8e-9f0a-1f2e3d4c5b6a',
        model: 'routing',
        window: { from: 1795770900000, to: 1795774500000 },
        promoted: true,
        reason: 'beats the champion: combined_loss 0.2950 vs champion v20261127-091500-1a2b 0.3310 on the same holdout',
        candidate: {
          version: 'v20261127-101500-3fa2',
          status: 'CHAMPION',
          rows: 48210,
          hyperparameters: { layers: '2', units: '32' },
          evaluation: {
            holdoutRows: 9642,
            network: { combined_loss: 0.295, latency_mae_log: 0.24, failure_logloss: 0.01 },
            linear: { combined_loss: 0.41, latency_mae_log: 0.33, failure_logloss: 0.018 },
            classic: { combined_loss: 1.3, latency_mae_log: 0.72, failure_logloss: 0.05 },
            champion: {
              version: 'v20261127-091500-1a2b',
              metrics: { combined_loss: 0.331, latency_mae_log: 0.26, failure_logloss: 0.011 },
              error: null,
            },
          },
        },
        serving: 'v20261127-101500-3fa2',
        learned: { model: 'v20261127-101500-3fa2', fallback: null, reason: null },
        routesUsingLearned: ['orders'],
      },
    ],
  },
);

function routeError(err: unknown): never {
  if (err instanceof RouteError) throw err.in('body');
  throw err;
}

const settingsToStrings = (s: Record<string, string | number> | undefined) =>
  s ? Object.fromEntries(Object.entries(s).map(([k, v]) => [k, String(v)])) : undefined;

function checkRoute(raw: Record<string, unknown>): Route {
  try {
    return parseRoute(
      { ...raw, settings: settingsToStrings(raw.settings as Record<string, string | number> | undefined) },
      '',
    );
  } catch (err) {
    return routeError(err);
  }
}

/** A route whose Kafka endpoints all have their topic, else a 400 naming the first that does not. */
async function withTopics(relay: RelayCore, route: Route): Promise<Route> {
  const [missing] = await relay.store.missingTopics(route);
  if (missing)
    throw new RouteError(
      `endpoints.${missing.index}.target`,
      `names topic "${missing.topic}", which does not exist (the broker does not create topics on demand): create it first, e.g. npx automatrix topics create ${missing.topic}`,
      'body',
    );
  return route;
}

/** A route as the API answers it: secrets redacted; a learned route says what it runs on (a model, or the fallback and why). */
function routeOut(relay: RelayCore, route: Route) {
  return route.policy === 'learned'
    ? { ...redactRoute(route), learned: relay.learnedState(route.name) }
    : redactRoute(route);
}

function existing(relay: RelayCore, name: string): Route {
  const route = relay.store.get(name);
  if (!route) throw new HttpError(404, `route "${name}" does not exist`, 'params.name');
  return route;
}

export function relayRoutes(api: ApiInstance, relay: RelayCore): void {
  registerSink(api);
  api.post(
    '/relaycore/start',
    {
      schema: {
        summary: 'Start consuming the inbound tiers',
        tags,
        response: { 200: Type.Object({ running: Type.Boolean() }) },
      },
    },
    async () => {
      await relay.loop.start();
      return { running: true };
    },
  );

  api.post(
    '/relaycore/stop',
    {
      schema: {
        summary: 'Stop consuming: in-flight deliveries finish and are committed',
        tags,
        response: { 200: Type.Object({ running: Type.Boolean() }) },
      },
    },
    async () => {
      await relay.loop.stop();
      return { running: false };
    },
  );

  api.post(
    '/relaycore/message',
    {
      schema: {
        summary: 'Validate a message and produce it to its priority tier; ?wait=true returns its delivery outcome',
        tags,
        body: MessageBody,
        querystring: MessageQuery,
        response: { 200: MessageOut, 202: MessageOut, 400: Err },
      },
    },
    async (req, reply) => {
      const body = req.body;
      const priority = body.priority ?? 'normal';
      const routeName = body.route ?? relay.defaultRoute(priority);
      if (!routeName || !relay.store.get(routeName)) {
        throw new HttpError(
          400,
          body.route
            ? `body.route "${body.route}" is not a route: create it first (POST /api/v2/relaycore/routes)`
            : `no body.route given and the ${priority} tier's default route (RELAY_DEFAULT_ROUTES) does not exist: name one, or create it`,
          'body.route',
        );
      }
      const payload = typeof body.payload === 'string' ? body.payload : JSON.stringify(body.payload);
      const id = body.id ?? crypto.randomUUID();
      const waiter = req.query.wait
        ? relay.waitFor(id, req.query.timeoutMs ?? relay.config().RELAY_WAIT_TIMEOUT_MS)
        : undefined;
      let sent;
      try {
        sent = await relay.send({
          id,
          route: body.route,
          type: body.type,
          payload,
          contentType: body.contentType,
          headers: body.headers,
          key: body.key,
          priority,
        });
      } catch (err) {
        waiter?.cancel();
        throw err;
      }
      if (!waiter) return reply.status(202).send({ ...sent, status: 'ACCEPTED' });
      const fate = await waiter.fate;
      if (!fate) return reply.status(202).send({ ...sent, status: 'PENDING' });
      if (fate.status === 'DELIVERED')
        return reply
          .status(200)
          .send({ ...sent, status: 'DELIVERED', outcome: fate.outcome as unknown as Record<string, unknown> });
      return reply
        .status(200)
        .send({ ...sent, status: 'DEAD_LETTERED', deadLetter: fate.deadLetter as unknown as Record<string, unknown> });
    },
  );

  api.post(
    '/relaycore/optimize',
    {
      schema: {
        summary: 'Have NeuroWeaver retrain the routing model on recent delivery outcomes; returns what changed',
        description:
          'Sends a retraining request for `routing` through Kafka (an `orchestrator.actions` record of kind `retrain`), waits for NeuroWeaver to accept it (RELAY_OPTIMIZE_ANSWER_MS) and for the job to end (`timeoutS`), then for this instance to serve the new version if the promotion gate took it. Every RelayCore instance follows the champion. 503: no NeuroWeaver answered; 504: still training; 409: NeuroWeaver refused or the job failed (e.g. too few outcomes), or an optimization is already running here.',
        tags,
        body: OptimizeBody,
        response: { 200: OptimizeReply, 409: Err, 503: Err, 504: Err },
      },
    },
    async (req) => {
      const b = req.body ?? {};
      // OptimizeError and NeuroWeaver's Retrain* errors carry their HTTP status (src/errors).
      return relay.optimize({
        windowMs: (b.windowMinutes ?? 60) * 60_000,
        timeoutMs: (b.timeoutS ?? 600) * 1000,
        budget: b.budget,
        hyperparameters: b.hyperparameters,
        holdout: b.holdout,
      });
    },
  );

  api.get(
    '/relaycore/status',
    {
      schema: {
        summary:
          "Routes, endpoints (breaker, controls, live stats, the policy's current score), decision cost, routing model, slots and consumer lag",
        tags,
        response: { 200: RelayStatus },
      },
    },
    async () => relay.status(),
  );

  const routesDoc =
    'Secret-looking endpoint headers (authorization, tokens, keys, cookies...), URL passwords and secret query values are shown as `[redacted]`; writing `[redacted]` back keeps the stored value.';

  api.get(
    '/relaycore/routes',
    { schema: { summary: 'List routes', description: routesDoc, tags, response: { 200: Type.Array(RouteOut) } } },
    async () => relay.store.all().map((r) => routeOut(relay, r)),
  );

  api.get(
    '/relaycore/routes/:name',
    {
      schema: {
        summary: 'Read a route',
        description: routesDoc,
        tags,
        params: NameParams,
        response: { 200: RouteOut, 404: Err },
      },
    },
    async (req) => routeOut(relay, existing(relay, req.params.name)),
  );

  api.post(
    '/relaycore/routes',
    {
      schema: {
        summary: 'Create a route (shared with every instance through relay.routes)',
        tags,
        body: RouteBody,
        response: { 201: RouteOut, 400: Err, 409: Err },
      },
    },
    async (req, reply) => {
      const route = checkRoute(req.body as Static<typeof RouteBody>);
      if (relay.store.get(route.name)) throw new HttpError(409, `route "${route.name}" already exists`, 'body.name');
      return reply.status(201).send(routeOut(relay, await relay.putRoute(await withTopics(relay, route))));
    },
  );

  api.put(
    '/relaycore/routes/:name',
    {
      schema: {
        summary: 'Create or replace a route',
        tags,
        params: NameParams,
        body: RouteUpdate,
        response: { 200: RouteOut, 400: Err },
      },
    },
    async (req) => {
      if (req.body.name !== undefined && req.body.name !== req.params.name)
        throw new HttpError(400, `body.name "${req.body.name}" differs from the route in the path`, 'body.name');
      const route = checkRoute({ ...req.body, name: req.params.name });
      return routeOut(
        relay,
        await relay.putRoute(await withTopics(relay, restoreRedacted(route, relay.store.get(req.params.name)))),
      );
    },
  );

  api.patch(
    '/relaycore/routes/:name',
    {
      schema: {
        summary: 'Change part of a route, e.g. switch its policy',
        tags,
        params: NameParams,
        body: RoutePatch,
        response: { 200: RouteOut, 400: Err, 404: Err },
      },
    },
    async (req) => {
      const current = existing(relay, req.params.name);
      const settings = req.body.settings
        ? { ...current.settings, ...settingsToStrings(req.body.settings) }
        : current.settings;
      const route = restoreRedacted(checkRoute({ ...current, ...req.body, settings, name: current.name }), current);
      // Endpoints left as they were are not checked again: a policy switch must not wait for a topic.
      return routeOut(relay, await relay.putRoute(req.body.endpoints ? await withTopics(relay, route) : route));
    },
  );

  api.delete(
    '/relaycore/routes/:name',
    { schema: { summary: 'Delete a route', tags, params: NameParams, response: { 204: Type.Null(), 404: Err } } },
    async (req, reply) => {
      existing(relay, req.params.name);
      await relay.store.delete(req.params.name);
      return reply.status(204).send(null);
    },
  );
}
