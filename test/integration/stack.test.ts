import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareKafka } from '../../src/app/index.ts';
import { KafkaConnection } from '../../src/kafka/index.ts';
import { logger } from '../../src/log/index.ts';
import { type StackSettings, stackDown, stackEndpoints, stackStatus, stackUp } from '../../src/stack/index.ts';
import { pidsWithMarker, portAnswers } from '../../src/stack/processes.ts';
import { TOPIC_KEYS } from '../../topics/index.ts';
import { consumeN } from '../helpers/kafka.ts';
import { freePort, runCli } from '../helpers/process.ts';
import { privateStack } from '../helpers/stack.ts';

const quiet = () => undefined;

describe('the local stack', () => {
  const dirs: string[] = [];
  const ownStack = async (): Promise<StackSettings> => {
    const s = await privateStack();
    dirs.push(s.dir);
    return s;
  };
  afterAll(async () => {
    for (const dir of dirs) {
      await stackDown({ dir, kafkaPort: 0, controllerPort: 0, registryPort: 0 }, quiet);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is idempotent, keeps topics, schemas and records across a restart, and leaves no process behind', async () => {
    const s = await ownStack();
    const lines: string[] = [];
    const first = await stackUp(s, (l) => lines.push(l));
    expect(first.alreadyRunning).toBe(false);
    const second = await stackUp(s, (l) => lines.push(l));
    expect(second.alreadyRunning).toBe(true);
    expect(lines.at(-1)).toMatch(/^stack already running/);
    // Another checkout (another folder) on the same ports uses the running stack rather than failing.
    const elsewhere = await stackUp({ ...s, dir: `${s.dir}-elsewhere` }, (l) => lines.push(l));
    expect(elsewhere.alreadyRunning).toBe(true);
    expect(lines.at(-1)).toMatch(/already answer on localhost:\d+ and localhost:\d+ .*; using them$/);

    const endpoints = stackEndpoints(s);
    const connect = () =>
      new KafkaConnection({
        ...endpoints,
        registryUrl: endpoints.registryUrl,
        topicPrefix: 'automatrix.',
        log: logger('test'),
      });
    let kafka = connect();
    await prepareKafka(kafka, logger('test'));
    const ids = new Map(TOPIC_KEYS.map((k) => [k, kafka.serde.schemaId(k)]));
    const producer = await kafka.producer();
    await producer.send('anomalies', [
      {
        key: 'svc',
        value: {
          id: 'a1',
          service: 'svc',
          state: 'OPEN',
          metrics: ['cpu_usage'],
          score: 0.9,
          explanation: 'cpu jumped',
          startedAt: 1,
          at: 1,
        },
      },
    ]);
    await kafka.close();

    await stackDown(s, quiet);
    expect(pidsWithMarker(`-Dautomatrix.stack=${s.dir}#`)).toEqual([]);
    expect(await portAnswers(s.kafkaPort)).toBe(false);
    expect(await portAnswers(s.registryPort)).toBe(false);
    expect((await stackStatus(s)).every((x) => !x.healthy && x.pid === undefined)).toBe(true);

    await stackUp(s, quiet);
    kafka = connect();
    const report = await (await kafka.admin()).ensureTopics();
    expect(report.created).toEqual([]);
    expect(report.drift).toEqual([]);
    const subjects = (await (await fetch(`${endpoints.registryUrl}/subjects`)).json()) as string[];
    for (const key of TOPIC_KEYS) expect(subjects).toContain(kafka.catalog.subject(key));
    await kafka.serde.registerAll();
    for (const key of TOPIC_KEYS) expect(kafka.serde.schemaId(key)).toBe(ids.get(key));
    const [record] = await consumeN(kafka, kafka.catalog.name('anomalies'), 1);
    expect((await kafka.serde.decode('anomalies', record!.value)).value).toMatchObject({
      id: 'a1',
      explanation: 'cpu jumped',
    });
    await kafka.close();

    await stackDown(s, quiet);
    expect(pidsWithMarker(`-Dautomatrix.stack=${s.dir}#`)).toEqual([]);
  }, 300_000);

  it('refuses a taken port with one line naming the variable', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'am-stack-'));
    dirs.push(dir);
    const r = await runCli(['stack', 'up'], {
      STACK_DIR: dir,
      STACK_KAFKA_PORT: String(port),
      STACK_CONTROLLER_PORT: String(await freePort()),
      STACK_REGISTRY_PORT: String(await freePort()),
    });
    blocker.close();
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `automatrix: port ${port} is already taken by another process: stop it, or set STACK_KAFKA_PORT to a free port`,
    );
  });

  it('says what to do when Java or Maven is missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'am-empty-'));
    dirs.push(empty);
    const ports = {
      STACK_KAFKA_PORT: String(await freePort()),
      STACK_CONTROLLER_PORT: String(await freePort()),
      STACK_REGISTRY_PORT: String(await freePort()),
    };
    const noJava = await runCli(['stack', 'up'], { STACK_DIR: empty, JAVA_HOME: '', PATH: empty, ...ports });
    expect(noJava.code).toBe(1);
    expect(noJava.stderr.trim().split('\n')).toHaveLength(1);
    expect(noJava.stderr).toMatch(/^automatrix: Java 17\+ is needed .*install it .* or set JAVA_HOME/);

    const noMaven = await runCli(['stack', 'up'], { STACK_DIR: empty, MAVEN_CMD: join(empty, 'no-mvn'), ...ports });
    expect(noMaven.code).toBe(1);
    expect(noMaven.stderr.trim().split('\n')).toHaveLength(1);
    expect(noMaven.stderr).toMatch(
      /^automatrix: Maven is needed once .* install it \(apt-get install maven\) or set MAVEN_CMD/,
    );
  });

  it('shows download progress, and a failed download as one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'am-dl-'));
    dirs.push(dir);
    const ports = {
      STACK_KAFKA_PORT: String(await freePort()),
      STACK_CONTROLLER_PORT: String(await freePort()),
      STACK_REGISTRY_PORT: String(await freePort()),
    };
    // Real Maven, offline, with an empty local repository: the download genuinely fails.
    const offline = join(dir, 'mvn-offline');
    writeFileSync(offline, `#!/bin/sh\nexec mvn -o -Dmaven.repo.local=${join(dir, 'empty-repo')} "$@"\n`);
    chmodSync(offline, 0o755);
    const failed = await runCli(['stack', 'up'], { STACK_DIR: join(dir, 'a'), MAVEN_CMD: offline, ...ports });
    expect(failed.code).toBe(1);
    const errLines = failed.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('automatrix:'));
    expect(errLines).toHaveLength(1);
    expect(errLines[0]).toMatch(
      /^automatrix: could not download Apache Kafka [\d.]+ with Maven \(.+\): check access to Maven Central/,
    );

    // Real Maven, online, with a fresh local repository: progress lines while the jars arrive.
    const fresh = join(dir, 'mvn-fresh');
    writeFileSync(fresh, `#!/bin/sh\nexec mvn -Dmaven.repo.local=${join(dir, 'fresh-repo')} "$@"\n`);
    chmodSync(fresh, 0o755);
    const { ensureKafkaJars } = await import('../../src/stack/artifacts.ts');
    const writes: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.env.MAVEN_CMD = fresh;
    process.stderr.write = ((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      await ensureKafkaJars(join(dir, 'artifacts'));
    } finally {
      process.stderr.write = original;
      delete process.env.MAVEN_CMD;
    }
    const out = writes.join('');
    expect(out).toMatch(/downloading Apache Kafka [\d.]+: \d+\/\d+ kB/);
    expect(out).toMatch(/fetched Apache Kafka [\d.]+ with Maven \((\d+) files downloaded/);
    expect(Number(/\((\d+) files downloaded/.exec(out)![1])).toBeGreaterThan(10);
  }, 300_000);
});
