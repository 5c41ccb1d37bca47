import { resolve } from 'node:path';
import { freeLoopbackPort } from '../e2e/env';

/**
 * The Firefox project's own tracking-server port, baked into its own build: vitest may run it beside the
 * Chromium e2e project, whose server holds OPENPING_E2E_PORT. Chosen once per run in vitest's main
 * process (the global setup); the test worker inherits the variable. OPENPING_E2E_FIREFOX_PORT picks one.
 */
process.env.OPENPING_E2E_FIREFOX_PORT ||= String(await freeLoopbackPort());
export const FIREFOX_SERVER_PORT = Number(process.env.OPENPING_E2E_FIREFOX_PORT);
if (!Number.isInteger(FIREFOX_SERVER_PORT) || FIREFOX_SERVER_PORT < 1 || FIREFOX_SERVER_PORT > 65_535) {
  throw new Error(`OPENPING_E2E_FIREFOX_PORT must be a port number (1–65535); got "${process.env.OPENPING_E2E_FIREFOX_PORT}".`);
}
export const FIREFOX_SERVER_URL = `http://localhost:${FIREFOX_SERVER_PORT}`;
export const FIREFOX_OUT_DIR = resolve(`.output/e2e-firefox-${FIREFOX_SERVER_PORT}`);
/** WXT's Firefox target (manifest v2, see wxt.config.ts and the README's Firefox section). */
export const FIREFOX_EXTENSION_DIR = resolve(FIREFOX_OUT_DIR, 'firefox-mv2');
