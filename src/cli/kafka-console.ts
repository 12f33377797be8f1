/** `automatrix kafka-console <tool> ...`: Apache Kafka's own command-line tools against this deployment's broker. */
import { type Command, CommanderError } from 'commander';
import { resolveEndpoints } from '../app/index.ts';
import { loadConfig } from '../config/index.ts';
import { logger } from '../log/index.ts';
import { KAFKA_TOOLS, kafkaTool, runKafkaTool, stackArtifactsDir, stackSettings } from '../stack/index.ts';

const TOOLS_HELP = `
Tools (Kafka's own, from its kafka-tools jars on Maven Central, fetched once into STACK_DIR/artifacts; Java 17+):
${Object.entries(KAFKA_TOOLS)
  .map(([name, t]) => `  ${name.padEnd(19)} ${t.main}`)
  .join('\n')}
The distribution's script names work too (kafka-console-consumer, kafka-topics.sh, ...). --bootstrap-server is
KAFKA_BROKERS (or the local stack's) unless given. Values of AutoMatrix's topics are Avro: the console consumer
shows them as bytes; \`automatrix tail TOPIC\` prints them as JSON.

Examples:
  automatrix kafka-console topics --list
  automatrix kafka-console consumer --topic orders.audit --from-beginning --property print.key=true
  automatrix kafka-console producer --topic orders.audit --property parse.key=true --property key.separator=:
`;

export function registerKafkaConsole(program: Command, connectionHelp: string): void {
  program
    .command('kafka-console')
    .description("run one of Apache Kafka's command-line tools (console consumer/producer, topics, ...) on the broker")
    .argument('<tool>', `one of ${Object.keys(KAFKA_TOOLS).join(', ')}`)
    .argument('[args...]', "the tool's own arguments")
    .allowUnknownOption()
    .passThroughOptions()
    .addHelpText('after', `${TOOLS_HELP}${connectionHelp}`)
    .action(async (name: string, args: string[]) => {
      const tool = kafkaTool(name);
      if (!tool)
        throw new CommanderError(
          2,
          'automatrix.kafka-console',
          `unknown tool "${name}": use one of ${Object.keys(KAFKA_TOOLS).join(', ')}`,
        );
      const config = loadConfig();
      const { brokers } = await resolveEndpoints(config, logger('cli'));
      process.exitCode = await runKafkaTool(stackArtifactsDir(stackSettings(config)), tool, args, brokers);
    });
}
