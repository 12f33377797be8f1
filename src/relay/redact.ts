/**
 * Routes carry credentials: endpoint headers such as `authorization`, a password in a target URL,
 * a token in its query. The API and the status page show routes with those values replaced, and a
 * route written back with a replaced value keeps the stored one, so read-modify-write works.
 */
import type { Endpoint, Route } from '../../schemas/types.ts';

export const REDACTED = '[redacted]';

/** Header and query parameter names whose values are treated as secrets. */
const SECRET_NAME = /auth|token|secret|passw|api[-_]?key|access[-_]?key|cookie|credential|signature|session|private/i;

export const isSecretName = (name: string): boolean => SECRET_NAME.test(name);

export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, isSecretName(k) ? REDACTED : v]));
}

/** The URL with its password and secret-looking query values replaced (a Kafka topic is returned as is). */
export function redactTarget(target: string): string {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return target;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return target;
  let changed = false;
  if (url.password) {
    url.password = REDACTED;
    changed = true;
  }
  for (const [name] of [...url.searchParams]) {
    if (!isSecretName(name)) continue;
    url.searchParams.set(name, REDACTED);
    changed = true;
  }
  return changed ? url.toString() : target;
}

export function redactEndpoint(e: Endpoint): Endpoint {
  return { ...e, target: redactTarget(e.target), headers: redactHeaders(e.headers) };
}

export function redactRoute(route: Route): Route {
  return { ...route, endpoints: route.endpoints.map(redactEndpoint) };
}

/** A route from the API: values it carries as `[redacted]` take the stored route's values back. */
export function restoreRedacted(route: Route, stored: Route | undefined): Route {
  if (!stored) return route;
  return {
    ...route,
    endpoints: route.endpoints.map((e) => {
      const old = stored.endpoints.find((o) => o.id === e.id);
      if (!old) return e;
      const headers = Object.fromEntries(
        Object.entries(e.headers).map(([k, v]) => [
          k,
          v === REDACTED && old.headers[k] !== undefined ? old.headers[k] : v,
        ]),
      );
      const target = e.target === redactTarget(old.target) ? old.target : e.target;
      return { ...e, target, headers };
    }),
  };
}
