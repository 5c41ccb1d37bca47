/**
 * Which browser notifies (issue 21), over HTTP against a real server, on both stores: the account-level
 * choice every paired browser reads, and the claim that lets exactly one browser show a notification
 * under "whichever is open" — also when the claims race, on PostgreSQL across two server instances.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from '../../backend/store/sqlite-driver.ts';
import { migrateSqlite, openSqliteStore } from '../../backend/store/sqlite.ts';
import { migratePostgres, openPostgresStore } from '../../backend/store/postgres.ts';
import { deriveKeys, newSecret, wrapKeyring } from '../../lib/pairing-protocol';
import { generateAccountKey, keyring } from '../../lib/seal';
import { json, newAccount, startTestServer, trackerId, type Account, type Running } from './helpers.ts';
import { createTestDatabase, type TestDatabase } from './pg.ts';

type Browser = Account & { device: string };

async function call(url: string, method: string, path: string, who: { auth: Record<string, string> }, body?: unknown): Promise<Response> {
  return fetch(`${url}${path}`, {
    method,
    headers: { ...who.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** An account with `extra` more browsers joined to it by pairing (cheap derivation: the server never sees it). */
async function account(url: string, extra: number): Promise<Browser[]> {
  const a = await newAccount(url);
  const me = await json<{ you: string }>(await call(url, 'GET', '/v1/account/notify', a));
  const browsers: Browser[] = [{ ...a, device: me.you }];
  const ring = keyring([await generateAccountKey(1)]);
  for (let i = 0; i < extra; i++) {
    const keys = await deriveKeys(newSecret(), 1000);
    const made = await json<{ pairing: string }>(await call(url, 'POST', '/v1/pairings', a, await wrapKeyring(ring, keys)));
    const res = await fetch(`${url}/v1/pairings/${made.pairing}/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ proof: keys.proof, name: `Browser ${i + 2}` }),
    });
    expect(res.status).toBe(200);
    const joined = await json<{ account: string; token: string; pixelBase: string; device: string }>(res);
    browsers.push({ ...joined, auth: { authorization: `Bearer ${joined.token}` } });
  }
  return browsers;
}

const claim = (url: string, who: Browser, key: string) => call(url, 'POST', `/v1/notifications/${encodeURIComponent(key)}/claim`, who);
const hitId = () => `${Date.now().toString(36).padStart(9, '0')}${Math.random().toString(36).slice(2, 10)}`;

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`which browser notifies: ${kind}`, () => {
    let server: Running;
    /** PostgreSQL: a second instance on the same database, so racing claims meet in the database, not in one process. */
    let second: Running | null = null;
    let pgdb: TestDatabase | null = null;
    beforeAll(async () => {
      if (kind === 'postgres') pgdb = await createTestDatabase('notify');
      server = await startTestServer(pgdb ? { db: pgdb.url } : {});
      if (pgdb) second = await startTestServer({ db: pgdb.url });
    });
    afterAll(async () => {
      await second?.stop();
      await server?.stop();
      await pgdb?.drop();
    });

    it('the choice is the account\'s: every browser by default, set on one browser, read on the other', async () => {
      const [a, b] = await account(server.url, 1);
      expect(await json(await call(server.url, 'GET', '/v1/account/notify', b!))).toEqual({ mode: 'every', device: null, you: b!.device });

      const set = await call(server.url, 'PUT', '/v1/account/notify', a!, { mode: 'one', device: b!.device });
      expect(set.status).toBe(200);
      expect(await json(set)).toEqual({ mode: 'one', device: b!.device, you: a!.device });
      expect(await json(await call(server.url, 'GET', '/v1/account/notify', b!))).toEqual({ mode: 'one', device: b!.device, you: b!.device });
      expect(await json(await call(server.url, 'GET', '/v1/account/notify', a!))).toEqual({ mode: 'one', device: b!.device, you: a!.device });

      // "once" has no chosen browser, whatever is sent with it.
      expect(await json(await call(server.url, 'PUT', '/v1/account/notify', b!, { mode: 'once', device: a!.device }))).toEqual({ mode: 'once', device: null, you: b!.device });
      expect(await json(await call(server.url, 'GET', '/v1/account/notify', a!))).toMatchObject({ mode: 'once', device: null });

      // Another account's choice is its own.
      const [other] = await account(server.url, 0);
      expect(await json(await call(server.url, 'GET', '/v1/account/notify', other!))).toMatchObject({ mode: 'every', device: null });
    });

    it('refuses a choice it cannot meet: no browser, another account\'s browser, a bad mode; and falls back to every browser when the chosen one is revoked', async () => {
      const [a, b] = await account(server.url, 1);
      const [stranger] = await account(server.url, 0);
      expect((await call(server.url, 'PUT', '/v1/account/notify', a!, { mode: 'one' })).status).toBe(400);
      const foreign = await call(server.url, 'PUT', '/v1/account/notify', a!, { mode: 'one', device: stranger!.device });
      expect(foreign.status).toBe(400);
      expect((await json<{ error: string }>(foreign)).error).toBe('unknown_device');
      expect((await call(server.url, 'PUT', '/v1/account/notify', a!, { mode: 'all' })).status).toBe(400);
      expect((await call(server.url, 'PUT', '/v1/account/notify', a!, { mode: 'one', device: 'not-a-device' })).status).toBe(400);
      expect(await json(await call(server.url, 'GET', '/v1/account/notify', a!))).toMatchObject({ mode: 'every', device: null });
      expect((await call(server.url, 'GET', '/v1/account/notify', { auth: {} })).status).toBe(401);

      expect((await call(server.url, 'PUT', '/v1/account/notify', a!, { mode: 'one', device: b!.device })).status).toBe(200);
      expect((await call(server.url, 'DELETE', `/v1/devices/${b!.device}`, a!)).status).toBe(204);
      // Nobody could meet "only B" any more: every browser notifies again.
      expect(await json(await call(server.url, 'GET', '/v1/account/notify', a!))).toMatchObject({ mode: 'every', device: null });
    });

    it('a claim: 200 to the first browser (and to it again), 409 naming the holder to the others; keys are per account', async () => {
      const [a, b] = await account(server.url, 1);
      const key = hitId();
      const first = await claim(server.url, b!, key);
      expect(first.status).toBe(200);
      expect(await json(first)).toMatchObject({ key, device: b!.device });
      const late = await claim(server.url, a!, key);
      expect(late.status).toBe(409);
      expect(await json(late)).toMatchObject({ error: 'claimed', key, device: b!.device });
      // A retried request of the holder (its answer was lost) is still its own.
      expect((await claim(server.url, b!, key)).status).toBe(200);
      // A reminder's key: tracker id and due time; another due time (snoozed) is another claim.
      const tracker = trackerId();
      expect((await claim(server.url, a!, `${tracker}@1765000000000`)).status).toBe(200);
      expect((await claim(server.url, b!, `${tracker}@1765000000000`)).status).toBe(409);
      expect((await claim(server.url, b!, `${tracker}@1765086400000`)).status).toBe(200);
      // The same key on another account is that account's own.
      const [other] = await account(server.url, 0);
      expect((await claim(server.url, other!, key)).status).toBe(200);
      // Keys that are neither a hit id nor tracker@time are refused.
      expect((await claim(server.url, a!, 'short')).status).toBe(400);
      expect((await claim(server.url, a!, `${tracker}@soon`)).status).toBe(400);
      expect((await claim(server.url, a!, `${tracker}@1765000000000@1`)).status).toBe(400);
      expect((await call(server.url, 'POST', `/v1/notifications/${key}/claim`, { auth: {} })).status).toBe(401);
    });

    it('racing claims: of three browsers claiming 20 keys at once, 8 times each, exactly one wins each key', async () => {
      const browsers = await account(server.url, 2);
      const keys = Array.from({ length: 20 }, hitId);
      // On PostgreSQL half the claims go to the second instance.
      const urls = [server.url, second?.url ?? server.url];
      const attempts = keys.flatMap((key) =>
        browsers.flatMap((who, i) => Array.from({ length: 8 }, (_, n) => ({ key, who, url: urls[(i + n) % 2]! }))),
      );
      const answers = await Promise.all(
        attempts.map(async ({ key, who, url }) => {
          const res = await claim(url, who, key);
          return { key, who: who.device, status: res.status, holder: (await json<{ device: string }>(res)).device };
        }),
      );
      for (const key of keys) {
        const mine = answers.filter((x) => x.key === key);
        expect(new Set(mine.map((x) => x.status))).toEqual(new Set([200, 409]));
        const winners = new Set(mine.filter((x) => x.status === 200).map((x) => x.who));
        expect(winners.size).toBe(1);
        // Everyone agrees on who holds it.
        expect(new Set(mine.map((x) => x.holder))).toEqual(winners);
      }
    });
  });
}

describe('the migration adding the notify choice', () => {
  it('leaves an existing SQLite account notifying on every browser', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openping-notify-'));
    try {
      const current = new Database(join(dir, 'current.db'));
      migrateSqlite(current);
      const latest = current.pragma('user_version', { simple: true }) as number;
      current.close();
      const path = join(dir, 'openping.db');
      const old = new Database(path);
      migrateSqlite(old, latest - 1);
      old.prepare(`INSERT INTO accounts (id, token_hash, created_at) VALUES ('account-notify-001', ?, 1)`).run('a'.repeat(64));
      old.close();
      const store = await openSqliteStore(path);
      try {
        expect(await store.notifyPolicy('account-notify-001')).toEqual({ mode: 'every', device: null });
        expect(await store.claimNotification('account-notify-001', 'hit-0000001', 'device-1', 5)).toEqual({ won: true, device: 'device-1', claimedAt: 5 });
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves an existing PostgreSQL account notifying on every browser', async () => {
    const fresh = await createTestDatabase('notifymig');
    try {
      const pool = new pg.Pool({ connectionString: fresh.url, max: 1 });
      let latest: number;
      try {
        await migratePostgres(pool);
        latest = Number((await pool.query<{ v: number }>('SELECT max(version) AS v FROM openping_schema')).rows[0]!.v);
      } finally {
        await pool.end();
      }
      const older = await createTestDatabase('notifyold');
      try {
        const oldPool = new pg.Pool({ connectionString: older.url, max: 1 });
        try {
          await migratePostgres(oldPool, latest - 1);
          await oldPool.query(`INSERT INTO accounts (id, token_hash, created_at) VALUES ('account-notify-002', $1, 1)`, ['b'.repeat(64)]);
        } finally {
          await oldPool.end();
        }
        const store = await openPostgresStore(older.url);
        try {
          expect(await store.notifyPolicy('account-notify-002')).toEqual({ mode: 'every', device: null });
          expect(await store.claimNotification('account-notify-002', 'hit-0000002', 'device-2', 7)).toEqual({ won: true, device: 'device-2', claimedAt: 7 });
        } finally {
          await store.close();
        }
      } finally {
        await older.drop();
      }
    } finally {
      await fresh.drop();
    }
  });
});
