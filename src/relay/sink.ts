/**
 * A built-in HTTP endpoint to deliver to, so RelayCore can be tried (and the documented examples
 * run) without a service of one's own: it accepts any body, answers `?status=` (200 by default)
 * after `?delayMs=`, and shows the last messages it received. Not for real traffic.
 */
import { type Static, Type } from '@fastify/type-provider-typebox';
import type { ApiInstance } from '../api/server.ts';

const KEEP = 20;
const PREVIEW = 200;

const SinkQuery = Type.Object({
  status: Type.Optional(
    Type.Integer({ minimum: 200, maximum: 599, default: 200, description: 'HTTP status to answer (try 503).' }),
  ),
  delayMs: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 60_000, default: 0, description: 'Answer this late (try 300).' }),
  ),
});
const Received = Type.Object({
  at: Type.Number(),
  idempotencyKey: Type.Union([Type.String(), Type.Null()]),
  contentType: Type.Union([Type.String(), Type.Null()]),
  bytes: Type.Integer(),
  status: Type.Integer(),
  preview: Type.String({ description: `The first ${PREVIEW} characters of the body.` }),
});

export function registerSink(api: ApiInstance): void {
  const recent: Static<typeof Received>[] = [];
  let total = 0;

  api.get(
    '/relaycore/sink',
    {
      schema: {
        summary: 'What the built-in sink endpoint received: a count and the last 20 requests',
        tags: ['relaycore'],
        response: { 200: Type.Object({ received: Type.Integer(), recent: Type.Array(Received) }) },
      },
    },
    async () => ({ received: total, recent: [...recent].reverse() }),
  );

  void api.register(async (plugin) => {
    const scope = plugin as ApiInstance;
    // Any content type, taken as bytes: a route delivers whatever its messages carry.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.post(
      '/relaycore/sink',
      {
        schema: {
          // Open without the API token (it changes nothing): the OpenAPI way to say so.
          security: [],
          summary:
            'A built-in endpoint for routes to deliver to (HTTP target `http://localhost:8000/api/v2/relaycore/sink`)',
          description:
            'Accepts any body and answers `status` (200 by default) after `delayMs`, to try routes, policies and breakers without a service of your own. Open without the API token: it changes nothing. Not for real traffic.',
          tags: ['relaycore'],
          querystring: SinkQuery,
          response: { '2xx': Type.Object({ accepted: Type.Boolean(), bytes: Type.Integer() }) },
        },
      },
      async (req, reply) => {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const status = req.query.status ?? 200;
        if (req.query.delayMs) await new Promise((r) => setTimeout(r, req.query.delayMs));
        total++;
        recent.push({
          at: Date.now(),
          idempotencyKey: header(req.headers['idempotency-key']),
          contentType: header(req.headers['content-type']),
          bytes: body.length,
          status,
          preview: body
            .subarray(0, PREVIEW * 4)
            .toString('utf8')
            .slice(0, PREVIEW),
        });
        if (recent.length > KEEP) recent.shift();
        return reply.status(status).send({ accepted: status < 300, bytes: body.length });
      },
    );
  });
}

const header = (v: string | string[] | undefined) => (Array.isArray(v) ? (v[0] ?? null) : (v ?? null));
