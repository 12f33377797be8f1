import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, createReadStream, createWriteStream, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Random } from '../../src/timeseries/random.ts';

const dir = tmpdir();
const files: string[] = [];
afterAll(() =>
  files.forEach((f) => {
    rmSync(f, { force: true });
  }),
);

/** A CSV of `rows` samples, one a minute, a daily cycle with noise and a few spikes. */
async function writeSeries(rows: number): Promise<string> {
  const path = join(dir, `detect-${rows}-${process.pid}.csv`);
  files.push(path);
  const out = createWriteStream(path);
  const rng = new Random(rows);
  out.write('timestamp,value\n');
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    const t = 1_700_000_000 + i * 60;
    const v =
      100 + 20 * Math.sin((2 * Math.PI * (t % 86_400)) / 86_400) + 2 * rng.normal() + (i % 50_000 === 49_999 ? 60 : 0);
    chunk += `${t},${v.toFixed(3)}\n`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return path;
}

/** Runs `automatrix detect --input` with stdout to a file, sampling the child's peak RSS (VmHWM) while it runs. */
async function detect(
  input: string,
): Promise<{ code: number | null; stderr: string; peakRssMb: number; output: string }> {
  const output = `${input}.out`;
  files.push(output);
  const fd = openSync(output, 'w');
  const child = spawn(process.execPath, ['bin/automatrix.js', 'detect', '--input', input], {
    stdio: ['ignore', fd, 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  let peak = 0;
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch {
      /* exited */
    }
  }, 50);
  const [code] = (await once(child, 'close')) as [number | null];
  clearInterval(poll);
  closeSync(fd);
  return { code, stderr, peakRssMb: peak, output };
}

async function countLines(path: string): Promise<{ lines: number; maxScore: number; header: string }> {
  let lines = 0;
  let maxScore = 0;
  let header = '';
  let rest = '';
  for await (const chunk of createReadStream(path, { encoding: 'utf8' })) {
    const parts = (rest + (chunk as string)).split('\n');
    rest = parts.pop()!;
    for (const p of parts) {
      if (lines === 0) header = p;
      else maxScore = Math.max(maxScore, Number(p.slice(p.lastIndexOf(',') + 1)));
      lines++;
    }
  }
  return { lines, maxScore, header };
}

describe('automatrix detect on large files', () => {
  it('scores 1,000,000 rows in memory that does not grow with the input', async () => {
    const small = await detect(await writeSeries(100_000));
    const large = await detect(await writeSeries(1_000_000));
    expect(large.code, large.stderr).toBe(0);
    const out = await countLines(large.output);
    expect(out.header).toBe('timestamp,value,anomaly_score');
    expect(out.lines).toBe(1_000_001);
    expect(out.maxScore).toBeGreaterThan(0.9);
    console.log(
      `peak RSS: ${small.peakRssMb.toFixed(0)} MB for 100k rows, ${large.peakRssMb.toFixed(0)} MB for 1M rows`,
    );
    expect(large.peakRssMb).toBeGreaterThan(0);
    // Ten times the rows, (nearly) the same memory: streaming, not buffering.
    expect(large.peakRssMb).toBeLessThan(small.peakRssMb + 40);
  }, 240_000);
});
