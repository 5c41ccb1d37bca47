/**
 * The harness never takes another program for the test server (issue 13, finding 11): with the e2e
 * port held by something that even answers /healthz, starting the server fails at once and names
 * the port, instead of the tests talking to that program.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, expect, it } from 'vitest';
import { E2E_SERVER_PORT } from './env';
import { removeServerData, startServer, type TestServer } from './harness';

let squatter: Server | null = null;
let server: TestServer | null = null;

afterEach(async () => {
  if (server) {
    await server.stop();
    removeServerData(server);
    server = null;
  }
  await new Promise<void>((resolve) => (squatter ? squatter.close(() => resolve()) : resolve()));
  squatter = null;
});

it('refuses a port another program holds, naming it, before any test talks to it', async () => {
  squatter = createServer((_req, res) => res.end('{"ok":true}'));
  await new Promise<void>((resolve) => squatter!.listen(E2E_SERVER_PORT, '127.0.0.1', resolve));
  const attempt = startServer().then((started) => (server = started));
  await expect(attempt).rejects.toThrow(new RegExp(`port ${E2E_SERVER_PORT}: another program is using that port`));
});

it('starts on the port once it is free, and answers there', async () => {
  server = await startServer();
  expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
});
