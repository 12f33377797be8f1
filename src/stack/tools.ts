import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { progress } from '../progress/index.ts';
import { StackError } from './errors.ts';
import { MIN_JAVA } from './versions.ts';

export interface JavaRuntime {
  bin: string;
  major: number;
}

/** The java binary (JAVA_HOME first, then PATH) and its major version; StackError if missing or too old. */
export function findJava(): JavaRuntime {
  const home = process.env.JAVA_HOME;
  const bin = home && existsSync(join(home, 'bin', 'java')) ? join(home, 'bin', 'java') : 'java';
  const res = spawnSync(bin, ['-version'], { encoding: 'utf8' });
  if (res.error)
    throw new StackError(
      `Java ${MIN_JAVA}+ is needed to run the local stack but "${bin}" was not found: install it (apt-get install openjdk-17-jre-headless) or set JAVA_HOME`,
    );
  const m = /version "(\d+)(?:\.(\d+))?/.exec(res.stderr + res.stdout);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : 0;
  if (major < MIN_JAVA)
    throw new StackError(
      `Java ${MIN_JAVA}+ is needed to run the local stack, found ${major || 'an unknown version'} at ${bin}: install a newer JDK or point JAVA_HOME at one`,
    );
  return { bin, major };
}

export function findMaven(): string {
  const bin = process.env.MAVEN_CMD ?? 'mvn';
  const res = spawnSync(bin, ['-v'], { encoding: 'utf8' });
  if (res.error || res.status !== 0)
    throw new StackError(
      `Maven is needed once to download the stack's artifacts but "${bin}" was not found: install it (apt-get install maven) or set MAVEN_CMD`,
    );
  return bin;
}

const UNITS: Record<string, number> = { B: 1 / 1024, kB: 1, MB: 1024, GB: 1024 * 1024 };

/**
 * Runs Maven with its transfer progress parsed into our progress display. Throws StackError
 * (with Maven's own last error) when it fails.
 */
export async function runMaven(mvn: string, args: string[], what: string, cwd: string): Promise<void> {
  const bar = progress(`downloading ${what}`, 'kB');
  let files = 0;
  let lastError = '';
  const code = await new Promise<number>((resolve) => {
    const child = spawn(mvn, ['-Dstyle.color=never', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split(/[\r\n]/);
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const p = /^Progress \(\d+\): ([\d.]+)\/([\d.]+) (B|kB|MB|GB)/.exec(line);
        if (p) {
          const unit = UNITS[p[3]!] ?? 1;
          const total = Number(p[2]) * unit;
          if (total >= 1024) bar.update(Math.round(Number(p[1]) * unit), Math.round(total));
        } else if (line.startsWith('Downloaded from')) files++;
        else if (line.startsWith('[ERROR]') && !lastError) lastError = line.replace(/^\[ERROR\]\s*/, '');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => {
      lastError = err.message;
      resolve(-1);
    });
    child.on('close', (c) => resolve(c ?? -1));
  });
  bar.stop(code === 0 ? `fetched ${what} with Maven (${files} files downloaded, the rest from ~/.m2)` : undefined);
  if (code !== 0) {
    throw new StackError(
      `could not download ${what} with Maven (${lastError.slice(0, 300) || `exit ${code}`}): check access to Maven Central or the mirror in ~/.m2/settings.xml, then retry`,
    );
  }
}
