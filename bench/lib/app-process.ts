/** Starts bench/lib/app-runner.ts as a child process and keeps its samples and log tail. */
import { type ChildProcess, spawn } from 'node:child_process';
import { freePort } from '../../test/helpers/process.ts';
import type { ProcessSample } from './app-runner.ts';

export { freePort };

export interface AppProcess {
  child: ChildProcess;
  port: number;
  base: string;
  samples: ProcessSample[];
  log(): string;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  kill(): Promise<void>;
}

export async function startApp(
  env: Record<string, string>,
  opts: { exposeGc?: boolean; readyTimeoutMs?: number } = {},
): Promise<AppProcess> {
  const port = await freePort();
  const args = [...(opts.exposeGc ? ['--expose-gc'] : []), 'bench/lib/app-runner.ts'];
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ENVIRONMENT: 'production',
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let tail = '';
  const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const samples: ProcessSample[] = [];
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (m: { type: string; sample?: ProcessSample }) => {
      if (m.type === 'ready') resolve();
      if (m.type === 'sample' && m.sample) samples.push(m.sample);
    });
    void exited.then((code) => reject(new Error(`app exited (${code}) before it was ready: ${tail.slice(-2000)}`)));
    setTimeout(
      () => reject(new Error(`app not ready within ${opts.readyTimeoutMs ?? 120_000} ms: ${tail.slice(-2000)}`)),
      opts.readyTimeoutMs ?? 120_000,
    ).unref();
  });
  await ready;
  const app: AppProcess = {
    child,
    port,
    base: `http://127.0.0.1:${port}`,
    samples,
    log: () => tail,
    exited,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
  return app;
}
