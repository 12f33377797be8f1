/**
 * The local stack: a single-node Apache Kafka broker (KRaft) and Apicurio Registry with
 * Kafka-backed storage, both from their Maven Central artifacts, run on the machine's Java.
 * Everything lives under one folder (`.stack/` by default).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { probeBroker } from '../kafka/index.ts';
import { apicurioJar, ensureApicurio, ensureKafkaJars } from './artifacts.ts';
import { StackError } from './errors.ts';
import {
  isAlive,
  pidsWithMarker,
  portAnswers,
  readPid,
  removeFile,
  sleep,
  startDaemon,
  stopProcess,
  tail,
} from './processes.ts';
import { findJava } from './tools.ts';
import { APICURIO_VERSION, KAFKA_VERSION } from './versions.ts';

export { StackError } from './errors.ts';
export { KAFKA_TOOLS, type KafkaToolName, kafkaTool, kafkaToolCommand, runKafkaTool } from './kafka-tools.ts';
export * as versions from './versions.ts';

export interface StackSettings {
  dir: string;
  /** Downloaded artifacts; defaults to `<dir>/artifacts` (several stacks may share one). */
  artifactsDir?: string;
  kafkaPort: number;
  controllerPort: number;
  registryPort: number;
}

export interface StackEndpoints {
  brokers: string[];
  registryUrl: string;
}

export interface ServiceStatus {
  name: 'kafka' | 'registry';
  version: string;
  pid: number | undefined;
  healthy: boolean;
  detail: string;
  log: string;
}

type Report = (line: string) => void;

const KAFKA_READY_MS = 90_000;
const REGISTRY_READY_MS = 120_000;

export function stackSettings(config: {
  STACK_DIR: string;
  STACK_KAFKA_PORT: number;
  STACK_CONTROLLER_PORT: number;
  STACK_REGISTRY_PORT: number;
}): StackSettings {
  return {
    dir: resolve(config.STACK_DIR),
    kafkaPort: config.STACK_KAFKA_PORT,
    controllerPort: config.STACK_CONTROLLER_PORT,
    registryPort: config.STACK_REGISTRY_PORT,
  };
}

export function stackEndpoints(s: StackSettings): StackEndpoints {
  return { brokers: [`localhost:${s.kafkaPort}`], registryUrl: `http://localhost:${s.registryPort}/apis/ccompat/v7` };
}

const paths = (s: StackSettings) => ({
  artifacts: s.artifactsDir ?? join(s.dir, 'artifacts'),
  kafka: join(s.dir, 'kafka'),
  kafkaData: join(s.dir, 'kafka', 'data'),
  kafkaPid: join(s.dir, 'kafka', 'kafka.pid'),
  kafkaLog: join(s.dir, 'kafka', 'kafka.log'),
  registry: join(s.dir, 'registry'),
  registryPid: join(s.dir, 'registry', 'registry.pid'),
  registryLog: join(s.dir, 'registry', 'registry.log'),
});

/** Where the stack's downloads (the broker's, the registry's and the tools' jars) live. */
export const stackArtifactsDir = (s: StackSettings): string => paths(s).artifacts;

/** Every process of this stack carries this marker on its command line. */
const marker = (s: StackSettings, role: string) => `-Dautomatrix.stack=${s.dir}#${role}`;

/** Starts whatever part of the stack is not running and waits until both are healthy. Idempotent. */
export async function stackUp(
  s: StackSettings,
  report: Report = console.log,
): Promise<StackEndpoints & { alreadyRunning: boolean }> {
  const before = await stackStatus(s);
  if (before.every((x) => x.healthy)) {
    report(
      `stack already running: Kafka ${KAFKA_VERSION} on localhost:${s.kafkaPort}, Apicurio Registry ${APICURIO_VERSION} on localhost:${s.registryPort}`,
    );
    return { ...stackEndpoints(s), alreadyRunning: true };
  }
  if (!before.some((x) => x.pid) && (await foreignStackAnswers(s))) {
    report(
      `a Kafka broker and schema registry already answer on localhost:${s.kafkaPort} and localhost:${s.registryPort} (not started from ${s.dir}); using them`,
    );
    return { ...stackEndpoints(s), alreadyRunning: true };
  }
  const java = findJava();
  const p = paths(s);
  for (const dir of [p.artifacts, p.kafkaData, p.registry]) mkdirSync(dir, { recursive: true });
  const [kafka, registry] = before;
  if (!kafka?.pid) {
    await assertPortsFree([
      [s.kafkaPort, 'STACK_KAFKA_PORT'],
      [s.controllerPort, 'STACK_CONTROLLER_PORT'],
    ]);
  }
  if (!registry?.pid) await assertPortsFree([[s.registryPort, 'STACK_REGISTRY_PORT']]);
  const libs = await ensureKafkaJars(p.artifacts);
  if (!kafka?.pid) {
    report(`starting Kafka ${KAFKA_VERSION} (KRaft) on localhost:${s.kafkaPort} …`);
    startKafka(s, java.bin, libs);
  }
  // Fetched while the broker boots: the registry needs the broker anyway, and Maven takes seconds even from ~/.m2.
  const apicurio = await ensureApicurio(p.artifacts);
  await waitFor(
    'Kafka',
    KAFKA_READY_MS,
    p.kafkaPid,
    p.kafkaLog,
    async () => (await probeBroker([`localhost:${s.kafkaPort}`], 2000)).ok,
  );
  if (!registry?.pid) {
    report(`starting Apicurio Registry ${APICURIO_VERSION} on localhost:${s.registryPort} …`);
    startRegistry(s, java.bin, apicurio);
  }
  await waitFor('the schema registry', REGISTRY_READY_MS, p.registryPid, p.registryLog, () =>
    registryHealthy(s.registryPort),
  );
  report(`stack ready: KAFKA_BROKERS=localhost:${s.kafkaPort} SCHEMA_REGISTRY_URL=${stackEndpoints(s).registryUrl}`);
  return { ...stackEndpoints(s), alreadyRunning: false };
}

export type ServiceName = ServiceStatus['name'];

/** Stops the registry, then the broker (or just `only`); leaves no process of this stack behind. */
export async function stackDown(s: StackSettings, report: Report = console.log, only?: ServiceName): Promise<void> {
  const order: ServiceName[] = only ? [only] : ['registry', 'kafka'];
  let stopped = 0;
  for (const name of order) stopped += await stopService(s, name, report);
  if (!stopped) report(only ? `${only} was not running` : 'stack was not running');
}

async function stopService(s: StackSettings, name: ServiceName, report: Report): Promise<number> {
  const pidFile = name === 'kafka' ? paths(s).kafkaPid : paths(s).registryPid;
  const pids = new Set(
    [readPid(pidFile), ...pidsWithMarker(marker(s, name))].filter((x): x is number => x !== undefined),
  );
  for (const pid of pids) {
    const killed = await stopProcess(pid, 30_000);
    report(`stopped ${name} (pid ${pid}${killed ? ', killed after 30 s' : ''})`);
  }
  removeFile(pidFile);
  return pids.size;
}

export async function stackStatus(s: StackSettings): Promise<ServiceStatus[]> {
  const p = paths(s);
  const kafkaPid = readPid(p.kafkaPid);
  const registryPid = readPid(p.registryPid);
  const broker = kafkaPid ? await probeBroker([`localhost:${s.kafkaPort}`], 2000) : undefined;
  const registryOk = registryPid ? await registryHealthy(s.registryPort) : false;
  return [
    {
      name: 'kafka',
      version: KAFKA_VERSION,
      pid: kafkaPid,
      healthy: Boolean(broker?.ok),
      detail: !kafkaPid
        ? 'not running'
        : broker?.ok
          ? `localhost:${s.kafkaPort}`
          : `process up, broker not answering (${broker && !broker.ok ? broker.error : ''})`,
      log: p.kafkaLog,
    },
    {
      name: 'registry',
      version: APICURIO_VERSION,
      pid: registryPid,
      healthy: registryOk,
      detail: !registryPid ? 'not running' : registryOk ? stackEndpoints(s).registryUrl : 'process up, not ready',
      log: p.registryLog,
    },
  ];
}

/** A healthy broker and registry on our ports that another checkout's stack (or anything else) runs. */
async function foreignStackAnswers(s: StackSettings): Promise<boolean> {
  if (!(await portAnswers(s.kafkaPort)) || !(await portAnswers(s.registryPort))) return false;
  return (await probeBroker([`localhost:${s.kafkaPort}`], 2000)).ok && (await registryHealthy(s.registryPort));
}

async function assertPortsFree(ports: [number, string][]): Promise<void> {
  for (const [port, variable] of ports) {
    if (await portAnswers(port))
      throw new StackError(
        `port ${port} is already taken by another process: stop it, or set ${variable} to a free port`,
      );
  }
}

function startKafka(s: StackSettings, java: string, libs: string): void {
  const p = paths(s);
  const props = join(p.kafka, 'server.properties');
  writeFileSync(props, serverProperties(s, p.kafkaData));
  writeFileSync(join(p.kafka, 'log4j2.properties'), LOG4J2);
  const classpath = readdirSync(libs)
    .filter((f) => f.endsWith('.jar'))
    .map((f) => join(libs, f))
    .join(':');
  if (!existsSync(join(p.kafkaData, 'meta.properties'))) {
    const clusterId = newClusterId();
    const res = spawnSync(java, ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props], {
      encoding: 'utf8',
    });
    if (res.status !== 0)
      throw new StackError(
        `could not format Kafka's storage in ${p.kafkaData}: ${(res.stderr || res.stdout).trim().split('\n').pop()}`,
      );
  }
  startDaemon(
    java,
    [
      marker(s, 'kafka'),
      '-Xms256m',
      '-Xmx1g',
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${join(p.kafka, 'log4j2.properties')}`,
      '-cp',
      classpath,
      'kafka.Kafka',
      props,
    ],
    { cwd: p.kafka, logFile: p.kafkaLog, pidFile: p.kafkaPid },
  );
}

function startRegistry(s: StackSettings, java: string, dir: string): void {
  const p = paths(s);
  startDaemon(
    java,
    [
      marker(s, 'registry'),
      '-Xms128m',
      '-Xmx512m',
      `-Dquarkus.http.port=${s.registryPort}`,
      '-Dquarkus.http.host=0.0.0.0',
      '-Dapicurio.storage.kind=kafkasql',
      `-Dapicurio.kafkasql.bootstrap.servers=localhost:${s.kafkaPort}`,
      '-jar',
      apicurioJar(dir),
    ],
    { cwd: p.registry, logFile: p.registryLog, pidFile: p.registryPid },
  );
}

async function registryHealthy(port: number): Promise<boolean> {
  try {
    const ready = await fetch(`http://localhost:${port}/health/ready`, { signal: AbortSignal.timeout(2000) });
    if (!ready.ok) return false;
    const subjects = await fetch(`http://localhost:${port}/apis/ccompat/v7/subjects`, {
      signal: AbortSignal.timeout(2000),
    });
    return subjects.ok;
  } catch {
    return false;
  }
}

async function waitFor(
  what: string,
  timeoutMs: number,
  pidFile: string,
  logFile: string,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    const pid = readPid(pidFile);
    if (pid === undefined || !isAlive(pid))
      throw new StackError(`${what} exited during startup; its log ${logFile} ends with: ${tail(logFile, 3)}`);
    await sleep(500);
  }
  throw new StackError(`${what} did not become healthy within ${timeoutMs / 1000} s; see ${logFile}`);
}

function serverProperties(s: StackSettings, dataDir: string): string {
  return `# Written by automatrix stack:up; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:${s.controllerPort}
listeners=PLAINTEXT://localhost:${s.kafkaPort},CONTROLLER://localhost:${s.controllerPort}
advertised.listeners=PLAINTEXT://localhost:${s.kafkaPort}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=${dataDir}
# Topics are declared in topics/ and created by AutoMatrix, never implicitly.
auto.create.topics.enable=false
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.check.interval.ms=60000
`;
}

const LOG4J2 = `status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = STDOUT
logger.server.name = kafka.server
logger.server.level = info
`;

/** A random cluster id as Kafka makes them (base64url of 16 bytes), never starting with '-', which the storage tool would read as an option. */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
