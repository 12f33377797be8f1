/**
 * Apache Kafka's own command-line tools (the scripts of its distribution: kafka-console-consumer,
 * kafka-topics, ...) run on the machine's Java from the `kafka-tools` jars, fetched from Maven
 * Central once. `automatrix kafka-console <tool> ...` is their wrapper.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ensureKafkaTools } from './artifacts.ts';
import { StackError } from './errors.ts';
import { findJava } from './tools.ts';

/** Tool name -> main class and whether it takes `--bootstrap-server` (the wrapper supplies it when absent). */
export const KAFKA_TOOLS = {
  consumer: { main: 'org.apache.kafka.tools.consumer.ConsoleConsumer', bootstrap: true },
  producer: { main: 'org.apache.kafka.tools.ConsoleProducer', bootstrap: true },
  topics: { main: 'org.apache.kafka.tools.TopicCommand', bootstrap: true },
  'consumer-groups': { main: 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand', bootstrap: true },
  'get-offsets': { main: 'org.apache.kafka.tools.GetOffsetShell', bootstrap: true },
  'delete-records': { main: 'org.apache.kafka.tools.DeleteRecordsCommand', bootstrap: true },
  'producer-perf-test': { main: 'org.apache.kafka.tools.ProducerPerformance', bootstrap: false },
  'consumer-perf-test': { main: 'org.apache.kafka.tools.ConsumerPerformance', bootstrap: true },
} as const;
export type KafkaToolName = keyof typeof KAFKA_TOOLS;

/** Our tool name for `consumer` or the distribution's script name (`kafka-console-consumer`, `kafka-topics.sh`). */
export function kafkaTool(name: string): KafkaToolName | undefined {
  const bare = name
    .replace(/\.sh$/, '')
    .replace(/^kafka-/, '')
    .replace(/^console-/, '');
  return bare in KAFKA_TOOLS ? (bare as KafkaToolName) : undefined;
}

const LOG4J = `status = warn
appender.err.type = Console
appender.err.name = stderr
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = stderr
`;

/** The java command line of a tool; downloads the jars the first time. */
export async function kafkaToolCommand(
  artifactsDir: string,
  tool: KafkaToolName,
  args: string[],
  brokers: string[],
): Promise<{ bin: string; args: string[] }> {
  const java = findJava();
  const libs = await ensureKafkaTools(artifactsDir);
  const log4j = join(dirname(libs), 'log4j2.properties');
  writeFileSync(log4j, LOG4J);
  const spec = KAFKA_TOOLS[tool];
  const given = args.some((a) => a === '--bootstrap-server' || a.startsWith('--bootstrap-server='));
  const bootstrap = spec.bootstrap && !given ? ['--bootstrap-server', brokers.join(',')] : [];
  return {
    bin: java.bin,
    args: [`-Dlog4j2.configurationFile=${log4j}`, '-cp', join(libs, '*'), spec.main, ...args, ...bootstrap],
  };
}

/** Runs a tool with our stdin, stdout and stderr; resolves with its exit code. */
export async function runKafkaTool(
  artifactsDir: string,
  tool: KafkaToolName,
  args: string[],
  brokers: string[],
): Promise<number> {
  const cmd = await kafkaToolCommand(artifactsDir, tool, args, brokers);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd.bin, cmd.args, { stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt).on('SIGTERM', onTerm);
    child.on('error', (err) => reject(new StackError(`could not run ${cmd.bin}: ${err.message}`)));
    child.on('close', (code, signal) => {
      process.off('SIGINT', onInt).off('SIGTERM', onTerm);
      resolve(code ?? (signal === 'SIGINT' ? 130 : 1));
    });
  });
}
