import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** Debian's Chromium; installed with apt-get when missing (CI runs as root on a fresh machine). */
export function ensureChromium(): string {
  const found = CANDIDATES.find((p) => existsSync(p));
  if (found) return found;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'inherit', timeout: 300_000 });
  const install = spawnSync('apt-get', ['install', '-y', '-qq', 'chromium', 'fonts-dejavu-core'], {
    env,
    stdio: 'inherit',
    timeout: 600_000,
  });
  if (install.status !== 0)
    throw new Error("could not install chromium with apt-get (the browser test needs Debian's chromium package)");
  const installed = CANDIDATES.find((p) => existsSync(p));
  if (!installed) throw new Error('chromium was installed but is not at /usr/bin/chromium');
  return installed;
}

/** Headless Chromium with a fresh profile, nothing phoning home. */
export async function launchBrowser(): Promise<BrowserContext> {
  const executablePath = ensureChromium();
  const profile = mkdtempSync(join(tmpdir(), 'automatrix-chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1440, height: 1000 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
    ],
  });
}
