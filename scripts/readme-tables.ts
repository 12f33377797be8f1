import { ENV, type EnvVar } from '../src/config/index.ts';
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
