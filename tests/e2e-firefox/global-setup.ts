import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { portIsFree } from '../e2e/env';
import { FIREFOX_OUT_DIR, FIREFOX_SERVER_PORT, FIREFOX_SERVER_URL } from './env';
import { findFirefox } from './firefox';

/** Fails up front without Firefox or with the port taken; builds the Firefox extension for this run's server. */
export default async function setup(): Promise<() => void> {
  findFirefox();
  if (!(await portIsFree(FIREFOX_SERVER_PORT))) {
    throw new Error(
      `Port ${FIREFOX_SERVER_PORT} (OPENPING_E2E_FIREFOX_PORT) is already in use on localhost; the Firefox end-to-end ` +
        'tests need it for their own tracking server. Stop what listens there, or unset OPENPING_E2E_FIREFOX_PORT.',
    );
  }
  execFileSync('npx', ['wxt', 'build', '-b', 'firefox'], {
    stdio: 'inherit',
    env: { ...process.env, OPENPING_SERVER_URL: FIREFOX_SERVER_URL, OPENPING_OUT_DIR: FIREFOX_OUT_DIR },
  });
  return () => rmSync(FIREFOX_OUT_DIR, { recursive: true, force: true });
}
