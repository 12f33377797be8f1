import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AutomatrixError, codeOfStatus, type ErrorCode } from '../errors/index.ts';

export { HttpError } from '../errors/index.ts';

export interface ErrorBody {
  statusCode: number;
  error: string;
  /** The stable code of the error (docs/errors.md). */
  code: ErrorCode;
  message: string;
  /** The offending field, as `body.x.y` / `querystring.z`, for validation errors. */
  field?: string;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Turns Ajv's first issue into `body.x must be number` with the field named. */
function describeValidation(context: string | undefined, issue: AjvIssue): { field: string; message: string } {
  const base = [context ?? 'body', ...issue.instancePath.split('/').filter(Boolean)].join('.');
  if (issue.keyword === 'required') {
    const field = `${base}.${String(issue.params.missingProperty)}`;
    return { field, message: `${field} is required` };
  }
  if (issue.keyword === 'additionalProperties') {
    const field = `${base}.${String(issue.params.additionalProperty)}`;
    return { field, message: `${field} is not allowed` };
  }
  return { field: base, message: `${base} ${issue.message ?? 'is invalid'}` };
}

/** Every error a route throws becomes a response here, and only here: its code, status and field come from the error family (src/errors). */
export function errorHandler(
  error: FastifyError & { validation?: AjvIssue[]; validationContext?: string },
  request: FastifyRequest,
  reply: FastifyReply,
) {
  if (error.validation?.length) {
    const { field, message } = describeValidation(error.validationContext, error.validation[0]!);
    return reply
      .status(400)
      .send({ statusCode: 400, error: 'Bad Request', code: 'bad_request', message, field } satisfies ErrorBody);
  }
  const ours = error instanceof AutomatrixError ? error : undefined;
  const status = ours?.status ?? error.statusCode ?? 500;
  const code = ours?.code ?? codeOfStatus(status);
  // Our errors' messages are meant for the caller, a 5xx one too (a dependency that does not answer),
  // except those of a bug (500); anything else of 5xx stays in the log.
  if (!code || status === 500) {
    request.log.error({ err: error }, 'request failed');
    return reply.status(500).send({
      statusCode: 500,
      error: 'Internal Server Error',
      code: 'internal',
      message: 'internal error; see the server log',
    } satisfies ErrorBody);
  }
  const body: ErrorBody = { statusCode: status, error: REASONS[status] ?? 'Error', code, message: error.message };
  if (ours?.field) body.field = ours.field;
  return reply.status(status).send(body);
}
