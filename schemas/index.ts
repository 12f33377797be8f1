/** The Avro schemas of every topic's values. The .avsc files are the source; types.ts is generated from them. */
import { readFileSync } from 'node:fs';
import type { SchemaTypes } from './types.ts';

export * from './types.ts';
export { liftPrefixedMetrics, UPGRADES } from './upgrades.ts';
export type SchemaFile = keyof SchemaTypes;

const cache = new Map<SchemaFile, object>();

/** The parsed Avro schema (JSON) of `schemas/<name>.avsc`. */
export function loadSchema(name: SchemaFile): object {
  let schema = cache.get(name);
  if (!schema) {
    schema = JSON.parse(readFileSync(new URL(`./${name}.avsc`, import.meta.url), 'utf8')) as object;
    cache.set(name, schema);
  }
  return schema;
}
