/**
 * A fresh, uniquely named PostgreSQL database per test file, dropped afterwards,
 * so parallel test files and repeated runs never see each other's rows.
 *
 * The server connection comes from OPENPING_TEST_PG, else the local socket that
 * `.ci/run` starts (where the current user is a superuser). PostgreSQL tests are
 * never skipped: when the server cannot be reached they fail with one sentence
 * saying how to start it.
 */
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import pg from 'pg';

// libpq falls back to the operating-system user name when a URL names none
// (postgresql.org/docs/15/libpq-connect.html, "user"); node-postgres falls back to
// $USER only (pg/lib/defaults.js), which is unset under some CI runners.
if (!process.env.PGUSER && !pg.defaults.user) pg.defaults.user = userInfo().username;

export const DEFAULT_TEST_PG = 'postgresql:///postgres?host=/var/run/postgresql';

export function adminUrl(): string {
  return process.env.OPENPING_TEST_PG || DEFAULT_TEST_PG;
}

/** `url` with its database name replaced (keeps host, socket, user and options). */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.href;
}

async function connectAdmin(): Promise<pg.Client> {
  const url = adminUrl();
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(
      `PostgreSQL is not reachable at ${url} (${why}): start it with \`.ci/run\` or \`pg_ctlcluster 15 main start\`, ` +
        'or point OPENPING_TEST_PG at a server where you may create databases.',
    );
  }
  return client;
}

export interface TestDatabase {
  /** Connection URL of the fresh database. */
  url: string;
  name: string;
  /** Drops the database, closing any connection still open to it. */
  drop(): Promise<void>;
}

/** Creates an empty database named `openping_test_<label>_<random>`. */
export async function createTestDatabase(label = 'db'): Promise<TestDatabase> {
  const name = `openping_test_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = await connectAdmin();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(adminUrl(), name),
    name,
    async drop() {
      const c = await connectAdmin();
      try {
        // WITH (FORCE) (PostgreSQL 13+) ends sessions a crashed child process left behind.
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A port nobody listens on right now (the child server must be told its port up front). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface ServerProcess {
  url: string;
  pid: number;
  child: import('node:child_process').ChildProcess;
  /** Everything the process wrote, for failure messages. */
  output(): string;
  /** SIGKILL: no shutdown hook runs (the crash the tests are about). */
  kill9(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

/**
 * Runs `node --import tsx backend/main.ts` as a separate process (what `npm run
 * server` runs) on a free port and waits for /healthz.
 */
export async function startServerProcess(env: Record<string, string>, timeoutMs = 20_000): Promise<ServerProcess> {
  const { spawn } = await import('node:child_process');
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'backend/main.ts'], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: { ...process.env, OPENPING_HOST: '127.0.0.1', OPENPING_PORT: String(port), OPENPING_PUBLIC_URL: `http://127.0.0.1:${port}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`The server process exited before it was healthy on port ${port}${/EADDRINUSE/.test(log) ? ' (another program took that port)' : ''}:\n${log}`);
    }
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`The server process was not healthy on port ${port} within ${timeoutMs} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    pid: child.pid!,
    child,
    output: () => log,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
