/**
 * An AutoMatrix process for soak and chaos runs: `src/main.ts`'s start-up (same environment
 * variables, same graceful SIGTERM), plus, when it has an IPC channel, a sample of its own RSS,
 * heap and event-loop delay (perf_hooks) sent to the parent every SAMPLE_MS.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startRuntime } from '../../src/app/index.ts';
import { COMPONENT_FACTORIES } from '../../src/components.ts';
import { effectiveLogLevel, loadConfig } from '../../src/config/index.ts';
import { rootLogger } from '../../src/log/index.ts';

export interface ProcessSample {
  at: number;
  rssMb: number;
  heapUsedMb: number;
  /** Heap after a full GC (only on samples where one was run, with --expose-gc). */
  heapAfterGcMb?: number;
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
  handles: number;
}

const SAMPLE_MS = Number(process.env.SAMPLE_MS ?? 5000);
const GC_EVERY = Number(process.env.GC_EVERY_SAMPLES ?? 6);

function startSampling(send: (s: ProcessSample) => void): void {
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  let n = 0;
  setInterval(() => {
    const sample: ProcessSample = {
      at: Date.now(),
      rssMb: process.memoryUsage.rss() / 2 ** 20,
      heapUsedMb: process.memoryUsage().heapUsed / 2 ** 20,
      lagP50Ms: lag.percentile(50) / 1e6,
      lagP99Ms: lag.percentile(99) / 1e6,
      lagMaxMs: lag.max / 1e6,
      handles: process.getActiveResourcesInfo().length,
    };
    lag.reset();
    const gc = (globalThis as { gc?: () => void }).gc;
    // After the lag window is read, so the collection's pause lands in the next window like any other.
    if (gc && ++n % GC_EVERY === 0) {
      gc();
      sample.heapAfterGcMb = process.memoryUsage().heapUsed / 2 ** 20;
    }
    send(sample);
  }, SAMPLE_MS).unref();
}

async function main(): Promise<void> {
  const config = loadConfig();
  rootLogger(effectiveLogLevel(config));
  const runtime = await startRuntime(config, COMPONENT_FACTORIES);
  if (process.send) startSampling((s) => process.send?.({ type: 'sample', sample: s }));
  process.send?.({ type: 'ready' });
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      runtime.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`app-runner: ${(err as Error).message}\n`);
  process.exit(1);
});
