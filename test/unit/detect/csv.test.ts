import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type CsvError, parseTimestamp, scoreCsv } from '../../../src/detect/csv.ts';
import { UnivariateDetector } from '../../../src/detect/univariate.ts';

async function score(text: string | string[]): Promise<string[]> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await scoreCsv(Readable.from(Array.isArray(text) ? text.map((t) => Buffer.from(t)) : [Buffer.from(text)]), out);
  return Buffer.concat(chunks).toString().trim().split('\n');
}

async function failure(text: string): Promise<CsvError> {
  try {
    await score(text);
  } catch (err) {
    return err as CsvError;
  }
  throw new Error('expected a CsvError');
}

describe('automatrix detect (CSV scoring)', () => {
  it('writes timestamp,value,anomaly_score for every input row, echoing the input cells', async () => {
    const rows = Array.from(
      { length: 200 },
      (_, i) => `2026-01-01 00:${String(i % 60).padStart(2, '0')}:00,${(10 + (i % 7)).toFixed(1)}`,
    );
    const lines = await score(`timestamp,value\n${rows.join('\n')}\n`);
    expect(lines[0]).toBe('timestamp,value,anomaly_score');
    expect(lines).toHaveLength(201);
    expect(lines[1]).toBe('2026-01-01 00:00:00,10.0,0');
    for (const l of lines.slice(1)) {
      const s = Number(l.split(',')[2]);
      expect(s >= 0 && s <= 1).toBe(true);
    }
  });

  it('gives the same scores as the detector the stream processor uses, and splits chunks anywhere', async () => {
    const values = Array.from({ length: 300 }, (_, i) => 50 + Math.sin(i / 5) * 3 + (i === 250 ? 40 : 0));
    const text = `timestamp,value\r\n${values.map((v, i) => `${1_700_000_000 + i * 60},${v}`).join('\r\n')}`;
    const pieces = text.match(/[\s\S]{1,37}/g)!;
    const lines = await score(pieces);
    const d = new UnivariateDetector();
    const expected = values.map((v, i) => d.update((1_700_000_000 + i * 60) * 1000, v));
    expect(lines.slice(1).map((l) => Number(l.split(',')[2]))).toEqual(
      expected.map((s) => (s === 0 ? 0 : Number(s.toFixed(6)))),
    );
    expect(Number(lines[251]!.split(',')[2])).toBeGreaterThan(0.5);
  });

  it('accepts extra columns, a BOM and quoted headers', async () => {
    const lines = await score(
      '\uFEFF"value","label","timestamp"\n1,0,2026-01-01T00:00:00Z\n2,0,2026-01-01T00:01:00Z\n',
    );
    expect(lines).toEqual(['timestamp,value,anomaly_score', '2026-01-01T00:00:00Z,1,0', '2026-01-01T00:01:00Z,2,0']);
  });

  it('names the line of a bad row', async () => {
    expect((await failure('timestamp,value\n2026-01-01,1\n2026-01-02,abc\n')).message).toBe(
      'line 3: value "abc" is not a finite number',
    );
    expect((await failure('timestamp,value\n2026-01-01,1\nyesterday,2\n')).message).toMatch(
      /^line 3: timestamp "yesterday" is not a date-time/,
    );
    expect((await failure('timestamp,value\n2026-01-01,1\n2026-01-02\n')).message).toBe(
      'line 3: expected 2 columns, got 1',
    );
    expect((await failure('time,val\n1,2\n')).message).toMatch(
      /^line 1: the header must name the columns timestamp and value/,
    );
    expect((await failure('')).message).toMatch(/the input is empty/);
  });

  it('reads plain row numbers as one hour per row (and echoes them as given)', async () => {
    const rows = Array.from(
      { length: 24 * 8 },
      (_, i) => `${i + 1},${(100 + 30 * Math.sin((2 * Math.PI * i) / 24) + (i === 24 * 7 + 5 ? 25 : 0)).toFixed(3)}`,
    );
    const lines = await score(`timestamp,value\n${rows.join('\n')}\n`);
    const scores = lines.slice(1).map((l) => Number(l.split(',')[2]));
    expect(lines[1]!.startsWith('1,')).toBe(true);
    expect(scores[24 * 7 + 5]).toBeGreaterThan(0.5);
    expect(scores.slice(24 * 2).filter((x) => x >= 0.5).length).toBeLessThanOrEqual(2);
  });

  it('learns a 24-row cycle of row-numbered data as a daily season', () => {
    const d = new UnivariateDetector();
    for (let i = 1; i <= 24 * 4; i++)
      d.update(i * 3_600_000, 100 + 30 * Math.sin((2 * Math.PI * i) / 24) + ((i * 7919) % 11) / 11);
    expect(d.activeModels().baseline).toBe('daily');
  });

  it('reads epoch seconds, epoch milliseconds and zoneless date-times as UTC', () => {
    expect(parseTimestamp('1700000000')).toBe(1_700_000_000_000);
    expect(parseTimestamp('1700000000000')).toBe(1_700_000_000_000);
    expect(parseTimestamp('2026-01-01 10:00:00')).toBe(Date.UTC(2026, 0, 1, 10));
    expect(parseTimestamp('2026-01-01T10:00:00+02:00')).toBe(Date.UTC(2026, 0, 1, 8));
  });
});
