/** `npm start`: every configured component in one process, plus the HTTP API. */

import { startRuntime } from './app/index.ts';
import { COMPONENT_FACTORIES } from './components.ts';
import { effectiveLogLevel, loadConfig } from './config/index.ts';
import { AutomatrixError } from './errors/index.ts';
import { logger, rootLogger } from './log/index.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  rootLogger(effectiveLogLevel(config));
  const runtime = await startRuntime(config, COMPONENT_FACTORIES);
  const log = logger('app');
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // `on`, not `once`: a second signal (npm relays the one it got) must not kill the process mid-shutdown.
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      runtime.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

main().catch((err: unknown) => {
  // Our errors say in one line what is wrong and what to do; anything else is a bug, with details at debug level.
  process.stderr.write(`automatrix: ${(err as Error).message ?? String(err)}\n`);
  if (!(err instanceof AutomatrixError)) logger('app').debug({ err }, 'startup failed');
  process.exit(1);
});
