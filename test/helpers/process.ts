import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the automatrix CLI in a child process (with `input` on its stdin, if given) and collects its output. */
export function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 300_000,
  input?: string,
): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/automatrix.js', ...args], {
      env: { ...process.env, ...env } as NodeJS.ProcessEnv,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (input !== undefined) child.stdin!.end(input);
    collect(child, timeoutMs).then(resolve, () => undefined);
  });
}

export function collect(child: ChildProcess, timeoutMs: number): Promise<Finished> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no free port'))));
    });
  });
}
