/**
 * Who may do what. Without any token configured everything is open (development). With tokens
 * (API_TOKEN, API_TOKENS, API_TOKENS_FILE), an operation needs one when it changes something
 * (POST, PUT, PATCH, DELETE; except those a route declares read-only, such as predictions) or
 * streams topic records (the WebSockets and the SSE feed, `access: 'stream'`); reads are open.
 * Each token may call the operations and read the topics it was granted.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../config/index.ts';
import { type OperationPattern, operationMatches, sha256, type TokenGrant } from './grants.ts';

/**
 * What a route needs. `read`: nothing (the default of GET, and of a POST that changes nothing);
 * `write`: a token granted the operation (the default of POST, PUT, PATCH, DELETE);
 * `stream`: any token (the gateway then checks each topic against it).
 */
export type Access = 'read' | 'write' | 'stream';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * A route's access: declared in its `config.access`; `read` if its OpenAPI operation says it needs no
 * security (`security: []`); else from its method.
 */
export function routeAccess(
  method: string,
  config: { access?: Access } | undefined,
  schema?: { security?: unknown },
): Access {
  if (config?.access) return config.access;
  if (Array.isArray(schema?.security) && schema.security.length === 0) return 'read';
  return MUTATING.has(method) ? 'write' : 'read';
}

/** Who presented a token, and what it may do. */
export interface Principal {
  name: string;
  topics: '*' | ReadonlySet<string>;
  operations: '*' | readonly OperationPattern[];
}

/** Everyone, when no token is configured. */
const OPEN: Principal = { name: 'anonymous', topics: '*', operations: '*' };

/** The token a request carries: `Authorization: Bearer <t>`, `X-API-Token: <t>`, or `?token=<t>` (browsers' WebSockets cannot set headers). */
export function presentedToken(headers: IncomingHttpHeaders, url?: string): string | undefined {
  const auth = headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const header = headers['x-api-token'];
  if (typeof header === 'string') return header;
  if (url) {
    const q = new URL(url, 'http://x').searchParams.get('token');
    if (q) return q;
  }
  return undefined;
}

/** Constant-time comparison (over digests, so lengths leak nothing either). */
export function tokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  return timingSafeEqual(sha256(expected), sha256(presented));
}

export class AccessPolicy {
  private readonly grants: { digest: Buffer; principal: Principal }[];

  constructor(grants: readonly TokenGrant[]) {
    this.grants = grants.map((g) => ({
      digest: g.digest,
      principal: { name: g.name, topics: g.topics === '*' ? '*' : new Set(g.topics), operations: g.operations },
    }));
  }

  /** API_TOKEN (everything) and the granted tokens of API_TOKENS and API_TOKENS_FILE. */
  static fromConfig(config: Pick<Config, 'API_TOKEN' | 'API_TOKENS' | 'API_TOKENS_FILE'>): AccessPolicy {
    const single: TokenGrant[] = config.API_TOKEN
      ? [{ name: 'API_TOKEN', digest: sha256(config.API_TOKEN), topics: '*', operations: '*' }]
      : [];
    return new AccessPolicy([...single, ...config.API_TOKENS, ...config.API_TOKENS_FILE]);
  }

  /** False when no token is configured: everything is open. */
  get enabled(): boolean {
    return this.grants.length > 0;
  }

  /** True when some token is limited to some operations (refusals can then be 403). */
  get scoped(): boolean {
    return this.grants.some((g) => g.principal.operations !== '*');
  }

  /** The token's holder (everyone when no token is configured); compared in constant time with every token. */
  authenticate(presented: string | undefined): Principal | undefined {
    if (!this.enabled) return OPEN;
    if (presented === undefined) return undefined;
    const digest = sha256(presented);
    let found: Principal | undefined;
    for (const g of this.grants) if (timingSafeEqual(g.digest, digest)) found ??= g.principal;
    return found;
  }

  /** Patterns of granted operations, to check against the routes at start. */
  patterns(): { token: string; pattern: OperationPattern }[] {
    return this.grants.flatMap((g) =>
      g.principal.operations === '*'
        ? []
        : g.principal.operations.map((pattern) => ({ token: g.principal.name, pattern })),
    );
  }
}

export function mayCall(p: Principal, method: string, route: string): boolean {
  return p.operations === '*' || p.operations.some((o) => operationMatches(o, method, route));
}

export function mayRead(p: Principal, topic: string): boolean {
  return p.topics === '*' || p.topics.has(topic);
}

/** What a token may read, for messages: `*` or the list. */
export function readable(p: Principal): string {
  return p.topics === '*' ? 'every served topic' : [...p.topics].join(', ') || 'no topic';
}
