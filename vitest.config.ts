import { defineConfig } from 'vitest/config';
import { WxtVitest } from 'wxt/testing';

/**
 * Three suites, one command (`npm test`):
 * - unit:   extension and classifier logic, fast, no browser (WXT's fakeBrowser).
 * - server: the tracking server over a real port, a real SQLite file and a real PostgreSQL.
 * - e2e:    real Chromium with the built extension against the real server.
 * - package: the store zips as `npm run zip` makes them: addons-linter, the sources zip, the Chrome zip in Chromium.
 * - firefox: real Firefox ESR with the built Firefox extension against the real server (one browser for the
 *            file). It runs last (groupOrder 2): a second real browser beside Chromium's suite or the package
 *            builds on a 2-core machine would only load the timing-sensitive tests there, for ~40 s saved.
 *
 * Tests wait for events, not clocks; where one polls, expect.poll's default second is too short for a
 * loaded 2-core machine (issue 13, finding 11), so every project polls for up to 30 s unless a test says.
 */
const expect = { poll: { timeout: 30_000 } };
export default defineConfig({
  test: {
    // CI reads the totals of all suites from this report (.ci/run).
    reporters: process.env.CI ? ['default', ['json', { outputFile: process.env.OPENPING_TEST_REPORT ?? '.ci/results.json' }]] : ['default'],
    projects: [
      {
        plugins: [WxtVitest()],
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.{ts,tsx}'],
          expect,
          setupFiles: ['fake-indexeddb/auto', 'tests/unit/i18n-setup.ts'],
        },
      },
      {
        test: {
          name: 'server',
          include: ['tests/server/**/*.test.ts'],
          expect,
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          expect,
          environment: 'node',
          globalSetup: ['tests/e2e/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'package',
          include: ['tests/package/**/*.test.ts'],
          expect,
          environment: 'node',
          testTimeout: 120_000,
          // Two builds and three zips on a loaded 2-core machine.
          hookTimeout: 600_000,
          // After the other suites, not beside them: its builds would take the cores the e2e tests wait on.
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'firefox',
          include: ['tests/e2e-firefox/**/*.test.ts'],
          expect,
          environment: 'node',
          sequence: { groupOrder: 2 },
          globalSetup: ['tests/e2e-firefox/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
