/** RelayCore (or any set of components) as a child process: `node src/main.ts`, as in production. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './process.ts';
import { until } from './relay.ts';

export interface AppChild {
  child: ChildProcess;
  base: string;
  log(): string;
  exited: Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** A ROUTES_FILE with one route `default` of a single HTTP endpoint `sink`, for a child process to read. */
export function singleEndpointRoutesFile(policy: string, target: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'am-routes-')), 'routes.json');
  writeFileSync(
    file,
    JSON.stringify({ routes: [{ name: 'default', policy, endpoints: [{ id: 'sink', kind: 'HTTP', target }] }] }),
  );
  return file;
}

/** Starts the app with `env` and waits until each of `components` reports ok on /health. */
export async function startAppProcess(
  env: Record<string, string>,
  components: string[] = ['relay'],
  timeoutMs = 120_000,
): Promise<AppChild> {
  const port = await freePort();
  let log = '';
  const child = spawn(process.execPath, ['src/main.ts'], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const base = `http://127.0.0.1:${port}`;
  await until(
    async () => {
      if (child.exitCode !== null) throw new Error(`the process exited (${child.exitCode}): ${log.slice(-2000)}`);
      try {
        const body = (await (await fetch(`${base}/health`)).json()) as {
          components?: Record<string, { status: string }>;
        };
        return components.every((c) => body.components?.[c]?.status === 'ok');
      } catch {
        return false;
      }
    },
    `the app process to be healthy (${log.slice(-500)})`,
    timeoutMs,
  );
  return {
    child,
    base,
    log: () => log,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
