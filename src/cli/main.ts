/** The `automatrix` command line. Every failure is one line on stderr and a non-zero exit. */
import { Argument, Command, CommanderError, Option } from 'commander';
import { prepareKafka, resolveEndpoints, VERSION } from '../app/index.ts';
import { type Config, loadConfig } from '../config/index.ts';
import { KafkaConnection } from '../kafka/index.ts';
import { logger, rootLogger } from '../log/index.ts';
import { stackDown, stackSettings, stackStatus, stackUp } from '../stack/index.ts';
import { runDetect } from './detect.ts';
import { runReplay } from './replay.ts';
import { parseTime } from './time.ts';

async function connect(config: Config): Promise<KafkaConnection> {
  const log = logger('cli');
  const endpoints = await resolveEndpoints(config, log);
  return new KafkaConnection({
    brokers: endpoints.brokers,
    registryUrl: endpoints.registryUrl,
    clientId: `${config.KAFKA_CLIENT_ID}-cli`,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
    log,
  });
}

const timeOption = (flag: string, what: string) =>
  new Option(flag, what).argParser((v: string) => {
    try {
      return parseTime(v);
    } catch (err) {
      throw new CommanderError(2, 'automatrix.time', (err as Error).message);
    }
  });

export function buildCli(): Command {
  // Set before the subcommands are added, so they inherit it.
  const program = new Command('automatrix')
    .description('AI-ops streaming pipeline on Apache Kafka')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s.replace(/^error: /, 'automatrix: ')) });

  program
    .command('start')
    .description('run AutoMatrix (the same as npm start)')
    .action(async () => {
      await import('../main.ts');
      await new Promise(() => undefined);
    });

  const stack = program.command('stack').description('the local Kafka broker and schema registry (no Docker needed)');
  stack
    .command('up')
    .description('start the local stack (idempotent) and wait until it is healthy')
    .action(async () => {
      await stackUp(stackSettings(loadConfig()));
    });
  stack
    .command('down')
    .description('stop the local stack (or one service of it: kafka, registry), leaving no process behind')
    .addArgument(new Argument('[service]', 'only this service').choices(['kafka', 'registry']))
    .action(async (service?: 'kafka' | 'registry') => {
      await stackDown(stackSettings(loadConfig()), console.log, service);
    });
  stack
    .command('status')
    .description('show whether the local stack runs and is healthy (exit 1 if not)')
    .action(async () => {
      const rows = await stackStatus(stackSettings(loadConfig()));
      for (const r of rows)
        console.log(
          `${r.name.padEnd(9)} ${r.version.padEnd(7)} ${r.healthy ? 'healthy' : 'DOWN   '} pid ${String(r.pid ?? '-').padEnd(8)} ${r.detail}  (log ${r.log})`,
        );
      if (!rows.every((r) => r.healthy)) process.exitCode = 1;
    });

  program
    .command('topics')
    .description('create missing topics, report drift, register the value schemas')
    .action(async () => {
      const kafka = await connect(loadConfig());
      try {
        await prepareKafka(kafka, logger('cli'));
      } finally {
        await kafka.close();
      }
    });

  program
    .command('replay')
    .description('read a topic over a time window into a JSON-lines file or another topic')
    .requiredOption('--topic <topic>', 'topic to read (a declared key such as metrics.samples, or a full name)')
    .addOption(
      timeOption('--from <time>', 'window start: ISO date-time, epoch ms, now or -2h (default: the beginning)'),
    )
    .addOption(
      timeOption('--to <time>', 'window end, inclusive (default: the end of the topic when the replay starts)'),
    )
    .option('--out <file>', 'write records as JSON lines to this file')
    .option('--to-topic <topic>', 'produce the records (same key, value, headers, timestamp) to this topic')
    .action(async (opts: { topic: string; from?: number; to?: number; out?: string; toTopic?: string }) => {
      if (!opts.out && !opts.toTopic)
        throw new CommanderError(2, 'automatrix.replay', 'replay needs --out FILE.jsonl or --to-topic TOPIC');
      if (opts.from !== undefined && opts.to !== undefined && opts.to < opts.from)
        throw new CommanderError(2, 'automatrix.replay', '--to is before --from');
      const kafka = await connect(loadConfig());
      try {
        await runReplay(kafka, opts);
      } finally {
        await kafka.close();
      }
    });

  program
    .command('detect')
    .description(
      'score a CSV timestamp,value series for anomalies (stdin or --input) into timestamp,value,anomaly_score on stdout',
    )
    .option('--input <file>', 'read this CSV file instead of standard input')
    .action(async (opts: { input?: string }) => {
      await runDetect(loadConfig(), opts);
    });

  return program;
}

export async function runCli(argv: string[]): Promise<void> {
  rootLogger(process.env.LOG_LEVEL ?? 'warn');
  const program = buildCli();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
        return;
      if (err.code.startsWith('automatrix.')) process.stderr.write(`automatrix: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`automatrix: ${(err as Error).message ?? String(err)}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  await runCli(process.argv);
}
