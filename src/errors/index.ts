/**
 * One family for the errors AutoMatrix raises on purpose. Each has a stable `code` from the
 * catalogue below (docs/errors.md is generated from it), the HTTP `status` the API answers with
 * when the error reaches a caller, and `retriable`: whether the same thing may succeed later. The
 * API maps them to responses in one place (src/api/errors.ts); the CLI prints their message in
 * one line. Callers branch on the class or the code, never on message text.
 */

interface CodeSpec {
  readonly status: number;
  readonly retriable: boolean;
  readonly doc: string;
}

export const ERROR_CODES = {
  // Requests the caller can fix or retry (the generic codes of the HTTP API).
  bad_request: {
    status: 400,
    retriable: false,
    doc: 'A field is missing, malformed or out of range; `field` names it.',
  },
  unauthorized: {
    status: 401,
    retriable: false,
    doc: 'The operation needs an API token and none (or a wrong one) came.',
  },
  forbidden: { status: 403, retriable: false, doc: 'The token may not do this (topic, operation, origin).' },
  not_found: { status: 404, retriable: false, doc: 'No such route, model version, job, service or topic.' },
  conflict: {
    status: 409,
    retriable: false,
    doc: 'The state does not allow it now (training disabled, no champion yet, ...).',
  },
  upgrade_required: {
    status: 426,
    retriable: false,
    doc: 'A WebSocket endpoint was called without the WebSocket upgrade.',
  },
  payload_too_large: { status: 413, retriable: false, doc: 'The body is larger than BODY_LIMIT_BYTES.' },
  unsupported_media_type: { status: 415, retriable: false, doc: 'The body is not JSON.' },
  too_many_requests: { status: 429, retriable: true, doc: 'A limit was reached; try again later.' },
  unavailable: {
    status: 503,
    retriable: true,
    doc: 'A dependency (broker, registry, another component) does not answer.',
  },
  timeout: { status: 504, retriable: true, doc: 'The work goes on, but the answer was not ready in time.' },
  internal: { status: 500, retriable: false, doc: 'An unexpected failure (a bug); the server log has the details.' },
  // Kafka and the schema registry.
  decode_failed: {
    status: 400,
    retriable: false,
    doc: 'A record value does not decode (bad bytes, unknown schema, wrong shape); dead-lettered with the reason.',
  },
  registry_unavailable: {
    status: 503,
    retriable: true,
    doc: 'The schema registry does not answer; the record waits instead of being dead-lettered.',
  },
  encode_failed: {
    status: 500,
    retriable: false,
    doc: "A value AutoMatrix produced does not fit its topic's schema (a bug).",
  },
  schema_rejected: {
    status: 500,
    retriable: false,
    doc: 'The registry refused a schema as incompatible with the registered one (at start).',
  },
  topic_unavailable: { status: 503, retriable: true, doc: 'A topic cannot be read now (missing, leader moving).' },
  // RelayCore.
  route_invalid: {
    status: 400,
    retriable: false,
    doc: 'A route or endpoint breaks a rule; `field` names where (`endpoints.1.target`).',
  },
  send_failed: {
    status: 502,
    retriable: true,
    doc: 'An endpoint failed or timed out on a delivery attempt; another endpoint may take it.',
  },
  send_rejected: {
    status: 422,
    retriable: false,
    doc: 'An endpoint refused the message itself (4xx): no other endpoint is tried.',
  },
  optimize_running: {
    status: 409,
    retriable: true,
    doc: 'An optimization of the routing model already runs on this instance.',
  },
  // NeuroWeaver.
  row_invalid: {
    status: 400,
    retriable: false,
    doc: 'A training or prediction row lacks a field, has an extra one or a non-number; `field` names it.',
  },
  retrain_invalid: { status: 400, retriable: false, doc: 'A retraining request has a value out of range.' },
  queue_full: { status: 429, retriable: true, doc: 'Too many training jobs are queued.' },
  training_cancelled: { status: 409, retriable: false, doc: 'The training job was cancelled.' },
  retrain_unanswered: {
    status: 503,
    retriable: true,
    doc: 'No NeuroWeaver instance took the retraining request in time.',
  },
  retrain_timed_out: {
    status: 504,
    retriable: true,
    doc: 'NeuroWeaver took the request; the job had not finished when the requester stopped waiting (it goes on).',
  },
  retrain_failed: {
    status: 409,
    retriable: false,
    doc: 'NeuroWeaver refused the request or the job failed (training disabled, too little data, ...).',
  },
  // The WebSocket gateway (sent to clients as `error` messages).
  invalid_json: { status: 400, retriable: false, doc: 'A WebSocket message is not JSON.' },
  invalid_message: {
    status: 400,
    retriable: false,
    doc: 'A WebSocket message lacks a field or has a wrong one; `field` names it.',
  },
  binary_frame: { status: 400, retriable: false, doc: 'A binary WebSocket frame (send JSON text).' },
  unknown_type: { status: 400, retriable: false, doc: 'A WebSocket message of an unknown type.' },
  // Start-up and tools.
  config_invalid: {
    status: 500,
    retriable: false,
    doc: 'An environment variable has a bad value; the process does not start.',
  },
  stack_failed: {
    status: 500,
    retriable: false,
    doc: 'The local Kafka stack could not be started, stopped or downloaded; the message says what to do.',
  },
  csv_invalid: {
    status: 400,
    retriable: false,
    doc: '`automatrix detect` read a CSV line it cannot use; the message names the line.',
  },
} as const satisfies Record<string, CodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class AutomatrixError extends Error {
  readonly code: ErrorCode;
  /** The input field at fault, as the API names it (`body.endpoints.1.target`), when there is one. */
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, opts: { field?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.field = opts.field;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  get retriable(): boolean {
    return ERROR_CODES[this.code].retriable;
  }
}

const HTTP_CODES: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  503: 'unavailable',
  504: 'timeout',
};

/** The generic code of an HTTP status (for handlers that answer with a status, and for errors of other libraries). */
export function codeOfStatus(status: number): ErrorCode | undefined {
  return HTTP_CODES[status];
}

/** An error an HTTP handler throws with its status: a 4xx the caller can fix, or a 503/504 naming what it waits for. */
export class HttpError extends AutomatrixError {
  constructor(status: keyof typeof HTTP_CODES, message: string, field?: string) {
    super(HTTP_CODES[status] ?? 'bad_request', message, field === undefined ? {} : { field });
  }
}
