import { readFileSync } from 'node:fs';

/** The installed version of a package, found from its entry point (some do not export package.json). */
export function packageVersion(name: string): string {
  let dir = new URL('.', import.meta.resolve(name));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version: string };
      if (pkg.name === name) return pkg.version;
    } catch {
      // not this folder: look further up
    }
    dir = new URL('..', dir);
  }
  return 'unknown';
}
