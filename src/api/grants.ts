/**
 * Tokens with what each may do (API_TOKENS, API_TOKENS_FILE): the topics it may read on the
 * WebSocket and SSE feeds, and the operations needing a token it may call. Parsed by hand so every
 * error names the entry and field, and never shows a token.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../config/vars.ts';

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** `METHOD /path`, `* /path`, `METHOD /prefix/*`. Paths are route patterns, `{param}` or `:param`. */
export interface OperationPattern {
  method: (typeof METHODS)[number] | '*';
  path: string;
  /** The path ends in `/*`: every route under it. */
  prefix: boolean;
  text: string;
}

export interface TokenGrant {
  /** Shown in logs and refusals (never the token). */
  name: string;
  /** SHA-256 of the token. */
  digest: Buffer;
  topics: '*' | string[];
  operations: '*' | OperationPattern[];
}

export const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;
const FIELDS = ['name', 'token', 'sha256', 'topics', 'operations'];

/** Route pattern with `{param}` written as `:param`, as the router and OpenAPI spell it differently. */
export const routePattern = (path: string): string => path.replace(/\{([^}/]+)\}/g, ':$1');

export function parseOperation(text: string): OperationPattern | undefined {
  const m = /^(\*|[A-Z]+) (\/[^\s]*)$/.exec(text);
  if (!m) return undefined;
  const method = m[1] as OperationPattern['method'];
  if (method !== '*' && !(METHODS as readonly string[]).includes(method)) return undefined;
  const prefix = m[2]!.endsWith('/*');
  const path = routePattern(prefix ? m[2]!.slice(0, -2) : m[2]!);
  return { method, path, prefix, text };
}

export function operationMatches(p: OperationPattern, method: string, route: string): boolean {
  if (p.method !== '*' && p.method !== method) return false;
  return p.prefix ? route === p.path || route.startsWith(`${p.path}/`) : route === p.path;
}

/** Parses the JSON of API_TOKENS / API_TOKENS_FILE. Throws ConfigError naming the entry and field. */
export function parseGrants(text: string, variable: string, minTokenLength: number): TokenGrant[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ConfigError(variable, 'must be a JSON array of tokens (see docs/auth.md); it is not JSON');
  }
  if (!Array.isArray(doc)) throw new ConfigError(variable, 'must be a JSON array of tokens (see docs/auth.md)');
  return doc.map((entry: unknown, i) => {
    const fail = (msg: string): never => {
      throw new ConfigError(variable, `entry ${i}: ${msg}`);
    };
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return fail('must be an object');
    const e = entry as Record<string, unknown>;
    for (const k of Object.keys(e))
      if (!FIELDS.includes(k)) fail(`field "${k.slice(0, 40)}" is not allowed (${FIELDS.join(', ')})`);
    if (typeof e.name !== 'string' || !NAME.test(e.name)) fail('name must be 1 to 64 letters, digits or . _ -');
    const name = e.name as string;
    const at = (msg: string) => fail(`("${name}") ${msg}`);
    if ((e.token === undefined) === (e.sha256 === undefined)) at('needs exactly one of token and sha256');
    let digest: Buffer;
    if (e.token !== undefined) {
      if (typeof e.token !== 'string' || e.token.length < minTokenLength)
        return at(`token must be a string of at least ${minTokenLength} characters`);
      digest = sha256(e.token);
    } else {
      if (typeof e.sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(e.sha256))
        return at('sha256 must be the hex SHA-256 of the token (64 hex digits)');
      digest = Buffer.from(e.sha256, 'hex');
    }
    return { name, digest, topics: parseTopics(e.topics, at), operations: parseOperations(e.operations, at) };
  });
}

function parseTopics(value: unknown, fail: (msg: string) => never): TokenGrant['topics'] {
  if (value === undefined) return [];
  if (value === '*') return '*';
  if (!Array.isArray(value) || !value.every((t) => typeof t === 'string' && TOPIC.test(t)))
    return fail('topics must be "*" or an array of topic names as clients name them (e.g. "anomalies")');
  return value as string[];
}

function parseOperations(value: unknown, fail: (msg: string) => never): TokenGrant['operations'] {
  if (value === undefined) return [];
  if (value === '*') return '*';
  if (!Array.isArray(value)) return fail('operations must be "*" or an array like ["POST /api/v2/relaycore/message"]');
  return value.map((v, j) => {
    const op = typeof v === 'string' ? parseOperation(v) : undefined;
    if (!op)
      return fail(
        `operations[${j}] must be "METHOD /path" (METHOD one of ${METHODS.join(', ')} or *; the path as in /docs, may end in /*)`,
      );
    return op;
  });
}
