/**
 * Regenerates every derived file: TypeScript types from the Avro schemas, and the README's
 * configuration and topic tables from their declarations. `--check` fails instead of writing
 * when something is stale (the test suite runs it that way).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateTypes } from './avro-to-ts.ts';
import { configTable, errorsDoc, topicTable } from './readme-tables.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const check = process.argv.includes('--check');

export function expectedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  files.set('schemas/types.ts', generateTypes(`${root}schemas`));
  let readme = readFileSync(`${root}README.md`, 'utf8');
  readme = replaceSection(readme, 'config', configTable());
  readme = replaceSection(readme, 'topics', topicTable());
  files.set('README.md', readme);
  files.set('docs/errors.md', errorsDoc());
  return files;
}

function replaceSection(text: string, name: string, body: string): string {
  const start = `<!-- generated:${name} -->`;
  const end = `<!-- /generated:${name} -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`README.md lacks the ${start} … ${end} markers`);
  return `${text.slice(0, i + start.length)}\n${body}\n${text.slice(j)}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  let stale = 0;
  for (const [path, content] of expectedFiles()) {
    let current = '';
    try {
      current = readFileSync(`${root}${path}`, 'utf8');
    } catch {
      /* missing counts as stale */
    }
    if (current === content) continue;
    stale++;
    if (check) console.error(`${path} is out of date: run npm run gen`);
    else writeFileSync(`${root}${path}`, content);
  }
  if (check && stale) process.exit(1);
  if (!check) console.log(stale ? `regenerated ${stale} file(s)` : 'everything up to date');
}
