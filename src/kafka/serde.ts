/**
 * Encodes and decodes topic values. Avro through the schema registry in the Confluent wire
 * format (magic byte 0, 4-byte schema id, Avro body), and plain JSON from producers that do
 * not use the registry, validated against the same schema. Anything else is a DecodeError.
 */
import registryPkg from '@kafkajs/confluent-schema-registry';
import avsc from 'avsc';
import { loadSchema, UPGRADES } from '../../schemas/index.ts';
import type { SchemaInputs } from '../../schemas/types.ts';
import type { TopicKey, TopicSchema, TopicValue } from '../../topics/index.ts';
import { AutomatrixError, codeOfStatus } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';
import type { TopicCatalog } from './catalog.ts';
import { DecodeError, EncodeError, RegistryUnavailableError, SchemaRegistrationError } from './errors.ts';

const { SchemaRegistry, SchemaType } = registryPkg;
type AvroType = avsc.Type;
type Resolver = ReturnType<AvroType['createResolver']>;

export type TopicInput<K extends TopicKey> = SchemaInputs[TopicSchema<K>];

export interface Decoded<K extends TopicKey> {
  value: TopicValue<K>;
  format: 'avro' | 'json';
  /** Writer schema id, for Avro values. */
  schemaId: number | null;
}

const MAGIC = 0;
const UNREACHABLE_HOLD_MS = 1000;
const HEADER = 5;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class Serde {
  private readonly registry: InstanceType<typeof SchemaRegistry>;
  private readonly readers = new Map<TopicKey, AvroType>();
  private readonly ids = new Map<TopicKey, number>();
  private readonly headers = new Map<TopicKey, Buffer>();
  /** Resolvers from a writer schema id to a topic's reader schema. */
  private readonly resolvers = new Map<string, Resolver>();
  private readonly fetching = new Map<number, Promise<AvroType>>();
  private unreachableUntil = 0;
  /** Where `encode` writes before copying out. */
  private scratch = Buffer.allocUnsafe(64 * 1024);
  private unreachableReason = '';

  readonly registryUrl: string;
  private readonly catalog: TopicCatalog;
  private readonly log: Logger | undefined;

  constructor(registryUrl: string, catalog: TopicCatalog, log?: Logger) {
    this.registryUrl = registryUrl;
    this.catalog = catalog;
    this.log = log;
    this.registry = new SchemaRegistry({ host: registryUrl, retry: { retries: 2, initialRetryTimeInSecs: 0.2 } });
  }

  /** The Avro type our code reads a topic's values as. */
  readerType(key: TopicKey): AvroType {
    let type = this.readers.get(key);
    if (!type) {
      type = avsc.Type.forSchema(loadSchema(this.catalog.declaration(key).schema) as avsc.Schema);
      this.readers.set(key, type);
    }
    return type;
  }

  /**
   * Registers each topic's schema under `<topic>-value` with BACKWARD compatibility.
   * An incompatible change throws SchemaRegistrationError carrying the registry's reason.
   */
  async registerAll(keys: readonly TopicKey[] = this.catalog.keys()): Promise<Map<TopicKey, number>> {
    for (const key of keys) await this.register(key);
    return new Map(this.ids);
  }

  async register(key: TopicKey): Promise<number> {
    const subject = this.catalog.subject(key);
    const schema = JSON.stringify(loadSchema(this.catalog.declaration(key).schema));
    await this.setCompatibility(subject, 'BACKWARD');
    let id: number;
    try {
      ({ id } = await this.registry.register(
        { type: SchemaType.AVRO, schema },
        { subject, compatibility: 'BACKWARD' as never },
      ));
    } catch (err) {
      throw this.registrationError(subject, err);
    }
    this.ids.set(key, id);
    const header = Buffer.alloc(HEADER);
    header.writeUInt8(MAGIC, 0);
    header.writeInt32BE(id, 1);
    this.headers.set(key, header);
    this.log?.debug({ subject, id }, 'schema registered');
    return id;
  }

  /** Subjects in the registry (Apicurio lists at most 1000: ask for a known name with hasSubject). */
  async subjects(): Promise<string[]> {
    return (await this.registryCall('GET', '/subjects')) as string[];
  }

  async hasSubject(subject: string): Promise<boolean> {
    try {
      await this.registryCall('GET', `/subjects/${encodeURIComponent(subject)}/versions`);
      return true;
    } catch (err) {
      if (err instanceof RegistryUnavailableError) throw err;
      return false;
    }
  }

  /** Deletes a subject and its schema versions for good (soft, then permanent, as the Confluent API wants). */
  async deleteSubject(subject: string): Promise<void> {
    const path = `/subjects/${encodeURIComponent(subject)}`;
    await this.registryCall('DELETE', path);
    await this.registryCall('DELETE', `${path}?permanent=true`);
  }

  private async registryCall(method: string, path: string): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.registryUrl}${path}`, { method, signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      throw new RegistryUnavailableError(this.registryUrl, (err as Error).message);
    }
    const text = await res.text();
    if (!res.ok)
      throw new AutomatrixError(
        codeOfStatus(res.status) ?? 'unavailable',
        `${method} ${path}: the registry answered ${res.status} ${text.slice(0, 200)}`,
      );
    return text ? JSON.parse(text) : null;
  }

  /** Schema id our encoder writes for a topic (after registration). */
  schemaId(key: TopicKey): number | undefined {
    return this.ids.get(key);
  }

  private async setCompatibility(subject: string, level: string): Promise<void> {
    let res: Response;
    try {
      res = await fetch(`${this.registryUrl}/config/${encodeURIComponent(subject)}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
        body: JSON.stringify({ compatibility: level }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new RegistryUnavailableError(this.registryUrl, (err as Error).message);
    }
    if (!res.ok)
      throw new SchemaRegistrationError(
        subject,
        `setting ${level} compatibility: HTTP ${res.status} ${await res.text()}`,
      );
  }

  private registrationError(subject: string, err: unknown): Error {
    const e = err as { status?: number; message?: string };
    if (registryUnreachable(err)) return new RegistryUnavailableError(this.registryUrl, e.message ?? String(err));
    const reason = (e.message ?? String(err)).replace(/^Confluent_Schema_Registry - /, '');
    // An incompatible change of our own schemas means the subject was registered by an older AutoMatrix.
    const hint = /incompatible/i.test(reason)
      ? ' (registered by an earlier AutoMatrix version: see "Upgrading" in the README)'
      : '';
    return new SchemaRegistrationError(subject, `${reason}${hint}`);
  }

  /** Avro-encodes a value in the Confluent wire format. Throws EncodeError naming the fields that do not fit. */
  encode<K extends TopicKey>(key: K, value: TopicInput<K>): Buffer {
    const header = this.headers.get(key);
    if (!header)
      throw new Error(`schema for ${this.catalog.name(key)} is not registered yet: call registerAll() first`);
    const type = this.readerType(key);
    try {
      // Into a scratch buffer after the header, then one copy out: no intermediate body buffer.
      let end = type.encode(value, this.scratch, HEADER);
      while (end < 0) {
        this.scratch = Buffer.allocUnsafe(this.scratch.length * 2 - end);
        header.copy(this.scratch);
        end = type.encode(value, this.scratch, HEADER);
      }
      header.copy(this.scratch);
      return Buffer.from(this.scratch.subarray(0, end));
    } catch {
      throw new EncodeError(this.catalog.name(key), invalidPaths(type, value));
    }
  }

  /** Decodes a value of a topic, Avro or JSON. Throws DecodeError; `retriable` tells a registry outage from bad data. */
  async decode<K extends TopicKey>(key: K, buf: Buffer | null): Promise<Decoded<K>> {
    return this.decodeNow(key, buf) ?? this.decodeAvro(key, buf!);
  }

  /**
   * Decodes without waiting when it can: JSON, or Avro whose writer schema is known. Null when the
   * writer schema must first be fetched from the registry (then use `decode`). Throws DecodeError.
   */
  decodeNow<K extends TopicKey>(key: K, buf: Buffer | null): Decoded<K> | null {
    if (!buf || buf.length === 0) throw new DecodeError('empty_value', 'value is empty');
    if (buf[0] !== MAGIC) return { value: this.decodeJson(key, buf), format: 'json', schemaId: null };
    if (buf.length < HEADER)
      throw new DecodeError('invalid_avro', `value has the Avro magic byte but only ${buf.length} bytes`);
    const id = buf.readInt32BE(1);
    const resolver = this.resolvers.get(`${key}:${id}`);
    return resolver ? this.readAvro(key, id, buf, resolver) : null;
  }

  private readAvro<K extends TopicKey>(key: K, id: number, buf: Buffer, resolver: Resolver): Decoded<K> {
    let value: unknown;
    try {
      value = this.readerType(key).fromBuffer(buf.subarray(HEADER), resolver);
    } catch (err) {
      throw new DecodeError('invalid_avro', `Avro body does not decode with schema ${id}: ${(err as Error).message}`);
    }
    return { value: this.upgraded(key, value as TopicValue<K>), format: 'avro', schemaId: id };
  }

  /** A value of an older shape of the topic's schema, read as the current one (schemas/upgrades.ts). */
  private upgraded<K extends TopicKey>(key: K, value: TopicValue<K>): TopicValue<K> {
    const upgrade = UPGRADES[this.catalog.declaration(key).schema] as ((v: TopicValue<K>) => TopicValue<K>) | undefined;
    return upgrade ? upgrade(value) : value;
  }

  private async decodeAvro<K extends TopicKey>(key: K, buf: Buffer): Promise<Decoded<K>> {
    if (buf.length < HEADER)
      throw new DecodeError('invalid_avro', `value has the Avro magic byte but only ${buf.length} bytes`);
    const id = buf.readInt32BE(1);
    const resolver = await this.resolver(key, id, this.readerType(key));
    return this.readAvro(key, id, buf, resolver);
  }

  private async resolver(key: TopicKey, id: number, reader: AvroType): Promise<Resolver> {
    const cacheKey = `${key}:${id}`;
    const cached = this.resolvers.get(cacheKey);
    if (cached) return cached;
    const writer = await this.writerSchema(id);
    let resolver: Resolver;
    try {
      resolver = reader.createResolver(writer);
    } catch (err) {
      throw new DecodeError(
        'incompatible_schema',
        `schema id ${id} cannot be read as ${this.catalog.name(key)}: ${(err as Error).message}`,
      );
    }
    this.resolvers.set(cacheKey, resolver);
    return resolver;
  }

  /**
   * A writer schema from the registry. Lookups of one id share one request, and for a second after
   * the registry proved unreachable, lookups fail at once: a backlog of values with new schema ids
   * must not queue a request (and its retries) each while the registry is down.
   */
  private async writerSchema(id: number): Promise<AvroType> {
    if (Date.now() < this.unreachableUntil)
      throw new DecodeError('registry_unavailable', `schema id ${id} could not be fetched: ${this.unreachableReason}`);
    let fetching = this.fetching.get(id);
    if (!fetching) {
      fetching = (this.registry.getSchema(id) as Promise<unknown> as Promise<AvroType>).finally(() =>
        this.fetching.delete(id),
      );
      this.fetching.set(id, fetching);
    }
    try {
      return await fetching;
    } catch (err) {
      if (registryUnreachable(err)) {
        this.unreachableUntil = Date.now() + UNREACHABLE_HOLD_MS;
        this.unreachableReason = `the registry is unreachable (${(err as Error).message})`;
        throw new DecodeError(
          'registry_unavailable',
          `schema id ${id} could not be fetched: ${this.unreachableReason}`,
        );
      }
      const status = (err as { status?: number }).status;
      throw new DecodeError(
        'unknown_schema',
        status === 404 ? `schema id ${id} is not in the registry` : `schema id ${id}: registry answered ${status}`,
      );
    }
  }

  /** Validates a plain JSON value against the topic schema, filling defaults. */
  decodeJson<K extends TopicKey>(key: K, buf: Buffer | string): TopicValue<K> {
    let text: string;
    try {
      text = typeof buf === 'string' ? buf : utf8.decode(buf);
    } catch {
      throw new DecodeError('invalid_utf8', 'value is neither Avro (no magic byte) nor UTF-8 text');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new DecodeError('invalid_json', `value is neither Avro nor JSON: ${(err as Error).message}`);
    }
    return this.upgraded(key, this.validate(key, this.withJsonText(key, parsed)));
  }

  /** The topic's JSON-text fields given as JSON objects or arrays, turned into their JSON text. */
  private withJsonText(key: TopicKey, value: unknown): unknown {
    const fields = this.catalog.declaration(key).jsonTextFields;
    if (!fields || typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const record = value as Record<string, unknown>;
    const structured = fields.filter((f) => typeof record[f] === 'object' && record[f] !== null);
    if (!structured.length) return value;
    return { ...record, ...Object.fromEntries(structured.map((f) => [f, JSON.stringify(record[f])])) };
  }

  /** Checks a JS value against the topic schema and returns it with defaults filled in. */
  validate<K extends TopicKey>(key: K, value: unknown): TopicValue<K> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new DecodeError('schema_mismatch', `value must be a JSON object for ${this.catalog.name(key)}`);
    }
    const type = this.readerType(key);
    const fields = invalidPaths(type, value);
    if (fields.length) {
      throw new DecodeError(
        'schema_mismatch',
        `value does not fit ${this.catalog.name(key)}: ${describeFields(type, value)}`,
        fields,
      );
    }
    return type.clone(value) as TopicValue<K>;
  }
}

/**
 * The registry client reports connection failures as HTTP 400 responses, so tell an outage from a
 * real answer by the network error in the message, or a 5xx.
 */
function registryUnreachable(err: unknown): boolean {
  const e = err as { status?: number; message?: string };
  if (e.status === undefined || e.status === 0 || e.status >= 500) return true;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|socket hang up|timeout/i.test(
    e.message ?? '',
  );
}

interface Mismatch {
  path: string;
  type: AvroType;
  missing: boolean;
}

function mismatches(type: AvroType, value: unknown): Mismatch[] {
  const found: Mismatch[] = [];
  type.isValid(value, {
    errorHook: (path: string[], v: unknown, t: AvroType) =>
      found.push({ path: path.join('.') || '(root)', type: t, missing: v === undefined }),
  });
  return found;
}

function invalidPaths(type: AvroType, value: unknown): string[] {
  return mismatches(type, value).map((m) => m.path);
}

function describeFields(type: AvroType, value: unknown): string {
  return mismatches(type, value)
    .map((m) => (m.missing ? `${m.path} is missing` : `${m.path} must be ${typeLabel(m.type)}`))
    .join('; ');
}

/** How a person would name an Avro type: `double`, `string or null`, `one of A, B`. */
function typeLabel(type: AvroType): string {
  const t = type as unknown as { typeName: string; types?: AvroType[]; symbols?: string[] };
  switch (t.typeName) {
    case 'union:unwrapped':
    case 'union:wrapped':
      return (t.types ?? []).map(typeLabel).join(' or ');
    case 'enum':
      return `one of ${(t.symbols ?? []).join(', ')}`;
    case 'record':
    case 'map':
      return 'an object';
    case 'array':
      return 'an array';
    default:
      return t.typeName;
  }
}
