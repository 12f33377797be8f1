import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type StackSettings, stackDown } from '../../src/stack/index.ts';
import { freePort } from './process.ts';

const sharedArtifacts = resolve(process.env.STACK_DIR ?? '.stack', 'artifacts');

/**
 * A stack of the test's own on free ports (sharing the downloaded artifacts), for tests that stop
 * or restart the broker or registry. `dispose()` stops it and removes its folder.
 */
export async function privateStack(): Promise<StackSettings & { dispose(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'am-stack-'));
  const settings: StackSettings = {
    dir,
    artifactsDir: sharedArtifacts,
    kafkaPort: await freePort(),
    controllerPort: await freePort(),
    registryPort: await freePort(),
  };
  return {
    ...settings,
    async dispose() {
      await stackDown(settings, () => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
