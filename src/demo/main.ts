/** `npm run demo [-- --backfill 15m --rate 12 --seed 7]`: fills the dashboard with a realistic, moving demo. */
import { Command } from 'commander';
import { prepareKafka, resolveEndpoints } from '../app/index.ts';
import { effectiveLogLevel, loadConfig } from '../config/index.ts';
import { KafkaConnection } from '../kafka/index.ts';
import { logger, rootLogger } from '../log/index.ts';
import { parseTime } from '../shared/time.ts';
import { backfill, DemoGenerator, demoRoutes, sendBatch } from './demo.ts';

const program = new Command('demo')
  .description('Writes demo records to the topics the dashboard shows (same KAFKA_* variables as the app).')
  .option('--backfill <time>', 'history to write first, e.g. 15m (0 for none)', '15m')
  .option('--rate <n>', 'delivery outcomes per second', '12')
  .option('--seed <n>', 'random seed', '7')
  .option('--duration <time>', 'stop after this long (default: until Ctrl-C)')
  .parse();

async function main(): Promise<void> {
  const opts = program.opts<{ backfill: string; rate: string; seed: string; duration?: string }>();
  const config = loadConfig();
  rootLogger(effectiveLogLevel(config));
  const log = logger('demo');
  const endpoints = await resolveEndpoints(config, log);
  const kafka = new KafkaConnection({
    ...endpoints,
    clientId: `${config.KAFKA_CLIENT_ID}-demo`,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
    log,
  });
  await prepareKafka(kafka, log);
  await (await kafka.producer()).send('relay.routes', demoRoutes(`http://localhost:${config.PORT}`));
  const gen = new DemoGenerator(Number(opts.seed));
  const now = Date.now();
  const history =
    opts.backfill === '0' ? 0 : Math.round((now - parseTime(`-${opts.backfill.replace(/^-/, '')}`, now)) / 1000);
  if (history > 0)
    log.info({ records: await backfill(kafka, gen, history, now) }, `back-filled ${history} s of history`);
  const producer = await kafka.producer();
  const until = opts.duration ? now + (now - parseTime(`-${opts.duration.replace(/^-/, '')}`, now)) : Infinity;
  let stop = false;
  process.on('SIGINT', () => (stop = true));
  process.on('SIGTERM', () => (stop = true));
  log.info(`writing live demo records under the prefix "${config.KAFKA_TOPIC_PREFIX}"; Ctrl-C stops`);
  while (!stop && Date.now() < until) {
    const started = Date.now();
    await sendBatch(producer, gen.tick(started, Number(opts.rate)));
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - started))));
  }
  await kafka.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`demo: ${(err as Error).message}\n`);
  process.exit(1);
});
