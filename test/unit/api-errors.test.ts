/** Schema errors name the field and, for a union of values, list what it may be (issue 16, item 9). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiInstance, buildServer, Type } from '../../src/api/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { logger } from '../../src/log/index.ts';

describe('validation errors', () => {
  let api: ApiInstance;
  beforeAll(async () => {
    const ok = async () => ({ ok: true, latencyMs: 0 });
    api = await buildServer({
      config: loadConfig({ KAFKA_BROKERS: 'localhost:1', SCHEMA_REGISTRY_URL: 'http://localhost:1' }),
      log: logger('test'),
      version: 'test',
      dependencies: { broker: ok, registry: ok },
      components: [
        {
          name: 'probe',
          health: () => ({ status: 'ok' }),
          routes(v2) {
            v2.post(
              '/probe',
              {
                schema: {
                  body: Type.Object({
                    priority: Type.Optional(
                      Type.Union([Type.Literal('high'), Type.Literal('normal'), Type.Literal('low')]),
                    ),
                    endpoints: Type.Optional(
                      Type.Array(Type.Object({ kind: Type.Union([Type.Literal('HTTP'), Type.Literal('KAFKA')]) })),
                    ),
                    size: Type.Optional(Type.Union([Type.Literal('auto'), Type.Integer()])),
                    count: Type.Optional(Type.Integer()),
                  }),
                },
              },
              async () => ({ ok: true }),
            );
          },
        },
      ],
    });
  });
  afterAll(async () => api?.close());

  const post = async (body: unknown) =>
    (await api.inject({ method: 'POST', url: '/api/v2/probe', payload: body as Record<string, unknown> })).json() as {
      statusCode: number;
      field: string;
      message: string;
    };

  it('lists the allowed values of a wrong enum instead of "must be equal to constant"', async () => {
    expect(await post({ priority: 'urgent' })).toMatchObject({
      statusCode: 400,
      field: 'body.priority',
      message: 'body.priority must be one of high, normal, low',
    });
    expect(await post({ endpoints: [{ kind: 'HTTP' }, { kind: 'SMTP' }] })).toMatchObject({
      field: 'body.endpoints.1.kind',
      message: 'body.endpoints.1.kind must be one of HTTP, KAFKA',
    });
    expect((await post({ size: 'big' })).message).toBe('body.size must be auto or integer');
    expect((await post({ count: 'x' })).message).toBe('body.count must be integer');
  });
});
