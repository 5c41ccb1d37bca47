/**
 * The PostgreSQL store against a real PostgreSQL: the shared Store contract, then
 * what only a shared database brings — several stores (as several server
 * instances) migrating at once, writing the same account, waking each other.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../backend/store/postgres.ts';
import { LimitError, type NewHit, type Store, type StoreOptions, type StoredLabel } from '../../backend/store/types.ts';
import { storeContract } from './store-contract.ts';
import { createTestDatabase, type TestDatabase } from './pg.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('store');
});
afterAll(async () => {
  await db?.drop();
});

// The contract counts rows (retention), so each of its tests starts from empty tables.
storeContract(
  'postgres',
  (options?: StoreOptions) => openPostgresStore(db.url, options),
  async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('TRUNCATE accounts, trackers, self_views, flood_windows, account_windows, account_networks, hits, rate_counters, devices, wrapped_keys, pairings, blobs, notify_claims');
    } finally {
      await client.end();
    }
  },
);

const id = (bytes = 16) => randomBytes(bytes).toString('base64url');
/** Noon (UTC) two days ago, as in ./store-contract.ts: no fixed date that ages. */
const T0 = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 2 * 86_400_000 + 12 * 3_600_000;
const OPEN: StoredLabel = { kind: 'open', via: null, reason: 'Opened.', client: null };

function newHit(account: string, tracker: string, at: number): NewHit {
  return {
    id: id(12),
    account,
    tracker,
    signals: {
      at,
      method: 'GET',
      userAgent: 'Mozilla/5.0',
      headers: {},
      network: { prefix: '198.51.100.0/24', family: 4, asn: null, org: null },
    },
    classification: OPEN,
    geo: null,
  };
}

describe('PostgreSQL store shared by several instances', () => {
  const stores: Store[] = [];
  const open = async (url = db.url) => {
    const store = await openPostgresStore(url);
    stores.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close().catch(() => undefined);
  });

  async function setup(store: Store) {
    const account = id();
    await store.createAccount({ id: account, tokenHash: id(32), createdAt: T0 });
    const trackers = [id(), id()];
    for (const tracker of trackers) await store.putTracker({ account, tracker, state: 'sent', sentAt: T0, now: T0 });
    return { account, trackers };
  }

  it('migrates once when several instances start at the same time on an empty database', async () => {
    const fresh = await createTestDatabase('migrate');
    try {
      const started = await Promise.all(Array.from({ length: 5 }, () => openPostgresStore(fresh.url)));
      const client = new pg.Client({ connectionString: fresh.url });
      await client.connect();
      const { rows } = await client.query<{ version: number }>('SELECT version FROM openping_schema ORDER BY version');
      await client.end();
      expect(rows.map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      await Promise.all(started.map((s) => s.ping()));
      await Promise.all(started.map((s) => s.close()));
    } finally {
      await fresh.drop();
    }
  });

  it('never lets a later writer overtake an earlier one that has not committed yet (no skipped late commit)', async () => {
    const a = await open();
    const b = await open();
    const { account, trackers } = await setup(a);
    const [slow, fast] = trackers as [string, string];
    // An outside session holds the first tracker's row, so instance A's batch stalls
    // inside its transaction, after it has started writing this account's feed.
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT 1 FROM trackers WHERE id = $1 FOR UPDATE', [slow]);
    const late = newHit(account, slow, T0 + 1);
    const early = newHit(account, fast, T0 + 2);
    const lateWrite = a.recordHits([late]);
    await new Promise((r) => setTimeout(r, 100));
    const earlyWrite = b.recordHits([early]);
    await new Promise((r) => setTimeout(r, 200));
    // A reader on a third instance pages while A's batch is still uncommitted.
    const reader = await open();
    const during = await reader.events(account, null, 100);
    await blocker.query('COMMIT');
    await blocker.end();
    expect(await lateWrite).toEqual(['stored']);
    expect(await earlyWrite).toEqual(['stored']);
    const seen = during.events.map((e) => e.id);
    let cursor = during.cursor;
    for (;;) {
      const page = await reader.events(account, cursor, 100);
      if (page.events.length === 0) break;
      seen.push(...page.events.map((e) => e.id));
      cursor = page.cursor;
    }
    expect(seen.sort()).toEqual([late.id, early.id].sort());
  });

  it('delivers every hit exactly once to a reader alternating between instances while both write', async () => {
    const writers = [await open(), await open()];
    const { account, trackers } = await setup(writers[0]!);
    const written: string[] = [];
    const write = async (store: Store, tracker: string, n: number) => {
      for (let i = 0; i < n; i++) {
        const batch = Array.from({ length: 1 + (i % 3) }, (_, k) => newHit(account, tracker, T0 + i * 10 + k));
        written.push(...batch.map((h) => h.id));
        expect(await store.recordHits(batch)).toEqual(batch.map(() => 'stored'));
      }
    };
    let done = false;
    const writing = Promise.all([write(writers[0]!, trackers[0]!, 80), write(writers[1]!, trackers[1]!, 80)]).then(() => (done = true));
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let turn = 0; !done || turn % 2 === 1; turn++) {
      const page = await writers[turn % 2]!.events(account, cursor, 5);
      seen.push(...page.events.map((e) => e.id));
      cursor = page.cursor;
    }
    await writing;
    for (let turn = 0; ; turn++) {
      const page = await writers[turn % 2]!.events(account, cursor, 50);
      if (page.events.length === 0) break;
      seen.push(...page.events.map((e) => e.id));
      cursor = page.cursor;
    }
    expect(seen.length).toBe(written.length);
    expect(new Set(seen)).toEqual(new Set(written));
  });

  it('wakes a subscriber on another instance soon after a commit, once', async () => {
    const a = await open();
    const b = await open();
    const { account, trackers } = await setup(a);
    const woken: Array<{ accounts: string[]; at: number }> = [];
    const unsubscribe = b.subscribe((accounts) => woken.push({ accounts: [...accounts], at: performance.now() }));
    const start = performance.now();
    await a.recordHits([newHit(account, trackers[0]!, T0)]);
    const committed = performance.now();
    await expect.poll(() => woken.length).toBeGreaterThan(0);
    // Once: a second commit's wake-up comes after any repeat of the first (one LISTEN connection,
    // notifications in commit order), so waiting for it replaces waiting for a clock.
    const marker = await setup(a);
    await a.recordHits([newHit(marker.account, marker.trackers[0]!, T0)]);
    await expect.poll(() => woken.some((w) => w.accounts.includes(marker.account))).toBe(true);
    unsubscribe();
    expect(woken.map((w) => w.accounts).filter((accounts) => !accounts.includes(marker.account))).toEqual([[account]]);
    // 100 ms on an idle machine; on a loaded one, a few times what the commit itself took.
    expect(woken[0]!.at - committed).toBeLessThan(Math.max(100, 5 * (committed - start)));
    expect(woken[0]!.at).toBeGreaterThan(start);
  });

  it('shares flood caps and rate-limit counters between instances', async () => {
    const a = await openPostgresStore(db.url, { floodCapPerHour: 10 });
    const b = await openPostgresStore(db.url, { floodCapPerHour: 10 });
    stores.push(a, b);
    const { account, trackers } = await setup(a);
    const burst = (store: Store) =>
      Promise.all(Array.from({ length: 4 }, () => store.recordHits(Array.from({ length: 3 }, () => newHit(account, trackers[0]!, T0)))));
    const outcomes = (await Promise.all([burst(a), burst(b)])).flat(2);
    expect(outcomes.filter((o) => o === 'stored')).toHaveLength(10);
    expect(outcomes.filter((o) => o === 'dropped')).toHaveLength(14);
    expect((await b.getTracker(account, trackers[0]!))?.dropped).toBe(14);

    const key = `accounts:${id()}`;
    const counts = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).countRate(key, 60_000, T0)));
    expect(counts.sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('shares the account caps (hits an hour, new trackers a day, self-views a minute) between instances', async () => {
    const options = { floodCapPerHour: 10, accountHitsPerHour: 12, trackersPerDay: 4, selfViewsPerMinute: 3 };
    const a = await openPostgresStore(db.url, options);
    const b = await openPostgresStore(db.url, options);
    stores.push(a, b);
    // setup registers two trackers; two more fill the account's day, on either instance.
    const { account, trackers } = await setup(a);
    const made = await Promise.allSettled([id(), id(), id(), id()].map((t, i) =>
      (i % 2 ? a : b).putTracker({ account, tracker: t, state: 'sent', sentAt: T0, now: T0 }),
    ));
    expect(made.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    expect(made.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason)).toEqual([expect.any(LimitError), expect.any(LimitError)]);
    const burst = (store: Store, tracker: string) =>
      Promise.all(Array.from({ length: 4 }, () => store.recordHits(Array.from({ length: 2 }, () => newHit(account, tracker, T0)))));
    const outcomes = (await Promise.all([burst(a, trackers[0]!), burst(b, trackers[1]!)])).flat(2);
    expect(outcomes.filter((o) => o === 'stored')).toHaveLength(12);
    expect(outcomes.filter((o) => o === 'dropped')).toHaveLength(4);
    const views = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).addSelfView(account, trackers[0]!, T0 + i * 600_000, T0)));
    expect(views.filter((v) => v === 'added')).toHaveLength(3);
    expect(views.filter((v) => v === 'limited')).toHaveLength(3);
  });

  it('runs retention from several instances at once without deleting anything twice or failing', async () => {
    const a = await open();
    const b = await open();
    const { account, trackers } = await setup(a);
    const old = Array.from({ length: 300 }, (_, i) => newHit(account, trackers[i % 2]!, T0 - 10 * 86_400_000 + i));
    const recent = Array.from({ length: 20 }, (_, i) => newHit(account, trackers[i % 2]!, T0 + i));
    expect(await a.recordHits([...old, ...recent])).toEqual([...old, ...recent].map(() => 'stored'));
    const deleted = await Promise.all([a.deleteHitsBefore(T0 - 86_400_000), b.deleteHitsBefore(T0 - 86_400_000)]);
    expect(deleted[0] + deleted[1]).toBe(old.length);
    const left = [...(await b.trackerHits(account, trackers[0]!)), ...(await b.trackerHits(account, trackers[1]!))];
    expect(left.map((s) => s.hit.id).sort()).toEqual(recent.map((h) => h.id).sort());
  });

  it('wakes another instance for a hit recorded while its LISTEN connection was cut, once it reconnects', async () => {
    const a = await open();
    const b = await open();
    const { account, trackers } = await setup(a);
    const woken: string[][] = [];
    const unsubscribe = b.subscribe((accounts) => woken.push([...accounts]));
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    const { rowCount } = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN %'`,
    );
    await admin.end();
    expect(rowCount).toBeGreaterThan(0);
    // Recorded before B's listener can be back (it retries after 100 ms): its NOTIFY reaches nobody on B.
    await a.recordHits([newHit(account, trackers[0]!, Date.now())]);
    const deadline = Date.now() + 5_000;
    while (!woken.flat().includes(account) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    unsubscribe();
    expect(woken.flat()).toContain(account);

    // And live notifications flow again on the new connection.
    const again: string[][] = [];
    const off = b.subscribe((accounts) => again.push([...accounts]));
    await a.recordHits([newHit(account, trackers[1]!, Date.now())]);
    await new Promise((r) => setTimeout(r, 200));
    off();
    expect(again).toEqual([[account]]);
  });

  it('refuses to start on a schema newer than it knows, saying so', async () => {
    const fresh = await createTestDatabase('newer');
    try {
      await (await openPostgresStore(fresh.url)).close();
      const client = new pg.Client({ connectionString: fresh.url });
      await client.connect();
      await client.query('INSERT INTO openping_schema (version) VALUES (999)');
      await client.end();
      await expect(openPostgresStore(fresh.url)).rejects.toThrow(/schema is version 999.*upgrade the server/);
    } finally {
      await fresh.drop();
    }
  });

  it('says plainly when the database cannot be reached', async () => {
    await expect(openPostgresStore('postgresql://openping@127.0.0.1:1/none')).rejects.toThrow(/ECONNREFUSED|connect/);
  });
});
