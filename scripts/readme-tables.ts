import { ENV, type EnvVar } from '../src/config/index.ts';
import { ERROR_CODES } from '../src/errors/index.ts';
import { TOPICS, type TopicDeclaration } from '../topics/index.ts';

const escapeCell = (s: string) => s.replace(/\|/g, '\\|');

export function configTable(): string {
  const rows = Object.values(ENV).map((v) => {
    const spec = v as EnvVar<unknown>;
    return `| \`${spec.name}\` | ${escapeCell(spec.defaultText)} | ${escapeCell(spec.description)} |`;
  });
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n');
}

function retention(ms: number): string {
  if (ms < 0) return 'forever';
  const days = ms / 86_400_000;
  return Number.isInteger(days) ? `${days} d` : `${ms / 3_600_000} h`;
}

export function topicTable(): string {
  const rows = Object.entries(TOPICS).map(([key, t]: [string, TopicDeclaration]) =>
    [
      `\`${key}\``,
      t.partitions,
      t.cleanupPolicy,
      retention(t.retentionMs),
      `\`${t.schema}.avsc\``,
      escapeCell(t.key),
      escapeCell(t.description),
    ].join(' | '),
  );
  return [
    '| Topic (after the prefix) | Partitions | Cleanup | Retention | Value schema | Key | Carries |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r} |`),
  ].join('\n');
}

/** docs/errors.md: the error codes of src/errors, for API clients and operators. */
export function errorsDoc(): string {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, c]) => `| \`${code}\` | ${c.status} | ${c.retriable ? 'yes' : 'no'} | ${escapeCell(c.doc)} |`,
  );
  return [
    '<!-- Generated from src/errors/index.ts by `npm run gen`. Do not edit by hand. -->',
    '# Error codes',
    '',
    'Every error AutoMatrix raises on purpose belongs to one family (`AutomatrixError` in `src/errors/`): a',
    'stable `code`, the HTTP status the API answers with, and whether trying again later may succeed. API',
    'error bodies carry them: `{ "statusCode": 404, "error": "Not Found", "code": "not_found", "message": "...",',
    '"field": "params.route" }`. WebSocket `error` messages use the gateway codes; CLI errors print the message.',
    '',
    '| code | HTTP status | retriable | meaning |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
