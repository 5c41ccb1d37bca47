/** The tracking server this build was made for (OPENPING_SERVER_URL at build time). */
export const defaultServerUrl: string =
  typeof __OPENPING_SERVER_URL__ === 'string' ? __OPENPING_SERVER_URL__ : 'http://localhost:8787';

/**
 * Whether "Allow a local server (for testing)" starts on: a build made with
 * OPENPING_ALLOW_LOCAL_SERVER=1 (SPEC §6) — local trials and the e2e tests.
 */
export const allowLocalServerByDefault: boolean =
  typeof __OPENPING_ALLOW_LOCAL_SERVER__ === 'boolean' ? __OPENPING_ALLOW_LOCAL_SERVER__ : false;

/**
 * Whether the background opens the setup page when the extension is installed.
 * Off only in builds made with OPENPING_OPEN_SETUP=0: the e2e suite's shared
 * build, whose tests would otherwise each get an extra tab running the setup
 * checklist (and its test pixel) against their server.
 */
export const openSetupOnInstall: boolean =
  typeof __OPENPING_OPEN_SETUP__ === 'boolean' ? __OPENPING_OPEN_SETUP__ : true;

/**
 * Where a failed setup step sends the user: the README's Deploy section. The
 * project's public address is not fixed yet, so a build may set it with
 * OPENPING_DOCS_URL; one place, so it is changed once.
 */
export const DEPLOY_DOCS_URL: string =
  typeof __OPENPING_DOCS_URL__ === 'string' ? __OPENPING_DOCS_URL__ : 'https://github.com/openping/openping#deploy';

/**
 * Whether the background exposes test-only hooks: only in builds made with OPENPING_TEST_HOOKS=1, the
 * e2e suite's (tests/e2e/global-setup.ts). A test cannot click a real notification (Chrome has no API
 * for it), so such a build lets the test call the background's click handler by hand.
 */
export const testHooks: boolean = typeof __OPENPING_TEST_HOOKS__ === 'boolean' ? __OPENPING_TEST_HOOKS__ : false;
