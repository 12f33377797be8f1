/** The CLI's help names the environment variables it reads, and a missing command is an error (issue 16, item 9). */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/process.ts';

describe('automatrix help', () => {
  it('exits 1 with the help on stderr when no command is given, 0 with --help', async () => {
    const bare = await runCli([], {}, 60_000);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain('Usage: automatrix');
    expect(bare.stdout).toBe('');
    const help = await runCli(['--help'], {}, 60_000);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: automatrix');
  });

  it('names the environment variables each command reads, with their defaults', async () => {
    const top = await runCli(['--help'], {}, 60_000);
    for (const name of ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'KAFKA_TOPIC_PREFIX'])
      expect(top.stdout).toMatch(new RegExp(`^ {2}${name} .*\\(default: `, 'm'));
    const stack = await runCli(['stack', '--help'], {}, 60_000);
    expect(stack.stdout).toMatch(/^ {2}STACK_KAFKA_PORT +Local stack: broker port \(default: 9092\)$/m);
    const detect = await runCli(['detect', '--help'], {}, 60_000);
    expect(detect.stdout).toMatch(/^ {2}DETECT_WARMUP_SAMPLES /m);
    for (const command of ['topics', 'replay', 'tail', 'kafka-console']) {
      const r = await runCli([command, '--help'], {}, 60_000);
      expect(r.code, command).toBe(0);
      expect(r.stdout, command).toMatch(/^Environment variables read:$/m);
      expect(r.stdout, command).toMatch(/^ {2}KAFKA_TOPIC_PREFIX /m);
    }
  });
});
