/**
 * Executes `webhook` actions: a JSON POST of the action to the configured URL, only if its host
 * is on the allow-list (checked at start and again here), with a timeout and one retry. The URL
 * is a secret (credentials, or a token in its path as chat webhooks have): no message names it.
 */
import type { OrchestratorAction } from '../../schemas/types.ts';

export interface WebhookSettings {
  url: string | undefined;
  allowedHosts: readonly string[];
  timeoutMs?: number;
}

/** Why a URL may not be called, or undefined if it may. */
export function webhookRefusal(url: string, allowedHosts: readonly string[]): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'the webhook URL is not a URL';
  }
  const host = parsed.hostname.toLowerCase();
  const hostPort = parsed.port ? `${host}:${parsed.port}` : host;
  const allowed = allowedHosts.map((h) => h.toLowerCase());
  if (allowed.includes(host) || allowed.includes(hostPort)) return undefined;
  return `host ${hostPort} is not in ORCH_WEBHOOK_ALLOWED_HOSTS`;
}

/** POSTs the action; resolves with the action's final status and error. */
export async function executeWebhook(
  action: OrchestratorAction,
  settings: WebhookSettings,
): Promise<{ status: 'EXECUTED' | 'FAILED' | 'SKIPPED'; error: string | null }> {
  if (!settings.url) return { status: 'SKIPPED', error: 'no webhook configured (ORCH_WEBHOOK_URL)' };
  const refusal = webhookRefusal(settings.url, settings.allowedHosts);
  if (refusal) return { status: 'FAILED', error: refusal };
  const { target, authorization } = withoutCredentials(settings.url);
  let last = '';
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      const res = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': action.id, ...authorization },
        body: JSON.stringify(action),
        redirect: 'manual',
        signal: AbortSignal.timeout(settings.timeoutMs ?? 5000),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { status: 'EXECUTED', error: null };
      last = `HTTP ${res.status}`;
      if (res.status < 500) break;
    } catch (err) {
      last = networkError(err);
    }
  }
  return { status: 'FAILED', error: `webhook POST failed: ${last}` };
}

/** fetch refuses URLs with credentials: they become a Basic Authorization header. */
function withoutCredentials(url: string): { target: string; authorization: Record<string, string> } {
  const parsed = new URL(url);
  if (!parsed.username && !parsed.password) return { target: url, authorization: {} };
  const basic = Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString(
    'base64',
  );
  parsed.username = '';
  parsed.password = '';
  return { target: parsed.toString(), authorization: { authorization: `Basic ${basic}` } };
}

/** What went wrong, without the URL (fetch's messages may quote it). */
function networkError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timed out';
  return e.cause?.code ?? e.name ?? 'network error';
}
