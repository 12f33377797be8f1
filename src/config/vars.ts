/**
 * Building blocks for declaring environment variables. Each variable is declared once
 * (name, parser, default, description); the Config type, validation and the README's
 * configuration table are all derived from these declarations.
 */
import { AutomatrixError } from '../errors/index.ts';

export class ConfigError extends AutomatrixError {
  readonly variable: string;

  constructor(variable: string, detail: string) {
    super('config_invalid', `${variable} ${detail}`);
    this.variable = variable;
  }
}

export interface EnvVar<T> {
  readonly name: string;
  readonly description: string;
  /** Shown in the README; `undefined` means "unset". */
  readonly defaultText: string;
  /** Secrets are never logged or echoed in errors. */
  readonly secret?: boolean;
  parse(raw: string | undefined): T;
}

type Parser<T> = (raw: string) => T;

interface VarOptions<T> {
  description: string;
  default?: T;
  defaultText?: string;
  secret?: boolean;
}

/** A variable with a default always has a value; one without may be undefined. */
type Parsed<T, O> = O extends { default: T } ? T : T | undefined;

function declare<T, O extends VarOptions<T>>(name: string, parse: Parser<T>, opts: O): EnvVar<Parsed<T, O>> {
  return {
    name,
    description: opts.description,
    secret: opts.secret,
    defaultText: opts.defaultText ?? (opts.default === undefined ? '(unset)' : formatDefault(opts.default)),
    parse(raw) {
      if (raw === undefined || raw.trim() === '') return opts.default as Parsed<T, O>;
      try {
        return parse(raw.trim()) as Parsed<T, O>;
      } catch (err) {
        const shown = opts.secret ? '' : `, got "${raw}"`;
        throw new ConfigError(name, `${(err as Error).message}${shown}`);
      }
    },
  };
}

function formatDefault(value: unknown): string {
  if (Array.isArray(value)) return value.length ? value.join(',') : '(empty)';
  return String(value);
}

export const str = <O extends VarOptions<string>>(name: string, opts: O) =>
  declare<string, O>(name, (raw) => raw, opts);

export function int<O extends VarOptions<number>>(name: string, min: number, max: number, opts: O) {
  return declare<number, O>(
    name,
    (raw) => {
      const n = Number(raw);
      if (!/^-?\d+$/.test(raw) || n < min || n > max) throw new Error(`must be an integer from ${min} to ${max}`);
      return n;
    },
    opts,
  );
}

export function num<O extends VarOptions<number>>(name: string, min: number, max: number, opts: O) {
  return declare<number, O>(
    name,
    (raw) => {
      const n = Number(raw);
      if (!Number.isFinite(n) || n < min || n > max) throw new Error(`must be a number from ${min} to ${max}`);
      return n;
    },
    opts,
  );
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

export const bool = <O extends VarOptions<boolean>>(name: string, opts: O) =>
  declare<boolean, O>(
    name,
    (raw) => {
      const v = raw.toLowerCase();
      if (TRUE.has(v)) return true;
      if (FALSE.has(v)) return false;
      throw new Error('must be true or false');
    },
    opts,
  );

export function oneOf<const V extends string, O extends VarOptions<V> = VarOptions<V>>(
  name: string,
  values: readonly V[],
  opts: O,
) {
  return declare<V, O>(
    name,
    (raw) => {
      if (!(values as readonly string[]).includes(raw)) throw new Error(`must be one of ${values.join(', ')}`);
      return raw as V;
    },
    opts,
  );
}

/** Comma-separated list; each item checked by `item` (which throws with a reason). */
export function list<O extends VarOptions<string[]>>(name: string, item: (value: string) => void, opts: O) {
  return declare<string[], O>(
    name,
    (raw) => {
      const items = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const value of items) item(value);
      return items;
    },
    opts,
  );
}

export function hostPort(value: string): void {
  const m = /^([A-Za-z0-9.\-_]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
    throw new Error(`must be host:port items separated by commas ("${value}" is not)`);
}

export function httpUrl(value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('must be an http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('must be an http(s) URL');
}

export const url = <O extends VarOptions<string>>(name: string, opts: O) =>
  declare<string, O>(
    name,
    (raw) => {
      httpUrl(raw);
      return raw.replace(/\/+$/, '');
    },
    opts,
  );

export type ValueOf<V> = V extends EnvVar<infer T> ? T : never;
