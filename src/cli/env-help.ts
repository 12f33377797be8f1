/** The environment variables a command reads, for its --help, from their declarations (src/config). */
import { ENV } from '../config/index.ts';
import { DETECT_ENV } from '../detect/config.ts';

type VarName = keyof typeof ENV;

/** What every command that talks to Kafka reads (the local stack's when KAFKA_BROKERS is unset). */
export const CONNECTION_VARS: VarName[] = [
  'KAFKA_BROKERS',
  'SCHEMA_REGISTRY_URL',
  'KAFKA_TOPIC_PREFIX',
  'KAFKA_CLIENT_ID',
  'STACK_DIR',
  'STACK_KAFKA_PORT',
  'STACK_REGISTRY_PORT',
  'LOG_LEVEL',
];
export const STACK_VARS: VarName[] = ['STACK_DIR', 'STACK_KAFKA_PORT', 'STACK_CONTROLLER_PORT', 'STACK_REGISTRY_PORT'];
export const DETECT_VARS = Object.keys(DETECT_ENV) as VarName[];

const firstSentence = (text: string) => text.split(/(?<=\.)\s/)[0]!.replace(/\.$/, '');

/** A help section naming each variable, its default and what it is for. */
export function envHelp(names: readonly VarName[], heading = 'Environment variables read'): string {
  const width = Math.max(...names.map((n) => n.length));
  const lines = names.map((name) => {
    const v = ENV[name];
    return `  ${name.padEnd(width)}  ${firstSentence(v.description)} (default: ${v.defaultText})`;
  });
  return `\n${heading}:\n${lines.join('\n')}\n`;
}
