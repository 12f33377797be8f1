import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  /** The offending field, as `body.x.y` / `querystring.z`, for validation errors. */
  field?: string;
}

/** A 4xx the caller can fix, or a 503/504 naming what the service waits for; thrown from handlers, rendered by the error handler. */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly field: string | undefined;

  constructor(statusCode: number, message: string, field?: string) {
    super(message);
    this.statusCode = statusCode;
    this.field = field;
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
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

export function errorHandler(
  error: FastifyError & { validation?: AjvIssue[]; validationContext?: string },
  request: FastifyRequest,
  reply: FastifyReply,
) {
  if (error.validation?.length) {
    const { field, message } = describeValidation(error.validationContext, error.validation[0]!);
    return reply.status(400).send({ statusCode: 400, error: 'Bad Request', message, field } satisfies ErrorBody);
  }
  const status = error instanceof HttpError ? error.statusCode : (error.statusCode ?? 500);
  // An HttpError's message is meant for the caller, a 5xx one too (a dependency that does not answer); other 5xx stay in the log.
  if (status >= 500 && !(error instanceof HttpError)) {
    request.log.error({ err: error }, 'request failed');
    return reply.status(status).send({
      statusCode: status,
      error: 'Internal Server Error',
      message: 'internal error; see the server log',
    } satisfies ErrorBody);
  }
  const body: ErrorBody = { statusCode: status, error: REASONS[status] ?? 'Error', message: error.message };
  if (error instanceof HttpError && error.field) body.field = error.field;
  return reply.status(status).send(body);
}
