import { createReadStream } from 'node:fs';
import { CommanderError } from 'commander';
import type { Config } from '../config/index.ts';
import { CsvError, engineOptions, scoreCsv } from '../detect/index.ts';

/** `automatrix detect`: CSV in, scored CSV out; a bad row is one line on stderr naming it. */
export async function runDetect(config: Config, opts: { input?: string }): Promise<void> {
  const input = opts.input ? createReadStream(opts.input) : process.stdin;
  if (opts.input) {
    await new Promise<void>((resolve, reject) => {
      input.once('open', () => resolve());
      input.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new CommanderError(
            1,
            'automatrix.detect',
            `cannot read ${opts.input}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`,
          ),
        ),
      );
    });
  }
  try {
    await scoreCsv(input, process.stdout, engineOptions(config).settings);
  } catch (err) {
    if (err instanceof CsvError)
      throw new CommanderError(1, 'automatrix.detect', `${opts.input ?? 'stdin'}: ${err.message}`);
    throw err;
  }
}
