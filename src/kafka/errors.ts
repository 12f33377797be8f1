/** Typed errors of the Kafka layer; callers branch on `reason` and `retriable`, never on message text. */
import { AutomatrixError } from '../errors/index.ts';

export type DecodeReason =
  | 'empty_value'
  | 'unknown_schema'
  | 'registry_unavailable'
  | 'incompatible_schema'
  | 'invalid_avro'
  | 'invalid_utf8'
  | 'invalid_json'
  | 'schema_mismatch';

/** A record value that could not be decoded. Non-retriable ones belong on the dead-letter topic. */
export class DecodeError extends AutomatrixError {
  readonly reason: DecodeReason;
  /** Fields (dotted paths) that did not match the schema, for `schema_mismatch`. */
  readonly fields: string[];

  constructor(reason: DecodeReason, message: string, fields: string[] = []) {
    // A registry outage is transient (retriable): retry later rather than dead-letter.
    super(reason === 'registry_unavailable' ? 'registry_unavailable' : 'decode_failed', message);
    this.reason = reason;
    this.fields = fields;
  }
}

/** A value our own code tried to produce that does not fit the topic's schema: a programming error. */
export class EncodeError extends AutomatrixError {
  readonly topic: string;
  readonly fields: string[];

  constructor(topic: string, fields: string[]) {
    super('encode_failed', `value for ${topic} does not fit its schema at: ${fields.join(', ') || '(root)'}`);
    this.topic = topic;
    this.fields = fields;
  }
}

/** Registering a schema failed; `message` carries the registry's own reason. */
export class SchemaRegistrationError extends AutomatrixError {
  readonly subject: string;

  constructor(subject: string, message: string) {
    super('schema_rejected', `schema for ${subject} rejected by the registry: ${message}`);
    this.subject = subject;
  }
}

export class RegistryUnavailableError extends AutomatrixError {
  constructor(url: string, cause: string) {
    super('registry_unavailable', `schema registry at ${url} is unreachable: ${cause}`);
  }
}
