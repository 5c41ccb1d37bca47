import { execFileSync } from 'node:child_process';
import { findChromium } from './chromium';
import { E2E_OUT_DIR, E2E_SERVER_URL } from './env';

/** Fails the suite up front when there is no browser, then builds the extension for the test server. */
export default function setup(): void {
  findChromium();
  execFileSync('npx', ['wxt', 'build'], {
    stdio: 'inherit',
    env: { ...process.env, OPENPING_SERVER_URL: E2E_SERVER_URL, OPENPING_OUT_DIR: E2E_OUT_DIR },
  });
}
