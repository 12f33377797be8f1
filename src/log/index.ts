import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** Paths that may carry credentials; pino replaces their values before anything is written. */
const REDACT = [
  'token',
  'apiToken',
  'password',
  'secret',
  'authorization',
  '*.token',
  '*.apiToken',
  '*.password',
  '*.secret',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'config.API_TOKEN',
  'API_TOKEN',
];

let root: Logger | undefined;

/** The process-wide logger; the first call fixes its level and stream (the CLI logs to stderr: stdout is its output). */
export function rootLogger(level = process.env.LOG_LEVEL ?? 'info', to: 'stdout' | 'stderr' = 'stdout'): Logger {
  const options = {
    level,
    base: { pid: process.pid },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  root ??= to === 'stderr' ? pino(options, pino.destination(2)) : pino(options);
  return root;
}

/** A child logger for one component, e.g. `logger('relay')`. */
export function logger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ component, ...bindings });
}

export function setLogLevel(level: string): void {
  rootLogger(level).level = level;
}
