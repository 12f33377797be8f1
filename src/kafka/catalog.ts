import { TOPIC_KEYS, TOPICS, type TopicDeclaration, type TopicKey } from '../../topics/index.ts';

/** Maps the declared topic keys to real names under a prefix, and back. */
export class TopicCatalog {
  private readonly byName = new Map<string, TopicKey>();

  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
    for (const key of TOPIC_KEYS) this.byName.set(this.name(key), key);
  }

  name(key: TopicKey): string {
    return `${this.prefix}${key}`;
  }

  /** The declared key of a real topic name, if it is one of ours. */
  keyOf(topic: string): TopicKey | undefined {
    return this.byName.get(topic);
  }

  declaration(key: TopicKey): TopicDeclaration {
    return TOPICS[key];
  }

  keys(): readonly TopicKey[] {
    return TOPIC_KEYS;
  }

  /** Schema registry subject of a topic's values (TopicNameStrategy). */
  subject(key: TopicKey): string {
    return `${this.name(key)}-value`;
  }
}
