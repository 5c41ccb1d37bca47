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
    env: {
      ...process.env,
      OPENPING_SERVER_URL: E2E_SERVER_URL,
      OPENPING_OUT_DIR: E2E_OUT_DIR,
      // SPEC §6: the tests' tracking server is local; a build for it tracks through it as `ready`.
      OPENPING_ALLOW_LOCAL_SERVER: '1',
      // No setup tab on install: it would run its checklist (and test pixel) beside every test.
      // tests/e2e/onboarding.test.ts builds its own copy with the setup page and without local servers.
      OPENPING_OPEN_SETUP: '0',
      // The background's test-only hooks (lib/config.ts testHooks): a test clicks a notification through them.
      OPENPING_TEST_HOOKS: '1',
    },
  });
  return () => rmSync(E2E_OUT_DIR, { recursive: true, force: true });
}
