import { resolve } from 'node:path';

/**
 * The e2e build talks to a server on this port (baked in at build time).
 * OPENPING_E2E_PORT lets several e2e runs share one machine: each gets its own
 * port and its own build folder.
 */
export const E2E_SERVER_PORT = Number(process.env.OPENPING_E2E_PORT ?? 18787);
export const E2E_SERVER_URL = `http://localhost:${E2E_SERVER_PORT}`;
/**
 * The public URL put into pixels. Pages on https origins may not load http://127.0.0.1
 * images (mixed content, Local Network Access — RESEARCH §5), so tests route this
 * https host to the local server, as a real deployment would serve it over https.
 */
export const E2E_PUBLIC_URL = 'https://track.openping.test';
export const E2E_OUT_DIR = resolve(`.output/e2e-${E2E_SERVER_PORT}`);
export const E2E_EXTENSION_DIR = resolve(E2E_OUT_DIR, 'chrome-mv3');
