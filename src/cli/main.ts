/** The `automatrix` command line. Every failure is one line on stderr and a non-zero exit. */
import { Argument, Command, CommanderError, Option } from 'commander';
import { prepareKafka, resolveEndpoints, VERSION } from '../app/index.ts';
import { type Config, loadConfig } from '../config/index.ts';
import { KafkaConnection } from '../kafka/index.ts';
import { logger, rootLogger } from '../log/index.ts';
import { parseTime } from '../shared/time.ts';
import { stackDown, stackSettings, stackStatus, stackUp } from '../stack/index.ts';
import { runDetect } from './detect.ts';
import { CONNECTION_VARS, DETECT_VARS, envHelp, STACK_VARS } from './env-help.ts';
import { registerKafkaConsole } from './kafka-console.ts';
import { type ReplayCommand, runReplay } from './replay.ts';
import { runTail } from './tail.ts';
import { runTopicsCreate, runTopicsDelete, runTopicsList } from './topics.ts';

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

/** Runs `work` on a connection that is closed afterwards, whatever happens. */
async function withKafka<T>(work: (kafka: KafkaConnection, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const kafka = await connect(config);
  try {
    return await work(kafka, config);
  } finally {
    await kafka.close();
  }
}

const timeOption = (flag: string, what: string) =>
  new Option(flag, what).argParser((v: string) => {
    try {
      return parseTime(v);
    } catch (err) {
      throw new CommanderError(2, 'automatrix.time', (err as Error).message);
    }
  });

const countOption = (flag: string, what: string, min: number) =>
  new Option(flag, what).argParser((v: string) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min)
      throw new CommanderError(
        2,
        'automatrix.count',
        `${flag.split(' ')[0]} must be an integer from ${min}, got "${v}"`,
      );
    return n;
  });

const connectionHelp = envHelp(CONNECTION_VARS);

function registerTopics(program: Command): void {
  const topics = program
    .command('topics')
    .description('the topics of a deployment (a topic prefix): create, list, delete')
    .addHelpText('after', connectionHelp);
  topics
    .command('ensure', { isDefault: true })
    .description('create the missing declared topics, report drift, register the value schemas (the default)')
    .action(() => withKafka((kafka) => prepareKafka(kafka, logger('cli'))));
  topics
    .command('list')
    .description('topics, consumer groups and schema subjects under a prefix, with partitions and record counts')
    .option('--prefix <prefix>', 'topic name prefix (default: KAFKA_TOPIC_PREFIX)')
    .action((opts: { prefix?: string }) =>
      withKafka(async (kafka, config) => {
        await runTopicsList(kafka, opts.prefix ?? config.KAFKA_TOPIC_PREFIX);
      }),
    );
  topics
    .command('delete')
    .description(
      'delete every topic, idle consumer group and schema subject under a prefix, after a confirmation; nothing outside it',
    )
    .requiredOption('--prefix <prefix>', 'topic name prefix, e.g. t-app-1a2b3c4d. (required: there is no default)')
    .option('--yes', 'do not ask (for scripts)')
    .action((opts: { prefix: string; yes?: boolean }) =>
      withKafka(async (kafka) => {
        await runTopicsDelete(kafka, opts);
      }),
    );
  topics
    .command('create')
    .description('create a topic, e.g. the target of a Kafka endpoint (the broker does not create topics on demand)')
    .argument('<name>', 'full topic name (no prefix is added)')
    .addOption(countOption('--partitions <n>', 'partitions (default 3)', 1).default(3))
    .action((name: string, opts: { partitions: number }) =>
      withKafka((kafka) => runTopicsCreate(kafka, { name, partitions: opts.partitions })),
    );
}

export function buildCli(): Command {
  // Set before the subcommands are added, so they inherit it.
  const program = new Command('automatrix')
    .description('AI-ops streaming pipeline on Apache Kafka')
    .version(VERSION)
    .exitOverride()
    .enablePositionalOptions()
    .configureOutput({ outputError: (s, write) => write(s.replace(/^error: /, 'automatrix: ')) })
    .addHelpText(
      'after',
      `${connectionHelp}\n\`start\` reads every variable of the Configuration table in README.md; each command's --help lists its own.\n`,
    );

  program
    .command('start')
    .description('run AutoMatrix (the same as npm start)')
    .addHelpText('after', '\nEnvironment variables read: every variable of the Configuration table in README.md.\n')
    .action(async () => {
      await import('../main.ts');
      await new Promise(() => undefined);
    });

  const stack = program
    .command('stack')
    .description('the local Kafka broker and schema registry (no Docker needed)')
    .addHelpText('after', envHelp(STACK_VARS));
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

  registerTopics(program);

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
    .option('--out <file>', 'write records as JSON lines to this file (Avro values decoded)')
    .option(
      '--to-topic <topic>',
      'produce the records (same key, value, headers, timestamp) to this topic, created if missing',
    )
    .addOption(
      countOption('--partitions <n>', 'partitions of --to-topic if it is created (default: as many as --topic)', 1),
    )
    .addHelpText('after', connectionHelp)
    .action(async (opts: ReplayCommand) => {
      if (!opts.out && !opts.toTopic)
        throw new CommanderError(2, 'automatrix.replay', 'replay needs --out FILE.jsonl or --to-topic TOPIC');
      if (opts.partitions !== undefined && !opts.toTopic)
        throw new CommanderError(2, 'automatrix.replay', '--partitions goes with --to-topic');
      if (opts.from !== undefined && opts.to !== undefined && opts.to < opts.from)
        throw new CommanderError(2, 'automatrix.replay', '--to is before --from');
      await withKafka((kafka) => runReplay(kafka, opts));
    });

  program
    .command('tail')
    .description("print a topic's records as JSON lines (Avro decoded), live; --from reads from a time first")
    .argument('<topic>', 'a declared key such as anomalies (under KAFKA_TOPIC_PREFIX), or a full topic name')
    .addOption(
      timeOption('--from <time>', 'start at this time: ISO date-time, epoch ms, or -15m (default: new records only)'),
    )
    .addOption(countOption('--limit <n>', 'stop after this many records', 0))
    .option('--key <key>', 'only records with this key')
    .option('--no-follow', 'stop at the end the topic had when the command started')
    .addHelpText('after', connectionHelp)
    .action((topic: string, opts: { from?: number; limit?: number; key?: string; follow: boolean }) =>
      withKafka(async (kafka) => {
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
        try {
          await runTail(kafka, { topic, ...opts }, undefined, stop.signal);
        } finally {
          process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
        }
      }),
    );

  registerKafkaConsole(program, connectionHelp);

  program
    .command('detect')
    .description(
      'score a CSV timestamp,value series for anomalies (stdin or --input) into timestamp,value,anomaly_score on stdout',
    )
    .option('--input <file>', 'read this CSV file instead of standard input')
    .addHelpText('after', envHelp(DETECT_VARS))
    .action(async (opts: { input?: string }) => {
      await runDetect(loadConfig(), opts);
    });

  return program;
}

export async function runCli(argv: string[]): Promise<void> {
  rootLogger(process.env.LOG_LEVEL ?? 'warn', 'stderr');
  const program = buildCli();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; help shown because a command is missing (bare `automatrix`) exits 1.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        process.exitCode = err.exitCode;
        return;
      }
      if (err.code.startsWith('automatrix.')) process.stderr.write(`automatrix: ${err.message}\n`);
      process.exitCode = err.code.startsWith('automatrix.') ? err.exitCode || 2 : 2;
      return;
    }
    process.stderr.write(`automatrix: ${(err as Error).message ?? String(err)}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  await runCli(process.argv);
}
