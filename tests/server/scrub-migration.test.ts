/**
 * Hits stored before the sanitiser masked every address notation (issue 13,
 * finding 8) are scrubbed by a schema migration of each store: a database one
 * version back, holding such a hit, is opened and its signals come out masked.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import Database from '../../backend/store/sqlite-driver.ts';
import { migrateSqlite, openSqliteStore } from '../../backend/store/sqlite.ts';
import { migratePostgres, openPostgresStore } from '../../backend/store/postgres.ts';
import { createTestDatabase } from './pg.ts';

const RAW = {
  at: Date.now() - 60_000,
  method: 'GET',
  userAgent: 'Mozilla/5.0 (compatible; probe via 0x0a.0x29.0x2a.0x2b)',
  headers: {
    referer: 'http://10.61.62.63:8080/inbox',
    via: '1.1 167772215 (squid)',
    from: 'bob@[10.71.72.73]',
    accept: 'image/*',
  },
  network: { prefix: '198.51.100.0/24', asn: null, org: null },
};
const RAW_FORMS = ['0x0a.0x29.0x2a.0x2b', '10.61.62.63', '167772215', '10.71.72.73'];

function expectScrubbed(signals: typeof RAW): void {
  const text = JSON.stringify(signals);
  for (const form of RAW_FORMS) expect(text).not.toContain(form);
  expect(signals.headers.accept).toBe('image/*');
  expect(signals.network.prefix).toBe('198.51.100.0/24');
}

/**
 * The scrub is SQLite's 4th and PostgreSQL's 3rd migration. The test builds a database as the server of just
 * before it left it (the migrations up to there), with the rows of that schema, and opens it with today's
 * store, which runs the scrub and every later migration once, as an upgrade does.
 */
const SQLITE_BEFORE_SCRUB = 3;
const POSTGRES_BEFORE_SCRUB = 2;

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('the migration that scrubs stored signals', () => {
  it('masks every address in hits an older SQLite database holds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openping-scrub-'));
    dirs.push(dir);
    const path = join(dir, 'openping.db');
    const current = new Database(join(dir, 'current.db'));
    migrateSqlite(current);
    const version = current.pragma('user_version', { simple: true }) as number;
    current.close();

    const db = new Database(path);
    migrateSqlite(db, SQLITE_BEFORE_SCRUB);
    expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_BEFORE_SCRUB);
    db.prepare(`INSERT INTO accounts (id, token_hash, created_at) VALUES ('account-scrub-0001', ?, ?)`).run('h'.repeat(64), RAW.at);
    db.prepare(
      `INSERT INTO trackers (id, account, state, sent_at, created_at) VALUES ('tracker-scrub-0001', 'account-scrub-0001', 'sent', ?, ?)`,
    ).run(RAW.at, RAW.at);
    db.prepare(
      `INSERT INTO hits (id, account, tracker, at, kind, via, reason, client, prefix, asn, org, geo, signals)
       VALUES ('hit-scrub-0001', 'account-scrub-0001', 'tracker-scrub-0001', ?, 'open', NULL, 'r', NULL, '198.51.100.0/24', NULL, NULL, NULL, ?)`,
    ).run(RAW.at, JSON.stringify(RAW));
    db.close();

    const reopened = await openSqliteStore(path);
    await reopened.close();
    const check = new Database(path, { readonly: true });
    const row = check.prepare(`SELECT signals FROM hits WHERE id = 'hit-scrub-0001'`).get() as { signals: string };
    expect(check.pragma('user_version', { simple: true })).toBe(version);
    check.close();
    expectScrubbed(JSON.parse(row.signals));
    for (const file of readdirSync(dir).filter((f) => f.startsWith('openping.db'))) {
      const bytes = readFileSync(join(dir, file), 'latin1');
      // The WAL may still hold the old page until a checkpoint; the database file itself must not.
      if (file === 'openping.db') for (const form of RAW_FORMS) expect(bytes).not.toContain(form);
    }
  });

  it('masks every address in hits an older PostgreSQL database holds', async () => {
    const fresh = await createTestDatabase('scrub');
    try {
      const pool = new pg.Pool({ connectionString: fresh.url, max: 1 });
      try {
        await migratePostgres(pool, POSTGRES_BEFORE_SCRUB);
      } finally {
        await pool.end();
      }

      const client = new pg.Client({ connectionString: fresh.url });
      await client.connect();
      try {
        const { rows: schema } = await client.query<{ version: number }>('SELECT max(version) AS version FROM openping_schema');
        expect(schema[0]!.version).toBe(POSTGRES_BEFORE_SCRUB);
        await client.query(`INSERT INTO accounts (id, token_hash, created_at) VALUES ('account-scrub-0002', $1, $2)`, ['h'.repeat(64), RAW.at]);
        await client.query(
          `INSERT INTO trackers (id, account, state, sent_at, created_at) VALUES ('tracker-scrub-0002', 'account-scrub-0002', 'sent', $1, $1)`,
          [RAW.at],
        );
        await client.query(
          `INSERT INTO hits (id, account, tracker, seq, at, kind, via, reason, client, prefix, asn, org, geo, signals)
           VALUES ('hit-scrub-0002', 'account-scrub-0002', 'tracker-scrub-0002', 1, $1, 'open', NULL, 'r', NULL, '198.51.100.0/24', NULL, NULL, NULL, $2)`,
          [RAW.at, JSON.stringify(RAW)],
        );

        const reopened = await openPostgresStore(fresh.url);
        await reopened.close();
        const after = await client.query<{ signals: typeof RAW }>(`SELECT signals FROM hits WHERE id = 'hit-scrub-0002'`);
        expectScrubbed(after.rows[0]!.signals);
      } finally {
        await client.end();
      }
    } finally {
      await fresh.drop();
    }
  });
});
