/** The documented examples: fenced blocks of the README and docs/, and running their shell commands. */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { collect, type Finished } from './process.ts';

export const REPO = join(import.meta.dirname, '..', '..');

export interface Block {
  file: string;
  lang: string;
  text: string;
}

/** README.md, then docs/*.md, in that order. */
export function documentationFiles(): string[] {
  const docs = readdirSync(join(REPO, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort();
  return ['README.md', ...docs.map((f) => `docs/${f}`)];
}

export function fencedBlocks(file: string): Block[] {
  const blocks: Block[] = [];
  const re = /^```(\w*)\n([\s\S]*?)^```$/gm;
  const text = readFileSync(join(REPO, file), 'utf8');
  for (let m = re.exec(text); m; m = re.exec(text)) blocks.push({ file, lang: m[1] ?? '', text: m[2] ?? '' });
  return blocks;
}

/** The commands of a shell block: continuation lines joined, comment lines and blank lines dropped. */
export function shellCommands(block: string): string[] {
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

export function runShell(command: string, env: Record<string, string>, timeoutMs = 180_000): Promise<Finished> {
  const child = spawn('bash', ['-c', command], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(child, timeoutMs);
}
