import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const digest = (s: string) => createHash('sha256').update(s).digest();

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
  return timingSafeEqual(digest(expected), digest(presented));
}

export const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** A route whose OpenAPI operation declares `security: []` needs no token, even when API_TOKEN is set. */
export const isOpen = (schema: { security?: unknown } | undefined): boolean =>
  Array.isArray(schema?.security) && schema.security.length === 0;
