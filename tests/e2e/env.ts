import { createServer } from 'node:net';
import { resolve } from 'node:path';

/** Listens on host:port and closes again; resolves with the port, or null when it is taken. */
function tryListen(port: number, host: string): Promise<number | null> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') done(null);
      // No IPv6 loopback on this machine: nothing can answer there either.
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'EAFNOSUPPORT') done(port);
      else fail(error);
    });
    probe.listen(port, host, () => {
      const { port: bound } = probe.address() as { port: number };
      probe.close(() => done(bound));
    });
  });
}

/**
 * Whether nothing listens on `port` at either loopback address: the build says `localhost`, which
 * Chromium may reach on ::1 as well as 127.0.0.1, and another program on either would answer the tests.
 */
export async function portIsFree(port: number): Promise<boolean> {
  return (await tryListen(port, '127.0.0.1')) !== null && (await tryListen(port, '::1')) !== null;
}

/** A port the kernel hands out as free (port 0) that is free on ::1 too. */
export async function freeLoopbackPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await tryListen(0, '127.0.0.1');
    if (port !== null && (await tryListen(port, '::1')) !== null) return port;
  }
  throw new Error('Found no free loopback port for the end-to-end server in 20 tries.');
}

/**
 * The e2e build talks to a server on this port, baked in at build time, so the port is chosen once per
 * run: OPENPING_E2E_PORT if set, else a free port taken here (in vitest's main process, by the e2e
 * global setup; its workers inherit the variable). No fixed default: a port another program holds makes
 * the tests talk to that program (issue 13, finding 11). Each port gets its own build folder.
 */
process.env.OPENPING_E2E_PORT ||= String(await freeLoopbackPort());
export const E2E_SERVER_PORT = Number(process.env.OPENPING_E2E_PORT);
if (!Number.isInteger(E2E_SERVER_PORT) || E2E_SERVER_PORT < 1 || E2E_SERVER_PORT > 65_535) {
  throw new Error(`OPENPING_E2E_PORT must be a port number (1–65535); got "${process.env.OPENPING_E2E_PORT}".`);
}
export const E2E_SERVER_URL = `http://localhost:${E2E_SERVER_PORT}`;
/**
 * The public URL put into pixels. Pages on https origins may not load http://127.0.0.1
 * images (mixed content, Local Network Access — RESEARCH §5), so tests route this
 * https host to the local server, as a real deployment would serve it over https.
 */
export const E2E_PUBLIC_URL = 'https://track.openping.test';
export const E2E_OUT_DIR = resolve(`.output/e2e-${E2E_SERVER_PORT}`);
export const E2E_EXTENSION_DIR = resolve(E2E_OUT_DIR, 'chrome-mv3');
