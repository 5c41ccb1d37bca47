import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { findChromium } from './chromium';
import { E2E_OUT_DIR, E2E_SERVER_PORT, E2E_SERVER_URL, portIsFree } from './env';

/**
 * Fails the suite up front when there is no browser or the server's port is taken, then builds the
 * extension for the test server; the build goes when the run ends (its port is this run's alone).
 */
export default async function setup(): Promise<() => void> {
  findChromium();
  if (!(await portIsFree(E2E_SERVER_PORT))) {
    throw new Error(
      `Port ${E2E_SERVER_PORT} (OPENPING_E2E_PORT) is already in use on localhost; the end-to-end tests need it ` +
        'for their own tracking server. Stop what listens there, or unset OPENPING_E2E_PORT to use a free port.',
    );
  }
  execFileSync('npx', ['wxt', 'build'], {
    stdio: 'inherit',
    env: { ...process.env, OPENPING_SERVER_URL: E2E_SERVER_URL, OPENPING_OUT_DIR: E2E_OUT_DIR },
  });
  return () => rmSync(E2E_OUT_DIR, { recursive: true, force: true });
}
