import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StackError } from './errors.ts';
import { findMaven, runMaven } from './tools.ts';
import { APICURIO_VERSION, KAFKA_VERSION, LOG4J_VERSION, SCALA_VERSION } from './versions.ts';

const DONE = '.complete';

/** Folder of Kafka's jars (the broker runs from them on a classpath), downloaded once. */
export async function ensureKafkaJars(artifactsDir: string): Promise<string> {
  const dir = join(artifactsDir, `kafka-${KAFKA_VERSION}`);
  if (existsSync(join(dir, DONE))) return join(dir, 'libs');
  const mvn = findMaven();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'pom.xml'), kafkaPom());
  await runMaven(
    mvn,
    ['dependency:copy-dependencies', '-DoutputDirectory=libs', '-DincludeScope=runtime'],
    `Apache Kafka ${KAFKA_VERSION}`,
    dir,
  );
  writeFileSync(join(dir, DONE), new Date().toISOString());
  return join(dir, 'libs');
}

/**
 * Folder of Kafka's command-line tools (console consumer and producer, kafka-topics, ...): the
 * `kafka-tools` jar and what it needs, downloaded once. Kafka Connect's runtime (which only the
 * connect-plugin-path tool uses) is left out.
 */
export async function ensureKafkaTools(artifactsDir: string): Promise<string> {
  const dir = join(artifactsDir, `kafka-tools-${KAFKA_VERSION}`);
  if (existsSync(join(dir, DONE))) return join(dir, 'libs');
  const mvn = findMaven();
  // Fetched into a folder of our own and renamed into place: two commands may fetch at once.
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  writeFileSync(join(partial, 'pom.xml'), kafkaToolsPom());
  try {
    await runMaven(
      mvn,
      ['dependency:copy-dependencies', '-DoutputDirectory=libs', '-DincludeScope=runtime'],
      `Apache Kafka ${KAFKA_VERSION} tools`,
      partial,
    );
    writeFileSync(join(partial, DONE), new Date().toISOString());
    if (!existsSync(join(dir, DONE))) {
      rmSync(dir, { recursive: true, force: true });
      try {
        renameSync(partial, dir);
      } catch (err) {
        if (!existsSync(join(dir, DONE))) throw err; // else another command put its copy in place first
      }
    }
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  return join(dir, 'libs');
}

/** Folder of the Apicurio Registry `all` distribution (a Quarkus app), downloaded and unpacked once. */
export async function ensureApicurio(artifactsDir: string): Promise<string> {
  const dir = join(artifactsDir, `apicurio-registry-${APICURIO_VERSION}`);
  if (existsSync(join(dir, DONE))) return dir;
  const mvn = findMaven();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const artifact = `io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`;
  await runMaven(
    mvn,
    ['dependency:copy', `-Dartifact=${artifact}`, '-DoutputDirectory=.'],
    `Apicurio Registry ${APICURIO_VERSION}`,
    dir,
  );
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tar.gz'));
  if (!tarball)
    throw new StackError(`Maven reported success but ${artifact} is not in ${dir}: delete ${dir} and retry`);
  const res = spawnSync('tar', ['xzf', tarball], { cwd: dir, encoding: 'utf8' });
  if (res.status !== 0)
    throw new StackError(
      `could not unpack ${tarball} (${(res.stderr || res.error?.message || '').trim()}): is tar installed?`,
    );
  rmSync(join(dir, tarball));
  writeFileSync(join(dir, DONE), new Date().toISOString());
  return dir;
}

/** The runnable jar of the unpacked registry distribution. */
export function apicurioJar(dir: string): string {
  const jar =
    readdirSync(dir).find((f) => f.endsWith('-runner.jar')) ??
    (existsSync(join(dir, 'quarkus-run.jar')) ? 'quarkus-run.jar' : undefined);
  if (!jar) throw new StackError(`no runnable jar in ${dir}: delete that folder and run stack:up again`);
  return join(dir, jar);
}

function kafkaToolsPom(): string {
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.automatrix</groupId>
  <artifactId>local-kafka-tools</artifactId>
  <version>${KAFKA_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>${KAFKA_VERSION}</version>
      <exclusions><exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion></exclusions>
    </dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>${LOG4J_VERSION}</version></dependency>
  </dependencies>
</project>
`;
}

function kafkaPom(): string {
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.automatrix</groupId>
  <artifactId>local-kafka</artifactId>
  <version>${KAFKA_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_${SCALA_VERSION}</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>${LOG4J_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>${LOG4J_VERSION}</version></dependency>
  </dependencies>
</project>
`;
}
