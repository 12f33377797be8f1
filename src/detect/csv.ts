/**
 * `automatrix detect`: scores a CSV `timestamp,value` stream with the same univariate detector
 * as the stream processor, writing `timestamp,value,anomaly_score` per input row. Streams in
 * bounded memory (one chunk and one output buffer at a time). The score of a row depends only
 * on that row and the rows before it.
 */

import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { AutomatrixError } from '../errors/index.ts';
import { DEFAULT_SETTINGS, type DetectorSettings, UnivariateDetector } from './univariate.ts';

export class CsvError extends AutomatrixError {
  readonly line: number;

  constructor(line: number, message: string) {
    super('csv_invalid', `line ${line}: ${message}`);
    this.line = line;
  }
}

const OUT_BATCH = 64 * 1024;

/** Epoch ms of a timestamp cell: ISO 8601 (no zone means UTC), `YYYY-MM-DD HH:MM[:SS]`, epoch seconds or milliseconds. */
export function parseTimestamp(text: string): number {
  const s = text.trim().replace(/^"|"$/g, '');
  if (/^-?\d+(\.\d+)?$/.test(s)) {
    const n = Number(s);
    // Below 1e11 it is seconds (1e11 s is the year 5138).
    return Math.abs(n) < 1e11 ? n * 1000 : n;
  }
  const iso = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/.test(s)
    ? `${s.replace(' ', 'T')}${s.length > 10 ? 'Z' : ''}`
    : s;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new Error(`timestamp "${text}" is not a date-time, epoch seconds or epoch milliseconds`);
  return t;
}

interface Columns {
  timestamp: number;
  value: number;
  count: number;
}

function header(line: string): Columns {
  const cells = line
    .replace(/^\uFEFF/, '')
    .split(',')
    .map((c) => c.trim().replace(/^"|"$/g, '').toLowerCase());
  const timestamp = cells.indexOf('timestamp');
  const value = cells.indexOf('value');
  if (timestamp < 0 || value < 0)
    throw new CsvError(1, `the header must name the columns timestamp and value (got "${line.slice(0, 80)}")`);
  return { timestamp, value, count: cells.length };
}

const HOUR_MS = 3_600_000;
/** Integers below this in the first row are row numbers, not epoch seconds (1e8 s is March 1973). */
const INDEX_LIMIT = 1e8;

/**
 * How the timestamp column reads, decided on the first data row: date-times and epoch times as
 * such; plain row numbers (small integers, as some benchmark corpora have) as one hour per step,
 * so that cycles of 24 and 168 rows can still be learned as daily and weekly seasons.
 */
function timestampReader(first: string): (text: string) => number {
  const s = first.trim().replace(/^"|"$/g, '');
  if (/^\d+$/.test(s) && Number(s) < INDEX_LIMIT) {
    return (text) => {
      const v = text.trim().replace(/^"|"$/g, '');
      if (!/^-?\d+(\.\d+)?$/.test(v)) throw new Error(`timestamp "${text}" is not a row number like the first row's`);
      return Number(v) * HOUR_MS;
    };
  }
  return parseTimestamp;
}

/** Scores `input` into `output`; resolves with the number of rows scored. Throws CsvError naming the line of a bad row. */
export async function scoreCsv(
  input: Readable,
  output: Writable,
  settings: DetectorSettings = DEFAULT_SETTINGS,
): Promise<number> {
  const detector = new UnivariateDetector(settings);
  const decoder = new StringDecoder('utf8');
  let columns: Columns | undefined;
  let readTime: ((text: string) => number) | undefined;
  let rest = '';
  let lineNo = 0;
  let rows = 0;
  let out = '';
  const flush = async () => {
    if (!out) return;
    const ok = output.write(out);
    out = '';
    if (!ok) await once(output, 'drain');
  };
  const handle = (raw: string) => {
    lineNo++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!columns) {
      if (line.trim() === '') return;
      columns = header(line);
      out += 'timestamp,value,anomaly_score\n';
      return;
    }
    if (line.trim() === '') return;
    const cells = line.split(',');
    if (cells.length < columns.count)
      throw new CsvError(lineNo, `expected ${columns.count} columns, got ${cells.length}`);
    const tsText = cells[columns.timestamp]!;
    const valueText = cells[columns.value]!.trim();
    let t: number;
    try {
      readTime ??= timestampReader(tsText);
      t = readTime(tsText);
    } catch (err) {
      throw new CsvError(lineNo, (err as Error).message);
    }
    const value = valueText === '' ? Number.NaN : Number(valueText.replace(/^"|"$/g, ''));
    if (!Number.isFinite(value)) throw new CsvError(lineNo, `value "${valueText}" is not a finite number`);
    const score = detector.update(t, value);
    out += `${tsText.trim()},${valueText},${score === 0 ? '0' : score.toFixed(6)}\n`;
    rows++;
  };
  for await (const chunk of input) {
    const text = rest + decoder.write(chunk as Buffer);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      handle(text.slice(start, nl));
      start = nl + 1;
    }
    rest = text.slice(start);
    if (out.length >= OUT_BATCH) await flush();
  }
  rest += decoder.end();
  if (rest.length) handle(rest);
  if (!columns) throw new CsvError(1, 'the input is empty: expected the header timestamp,value');
  await flush();
  return rows;
}
