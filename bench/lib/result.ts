/** Every benchmark ends here: its figures go to bench/results/<name>.json and one `RESULT {json}` line. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { arch, cpus, totalmem } from 'node:os';

export function writeResult(
  name: string,
  headline: Record<string, unknown>,
  details: Record<string, unknown> = {},
): void {
  const dir = new URL('../results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const machine = {
    node: process.version,
    arch: arch(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memGiB: Math.round(totalmem() / 2 ** 30),
  };
  writeFileSync(
    new URL(`${name}.json`, dir),
    `${JSON.stringify({ name, at: new Date().toISOString(), machine, ...headline, details }, null, 2)}\n`,
  );
  console.log(`RESULT ${JSON.stringify(headline)}`);
}

/** Percentile of a sorted-or-not sample (nearest rank). */
export function percentile(values: number[], p: number): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** A fixed-width text table for the console. */
export function table(rows: Record<string, string | number>[]): string {
  if (!rows.length) return '';
  const cols = Object.keys(rows[0]!);
  const fmt = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [
    line(cols),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(cols.map((c) => fmt(r[c] ?? '')))),
  ].join('\n');
}
