import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { errorHandler } from '../../src/api/errors.ts';
import { AutomatrixError, ERROR_CODES, HttpError } from '../../src/errors/index.ts';
import { DecodeError } from '../../src/kafka/index.ts';
import { QueueFullError } from '../../src/ml/jobs.ts';
import { RouteError } from '../../src/relay/store.ts';

async function answer(err: Error) {
  const app = Fastify({ logger: false });
  app.setErrorHandler(errorHandler);
  app.get('/', () => {
    throw err;
  });
  const res = await app.inject({ method: 'GET', url: '/' });
  await app.close();
  return { status: res.statusCode, body: res.json() };
}

describe('the error family', () => {
  it('gives every code an HTTP status and a sentence', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(spec.status, code).toBeGreaterThanOrEqual(400);
      expect(spec.status, code).toBeLessThan(600);
      expect(spec.doc.length, code).toBeGreaterThan(10);
    }
  });

  it('maps each error to its status and code in one place, with the field', async () => {
    expect(await answer(new RouteError('endpoints.1.target', 'must be a URL').in('body'))).toEqual({
      status: 400,
      body: {
        statusCode: 400,
        error: 'Bad Request',
        code: 'route_invalid',
        message: 'body.endpoints.1.target must be a URL',
        field: 'body.endpoints.1.target',
      },
    });
    expect(await answer(new QueueFullError('8 jobs queued'))).toMatchObject({
      status: 429,
      body: { code: 'queue_full', message: '8 jobs queued' },
    });
    expect(await answer(new HttpError(404, 'no route x', 'params.name'))).toMatchObject({
      status: 404,
      body: { code: 'not_found', field: 'params.name' },
    });
  });

  it('keeps a bug’s message in the log: a plain error, or ours of status 500, is an internal error', async () => {
    for (const err of [new Error('secret detail'), new AutomatrixError('encode_failed', 'value does not fit')])
      expect(await answer(err)).toEqual({
        status: 500,
        body: {
          statusCode: 500,
          error: 'Internal Server Error',
          code: 'internal',
          message: 'internal error; see the server log',
        },
      });
  });

  it('says whether trying again may help', () => {
    expect(new DecodeError('registry_unavailable', 'down').retriable).toBe(true);
    expect(new DecodeError('invalid_json', 'bad').retriable).toBe(false);
    expect(new DecodeError('invalid_json', 'bad').code).toBe('decode_failed');
    expect(new QueueFullError('full').retriable).toBe(true);
  });
});
