import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

/**
 * Where Chromium is: $CHROMIUM_PATH, then Debian's /usr/bin/chromium, then a
 * browser Playwright downloaded. No browser is a failure with one clear sentence.
 */
export function findChromium(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  for (const path of candidates) if (path && existsSync(path)) return path;
  try {
    const downloaded = chromium.executablePath();
    if (downloaded && existsSync(downloaded)) return downloaded;
  } catch {
    // playwright-core throws when it has no browser of its own; fall through to the message below.
  }
  throw new Error(
    'No Chromium found for the end-to-end tests: install one with `apt-get install -y chromium` ' +
      '(or `npx playwright install chromium`), or set CHROMIUM_PATH to its executable.',
  );
}

/** Flags for a machine with no outside network; --no-sandbox only when running as root. */
export function chromiumArgs(extensionDir: string): string[] {
  const args = [
    `--disable-extensions-except=${extensionDir}`,
    `--load-extension=${extensionDir}`,
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-gpu',
    '--disable-quic',
  ];
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  return args;
}
