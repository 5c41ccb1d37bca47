import { resolve } from 'node:path';

/** The e2e build talks to a server on this port (baked in at build time). */
export const E2E_SERVER_PORT = 18787;
export const E2E_SERVER_URL = `http://localhost:${E2E_SERVER_PORT}`;
/**
 * The public URL put into pixels. Pages on https origins may not load http://127.0.0.1
 * images (mixed content, Local Network Access — RESEARCH §5), so tests route this
 * https host to the local server, as a real deployment would serve it over https.
 */
export const E2E_PUBLIC_URL = 'https://track.openping.test';
export const E2E_OUT_DIR = resolve('.output/e2e');
export const E2E_EXTENSION_DIR = resolve(E2E_OUT_DIR, 'chrome-mv3');
