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
