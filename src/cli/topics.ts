/** `automatrix topics list|delete|create`: what a deployment (a topic prefix) left on the broker, and cleaning it up. */
import { createInterface } from 'node:readline/promises';
import { CommanderError } from 'commander';
import type { GroupInfo, KafkaConnection } from '../kafka/index.ts';

/** Topics of the broker and the registry themselves: never listed or deleted, whatever the prefix. */
const RESERVED = /^(__|_schemas$|kafkasql-|registry-events$)/;

export interface PrefixContents {
  prefix: string;
  topics: { name: string; partitions: number; records: number; declared: boolean }[];
  groups: GroupInfo[];
  subjects: string[];
}

const fail = (message: string, code = 1) => new CommanderError(code, 'automatrix.topics', message);

function checkPrefix(prefix: string): void {
  if (!prefix.trim()) throw fail('--prefix must not be empty (it would match every topic)', 2);
  if (RESERVED.test(prefix)) throw fail(`--prefix "${prefix}" names the broker's or the registry's own topics`, 2);
}

/** Topics, consumer groups and value-schema subjects whose names start with `prefix`. */
export async function prefixContents(kafka: KafkaConnection, prefix: string): Promise<PrefixContents> {
  checkPrefix(prefix);
  const admin = await kafka.admin();
  const names = (await admin.listTopics()).filter((t) => t.startsWith(prefix) && !RESERVED.test(t)).sort();
  const topics = [];
  for (const name of names) {
    const offsets = await admin.offsets(name).catch(() => []);
    topics.push({
      name,
      partitions: offsets.length,
      records: offsets.reduce((n, o) => n + Number(BigInt(o.high) - BigInt(o.low)), 0),
      declared: kafka.catalog.keyOf(name) !== undefined,
    });
  }
  const groups = await admin.groups(prefix);
  return { prefix, topics, groups, subjects: await subjectsUnder(kafka, prefix, names) };
}

/**
 * Value-schema subjects under the prefix: those the registry lists, plus `<topic>-value` of the
 * topics found and of every declared topic (a registry may list only its first 1000 subjects).
 */
async function subjectsUnder(kafka: KafkaConnection, prefix: string, topics: string[]): Promise<string[]> {
  const listed = (await kafka.serde.subjects().catch(() => [] as string[])).filter((s) => s.startsWith(prefix));
  const known = [...topics, ...kafka.catalog.keys().map((k) => `${prefix}${k}`)].map((t) => `${t}-value`);
  const candidates = [...new Set([...listed, ...known])].filter((s) => !RESERVED.test(s));
  const present = await Promise.all(
    candidates.map(async (s) => (listed.includes(s) || (await kafka.serde.hasSubject(s)) ? s : '')),
  );
  return present.filter(Boolean).sort();
}

function printContents(c: PrefixContents, out: (line: string) => void): void {
  const width = Math.max(5, ...c.topics.map((t) => t.name.length), ...c.groups.map((g) => g.groupId.length));
  if (c.topics.length) {
    out(`${'TOPIC'.padEnd(width)}  PARTITIONS  RECORDS`);
    for (const t of c.topics) out(`${t.name.padEnd(width)}  ${String(t.partitions).padStart(10)}  ${t.records}`);
  }
  if (c.groups.length) {
    out(`${'CONSUMER GROUP'.padEnd(width)}  STATE       MEMBERS`);
    for (const g of c.groups) out(`${g.groupId.padEnd(width)}  ${g.state.padEnd(10)}  ${g.members}`);
  }
  if (c.subjects.length) out(`schema subjects: ${c.subjects.join(', ')}`);
  out(
    `under "${c.prefix}": ${c.topics.length} topics, ${c.groups.length} consumer groups, ${c.subjects.length} schema subjects`,
  );
}

export async function runTopicsList(kafka: KafkaConnection, prefix: string): Promise<PrefixContents> {
  const contents = await prefixContents(kafka, prefix);
  printContents(contents, console.log);
  return contents;
}

async function confirmed(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/**
 * Deletes the topics, consumer groups and schema subjects under a prefix, after a confirmation
 * (or `yes`). Nothing outside the prefix is touched; if a group under it still has members (a
 * process of that deployment runs), nothing is deleted.
 */
export async function runTopicsDelete(
  kafka: KafkaConnection,
  opts: { prefix: string; yes?: boolean },
): Promise<{ topics: number; groups: number; subjects: number }> {
  const contents = await prefixContents(kafka, opts.prefix);
  const nothing = { topics: 0, groups: 0, subjects: 0 };
  if (!contents.topics.length && !contents.groups.length && !contents.subjects.length) {
    console.log(`nothing under "${opts.prefix}"`);
    return nothing;
  }
  const live = contents.groups.filter((g) => g.members > 0);
  if (live.length)
    throw fail(
      `consumer groups under "${opts.prefix}" have live members (${live.map((g) => g.groupId).join(', ')}): stop those processes first`,
    );
  printContents(contents, (line) => process.stderr.write(`${line}\n`));
  if (!opts.yes) {
    if (!process.stdin.isTTY) throw fail('not deleting without a confirmation: run it in a terminal, or pass --yes', 2);
    if (!(await confirmed(`delete all of the above? [y/N] `))) {
      process.stderr.write('nothing deleted\n');
      return nothing;
    }
  }
  const admin = await kafka.admin();
  await admin.deleteTopics(contents.topics.map((t) => t.name));
  const groups = await admin.deleteEmptyGroups(contents.groups.map((g) => g.groupId));
  let subjects = 0;
  for (const s of contents.subjects) {
    try {
      await kafka.serde.deleteSubject(s);
      subjects++;
    } catch (err) {
      process.stderr.write(`could not delete schema subject ${s}: ${(err as Error).message}\n`);
    }
  }
  const result = { topics: contents.topics.length, groups: groups.length, subjects };
  console.log(
    `deleted ${result.topics} topics, ${result.groups} consumer groups and ${result.subjects} schema subjects under "${opts.prefix}"`,
  );
  return result;
}

/** Creates a topic (e.g. the target of a Kafka endpoint); the broker does not create topics on demand. */
export async function runTopicsCreate(
  kafka: KafkaConnection,
  opts: { name: string; partitions: number },
): Promise<void> {
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(opts.name) || RESERVED.test(opts.name))
    throw fail(`"${opts.name}" is not a topic name this command creates (letters, digits, ".", "_", "-")`, 2);
  const created = await (await kafka.admin()).createTopic(opts.name, opts.partitions);
  console.log(
    created ? `created topic ${opts.name} with ${opts.partitions} partitions` : `topic ${opts.name} exists already`,
  );
}
