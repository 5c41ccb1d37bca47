/** A real tracking server on port 0 with a real SQLite file in a temp folder, and its captured logs. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../backend/config.ts';
import { createLogger } from '../../backend/log.ts';
import { createServer, type OpenPingServer, type ServerDeps } from '../../backend/server.ts';

export interface Running {
  url: string;
  dir: string;
  db: string;
  server: OpenPingServer;
  logs(): string;
  stop(): Promise<void>;
}

export async function startTestServer(config: Partial<Config> = {}, deps: ServerDeps = {}): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'openping-server-'));
  const db = join(dir, 'openping.db');
  let lines = '';
  const logger = createLogger(config.logLevel ?? 'info', { write: (s: string) => void (lines += s) });
  const server = createServer({ port: 0, host: '127.0.0.1', db, publicUrl: 'https://ping.example', ...config }, { logger, ...deps });
  const { url } = await server.listen();
  return {
    url,
    dir,
    db,
    server,
    logs: () => lines,
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Account {
  account: string;
  token: string;
  pixelBase: string;
  auth: { authorization: string };
}

export async function newAccount(url: string, headers: Record<string, string> = {}): Promise<Account> {
  const res = await fetch(`${url}/v1/accounts`, { method: 'POST', headers });
  if (res.status !== 201) throw new Error(`POST /v1/accounts answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { account: string; token: string; pixelBase: string };
  return { ...body, auth: { authorization: `Bearer ${body.token}` } };
}

let counter = 0;
/** A fresh tracker id (22 base64url characters, like 128 random bits). */
export function trackerId(): string {
  counter++;
  return `T${String(counter).padStart(6, '0')}${Math.random().toString(36).slice(2, 10).padEnd(8, 'x')}_-xyzw`.slice(0, 22);
}

export async function putTracker(url: string, acc: Account, tracker: string, body: object = { state: 'sent' }): Promise<Response> {
  return fetch(`${url}/v1/trackers/${tracker}`, {
    method: 'PUT',
    headers: { ...acc.auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

export async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}
