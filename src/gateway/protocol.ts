/**
 * The gateway's client protocol (docs/gateway.md): JSON messages in text frames. Client messages
 * are checked by hand so each error names the exact field, and nothing a client sends can throw
 * past `parseClientMessage`.
 */

import { AutomatrixError } from '../errors/index.ts';
import { parseTime } from '../shared/time.ts';

export const PROTOCOL_VERSION = 2;
/** Largest client frame; ws closes the connection (1009) on a bigger one. */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;

export type Scalar = string | number | boolean | null;

export interface RecordFilter {
  /** Record key equals one of these. */
  keys?: string[];
  /** Each dotted path of the decoded value equals one of its values. */
  where?: { path: string[]; values: Scalar[] }[];
}

export type StartFrom =
  | { kind: 'latest' }
  | { kind: 'earliest' }
  | { kind: 'timestamp'; timestamp: number }
  | { kind: 'offsets'; offsets: Map<number, string>; otherwise: 'latest' | 'earliest' };

export interface SubscribeRequest {
  type: 'subscribe';
  id?: string;
  topic: string;
  from: StartFrom;
  filter: RecordFilter;
}

export type ClientMessage = SubscribeRequest | { type: 'unsubscribe'; id: string } | { type: 'ping'; id?: string };

export type ProtocolErrorCode = 'invalid_json' | 'invalid_message' | 'binary_frame' | 'unknown_type';

export class ProtocolError extends AutomatrixError {
  declare readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string, field?: string) {
    super(code, message, field === undefined ? {} : { field });
  }
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const ID = /^[A-Za-z0-9._:-]{1,64}$/;
const MAX_FILTER_VALUES = 100;
/** Paths walk the decoded value's own fields only. */
const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

function fail(field: string, message: string): never {
  throw new ProtocolError('invalid_message', `${field} ${message}`, field);
}

function onlyFields(obj: Obj, allowed: string[], where: string): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) fail(where ? `${where}.${k}` : k, 'is not allowed');
}

function optionalId(obj: Obj): string | undefined {
  if (obj.id === undefined) return undefined;
  if (typeof obj.id !== 'string' || !ID.test(obj.id)) fail('id', 'must be 1 to 64 letters, digits or . _ : -');
  return obj.id;
}

/** Parses one text frame. Throws ProtocolError naming the offending field. */
export function parseClientMessage(text: string): ClientMessage {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch (err) {
    throw new ProtocolError('invalid_json', `message is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(msg)) throw new ProtocolError('invalid_message', 'message must be a JSON object with a "type"');
  switch (msg.type) {
    case 'subscribe':
      return parseSubscribe(msg);
    case 'unsubscribe': {
      onlyFields(msg, ['type', 'id'], '');
      const id = optionalId(msg);
      if (id === undefined) fail('id', 'is required');
      return { type: 'unsubscribe', id };
    }
    case 'ping':
      onlyFields(msg, ['type', 'id'], '');
      return { type: 'ping', id: optionalId(msg) };
    case undefined:
      return fail('type', 'is required (subscribe, unsubscribe or ping)');
    default:
      throw new ProtocolError(
        'unknown_type',
        `type must be subscribe, unsubscribe or ping, got ${JSON.stringify(msg.type).slice(0, 40)}`,
        'type',
      );
  }
}

function parseSubscribe(msg: Obj): SubscribeRequest {
  onlyFields(msg, ['type', 'id', 'topic', 'from', 'filter'], '');
  const id = optionalId(msg);
  if (msg.topic === undefined) fail('topic', 'is required');
  if (typeof msg.topic !== 'string' || msg.topic.length === 0 || msg.topic.length > 249)
    fail('topic', 'must be a topic name');
  return { type: 'subscribe', id, topic: msg.topic, from: parseFrom(msg.from), filter: parseFilter(msg.filter) };
}

function parseFrom(from: unknown): StartFrom {
  if (from === undefined || from === 'latest') return { kind: 'latest' };
  if (from === 'earliest') return { kind: 'earliest' };
  if (typeof from === 'string' || typeof from === 'number')
    return { kind: 'timestamp', timestamp: parseTimestamp(from, 'from') };
  if (!isObject(from)) fail('from', 'must be "latest", "earliest", a time, {"timestamp": ...} or {"offsets": {...}}');
  if (from.timestamp !== undefined) {
    onlyFields(from, ['timestamp'], 'from');
    return { kind: 'timestamp', timestamp: parseTimestamp(from.timestamp, 'from.timestamp') };
  }
  if (from.offsets !== undefined) {
    onlyFields(from, ['offsets', 'otherwise'], 'from');
    return { kind: 'offsets', offsets: parseOffsets(from.offsets), otherwise: parseOtherwise(from.otherwise) };
  }
  return fail('from', 'must have "timestamp" or "offsets"');
}

function parseTimestamp(value: unknown, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) fail(field, 'must be epoch milliseconds (a non-negative integer)');
    return value;
  }
  if (typeof value !== 'string')
    fail(field, 'must be epoch milliseconds, an ISO date-time or a relative time like -15m');
  try {
    return parseTime(value);
  } catch (err) {
    return fail(field, `is not a time: ${(err as Error).message}`);
  }
}

function parseOffsets(value: unknown): Map<number, string> {
  if (!isObject(value)) fail('from.offsets', 'must be an object of partition to next offset, e.g. {"0": "42"}');
  const entries = Object.entries(value);
  if (entries.length > 10_000) fail('from.offsets', 'has too many partitions');
  const out = new Map<number, string>();
  for (const [p, o] of entries) {
    if (!/^\d{1,6}$/.test(p)) fail(`from.offsets.${p.slice(0, 20)}`, 'must be keyed by partition number');
    const text = typeof o === 'number' && Number.isSafeInteger(o) ? String(o) : o;
    if (typeof text !== 'string' || !/^\d{1,19}$/.test(text))
      fail(`from.offsets.${p}`, 'must be a non-negative offset');
    out.set(Number(p), BigInt(text).toString());
  }
  return out;
}

function parseOtherwise(value: unknown): 'latest' | 'earliest' {
  if (value === undefined) return 'latest';
  if (value !== 'latest' && value !== 'earliest') fail('from.otherwise', 'must be "latest" or "earliest"');
  return value;
}

function isScalar(v: unknown): v is Scalar {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function parseFilter(filter: unknown): RecordFilter {
  if (filter === undefined) return {};
  if (!isObject(filter)) fail('filter', 'must be an object with "key" and/or "where"');
  onlyFields(filter, ['key', 'where'], 'filter');
  const out: RecordFilter = {};
  if (filter.key !== undefined) {
    const keys = Array.isArray(filter.key) ? filter.key : [filter.key];
    if (!keys.length || keys.length > MAX_FILTER_VALUES || !keys.every((k) => typeof k === 'string'))
      fail('filter.key', `must be a string or 1 to ${MAX_FILTER_VALUES} strings`);
    out.keys = keys as string[];
  }
  if (filter.where !== undefined) {
    if (!isObject(filter.where))
      fail('filter.where', 'must be an object of field path to value(s), e.g. {"service": "checkout"}');
    const entries = Object.entries(filter.where);
    if (!entries.length || entries.length > 16) fail('filter.where', 'must have 1 to 16 fields');
    out.where = entries.map(([path, v]) => {
      const field = `filter.where.${path.slice(0, 64)}`;
      const segments = path.split('.');
      if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+){0,7}$/.test(path) || segments.some((s) => FORBIDDEN.has(s)))
        fail(field, 'must be a dotted field path such as service or data.state');
      const values = Array.isArray(v) ? v : [v];
      if (!values.length || values.length > MAX_FILTER_VALUES || !values.every(isScalar))
        fail(field, `must be a string, number, boolean or null, or 1 to ${MAX_FILTER_VALUES} of them`);
      return { path: segments, values };
    });
  }
  return out;
}

/** True if a decoded record passes the filter. */
export function matches(filter: RecordFilter, key: string | null, value: unknown): boolean {
  if (filter.keys && (key === null || !filter.keys.includes(key))) return false;
  if (filter.where) {
    for (const cond of filter.where) {
      let v: unknown = value;
      for (const seg of cond.path) v = isObject(v) && Object.hasOwn(v, seg) ? v[seg] : undefined;
      if (!cond.values.some((want) => want === v)) return false;
    }
  }
  return true;
}

export const hasFilter = (f: RecordFilter): boolean => Boolean(f.keys || f.where);
