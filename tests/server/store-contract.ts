/**
 * The guarantees of backend/store/types.ts, for any Store. Each implementation
 * runs it: tests/server/store-sqlite.test.ts, and the PostgreSQL store's test.
 *
 *   storeContract('sqlite', (options) => openSqliteStore(file(), options), cleanup)
 *
 * `open` must reach the same database each time it is called within one test
 * (one test closes and reopens); `cleanup` runs after each test, after every
 * store it opened is closed, and may wipe the database. Tests use fresh random
 * account ids, so a database shared between tests also works.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Classification, HitSignals } from '../../backend/classify/types.ts';
import { InvalidCursorError, type NewHit, type Store, type StoreOptions } from '../../backend/store/types.ts';

const id = (bytes = 16) => randomBytes(bytes).toString('base64url');
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);

function signals(at: number, extra: Partial<HitSignals> = {}): HitSignals {
  return {
    at,
    method: 'GET',
    userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131 Safari/537.36',
    headers: { accept: 'image/*', acceptLanguage: 'en-GB' },
    network: { prefix: '203.0.113.0/24', family: 4, asn: 64500, org: 'Example Net' },
    ...extra,
  };
}

const OPEN: Classification = { kind: 'open', via: null, reason: 'Opened.', client: { name: 'Chrome', os: 'Windows', device: null } };
const SELF: Classification = { kind: 'self', via: null, reason: 'Your own view — not counted.', client: null };

function newHit(account: string, tracker: string, at: number, classification: Classification = OPEN): NewHit {
  return { id: id(12), account, tracker, signals: signals(at), classification, geo: { country: 'GB', region: 'England', city: 'London' } };
}

export function storeContract(
  name: string,
  open: (options?: StoreOptions) => Promise<Store>,
  cleanup?: () => Promise<void> | void,
): void {
  describe(`Store contract: ${name}`, () => {
    const opened: Store[] = [];
    const openStore = async (options?: StoreOptions) => {
      const store = await open(options);
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close().catch(() => undefined);
      await cleanup?.();
    });

    async function account(store: Store): Promise<string> {
      const account = id();
      await store.createAccount({ id: account, tokenHash: id(32), createdAt: T0 });
      return account;
    }
    async function sentTracker(store: Store, account: string, sentAt = T0): Promise<string> {
      const tracker = id();
      await store.putTracker({ account, tracker, state: 'sent', sentAt, now: sentAt });
      return tracker;
    }
    async function readAll(store: Store, account: string, limit = 1000) {
      const seen = [];
      let cursor: string | null = null;
      for (;;) {
        const page = await store.events(account, cursor, limit);
        if (page.events.length === 0) return { seen, cursor: page.cursor };
        seen.push(...page.events);
        cursor = page.cursor;
      }
    }

    it('finds an account by token hash only, and erases it with all its data', async () => {
      const store = await openStore();
      const hash = id(32);
      const acc = id();
      await store.createAccount({ id: acc, tokenHash: hash, createdAt: T0 });
      expect(await store.accountByTokenHash(hash)).toBe(acc);
      expect(await store.accountByTokenHash(id(32))).toBeNull();
      const tracker = await sentTracker(store, acc);
      expect(await store.recordHits([newHit(acc, tracker, T0 + 1000)])).toEqual(['stored']);
      expect(await store.deleteAccount(acc)).toBe(true);
      expect(await store.accountByTokenHash(hash)).toBeNull();
      expect(await store.getTracker(acc, tracker)).toBeNull();
      expect(await store.trackerHits(acc, tracker)).toEqual([]);
      expect(await store.deleteAccount(acc)).toBe(false);
      // The tracker id is free again once its owner is gone.
      const other = await account(store);
      expect(await store.putTracker({ account: other, tracker, state: 'armed', sentAt: null, now: T0 })).not.toBeNull();
    });

    it('gives a tracker to the first account that registers it; others see nothing', async () => {
      const store = await openStore();
      const a = await account(store);
      const b = await account(store);
      const tracker = id();
      const armed = await store.putTracker({ account: a, tracker, state: 'armed', sentAt: null, now: T0 });
      expect(armed).toMatchObject({ account: a, tracker, state: 'armed', sentAt: null, dropped: 0, selfViews: [] });
      expect(await store.putTracker({ account: b, tracker, state: 'sent', sentAt: T0, now: T0 })).toBeNull();
      expect(await store.getTracker(b, tracker)).toBeNull();
      expect(await store.addSelfView(b, tracker, T0)).toBe(false);
      expect(await store.trackerContext(b, tracker, 5)).toBeNull();
      expect(await store.deleteTracker(b, tracker)).toBe(false);
      expect(await store.getTracker(a, tracker)).toMatchObject({ state: 'armed' });
    });

    it('keeps the first sentAt and keeps `sent` sticky (idempotent PUT)', async () => {
      const store = await openStore();
      const a = await account(store);
      const tracker = id();
      await store.putTracker({ account: a, tracker, state: 'armed', sentAt: null, now: T0 });
      const sent = await store.putTracker({ account: a, tracker, state: 'sent', sentAt: T0 + 5000, now: T0 + 5000 });
      expect(sent).toMatchObject({ state: 'sent', sentAt: T0 + 5000 });
      const again = await store.putTracker({ account: a, tracker, state: 'sent', sentAt: T0 + 9000, now: T0 + 9000 });
      expect(again).toMatchObject({ state: 'sent', sentAt: T0 + 5000 });
      const rearmed = await store.putTracker({ account: a, tracker, state: 'armed', sentAt: null, now: T0 + 9500 });
      expect(rearmed).toMatchObject({ state: 'sent', sentAt: T0 + 5000 });
    });

    it('records self-views and builds the tracker context with recent prior hits, newest last', async () => {
      const store = await openStore();
      const a = await account(store);
      const tracker = await sentTracker(store, a);
      expect(await store.addSelfView(a, tracker, T0 + 3000)).toBe(true);
      expect(await store.addSelfView(a, tracker, T0 + 1000)).toBe(true);
      for (let i = 1; i <= 4; i++) await store.recordHits([newHit(a, tracker, T0 + i * 10_000)]);
      const context = await store.trackerContext(a, tracker, 3);
      expect(context).toMatchObject({ state: 'sent', sentAt: T0, selfViews: [T0 + 1000, T0 + 3000] });
      expect(context?.prior.map((p) => p.at)).toEqual([T0 + 20_000, T0 + 30_000, T0 + 40_000]);
      expect(context?.prior[0]).toMatchObject({ prefix: '203.0.113.0/24', kind: 'open' });
      expect((await store.getTracker(a, tracker))?.selfViews).toEqual([T0 + 1000, T0 + 3000]);
    });

    it('commits a batch in order with a result per hit: stored, unknown (missing or foreign tracker)', async () => {
      const store = await openStore();
      const a = await account(store);
      const b = await account(store);
      const tracker = await sentTracker(store, a);
      const batch = [newHit(a, tracker, T0 + 1), newHit(b, tracker, T0 + 2), newHit(a, id(), T0 + 3), newHit(a, tracker, T0 + 4)];
      expect(await store.recordHits(batch)).toEqual(['stored', 'unknown', 'unknown', 'stored']);
      const stored = await store.trackerHits(a, tracker);
      expect(stored.map((s) => s.hit.id)).toEqual([batch[0]!.id, batch[3]!.id]);
      expect(stored[0]).toEqual({
        account: a,
        signals: batch[0]!.signals,
        hit: {
          id: batch[0]!.id,
          tracker,
          at: T0 + 1,
          kind: 'open',
          via: null,
          reason: 'Opened.',
          network: { prefix: '203.0.113.0/24', asn: 64500, org: 'Example Net' },
          geo: { country: 'GB', region: 'England', city: 'London' },
          client: { name: 'Chrome', os: 'Windows', device: null },
        },
      });
      expect((await readAll(store, b)).seen).toEqual([]);
    });

    it('stores the flood cap per tracker per hour and counts the rest as dropped', async () => {
      const store = await openStore({ floodCapPerHour: 5 });
      const a = await account(store);
      const tracker = await sentTracker(store, a);
      const other = await sentTracker(store, a);
      const burst = Array.from({ length: 8 }, (_, i) => newHit(a, tracker, T0 + HOUR + i));
      const outcomes = await store.recordHits([...burst, newHit(a, other, T0 + HOUR)]);
      expect(outcomes).toEqual([...Array(5).fill('stored'), ...Array(3).fill('dropped'), 'stored']);
      expect((await store.getTracker(a, tracker))?.dropped).toBe(3);
      expect(await store.recordHits([newHit(a, tracker, T0 + HOUR + 100)])).toEqual(['dropped']);
      // A new clock hour starts a new allowance.
      expect(await store.recordHits([newHit(a, tracker, T0 + 2 * HOUR)])).toEqual(['stored']);
      expect((await store.getTracker(a, tracker))?.dropped).toBe(4);
      expect((await store.trackerHits(a, tracker)).length).toBe(6);
    });

    it('stores at least 1,000 hits per tracker per hour by default', async () => {
      const store = await openStore();
      const a = await account(store);
      const tracker = await sentTracker(store, a);
      const outcomes = await store.recordHits(Array.from({ length: 1000 }, (_, i) => newHit(a, tracker, T0 + i)));
      expect(outcomes.every((o) => o === 'stored')).toBe(true);
    });

    it('pages the feed in recording order, each hit exactly once, cursor unchanged when nothing is new', async () => {
      const store = await openStore();
      const a = await account(store);
      const b = await account(store);
      const ta = await sentTracker(store, a);
      const tb = await sentTracker(store, b);
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        // Recording order, not `at` order: later batches carry earlier times.
        const hit = newHit(a, ta, T0 + 100_000 - i);
        ids.push(hit.id);
        await store.recordHits([hit, newHit(b, tb, T0 + i)]);
      }
      const first = await store.events(a, null, 3);
      expect(first.events.map((e) => e.id)).toEqual(ids.slice(0, 3));
      const second = await store.events(a, first.cursor, 3);
      const third = await store.events(a, second.cursor, 3);
      expect([...second.events, ...third.events].map((e) => e.id)).toEqual(ids.slice(3));
      const idle = await store.events(a, third.cursor, 3);
      expect(idle).toEqual({ events: [], cursor: third.cursor });
      expect(first.events[0]).toMatchObject({ tracker: ta, kind: 'open', network: { prefix: '203.0.113.0/24' } });
    });

    it('rejects a cursor it did not make', async () => {
      const store = await openStore();
      const a = await account(store);
      for (const bad of ['', 'nonsense', '-1', '1e99', '{}', 'ZZZZ', '%00']) {
        await expect(store.events(a, bad, 10), bad).rejects.toBeInstanceOf(InvalidCursorError);
      }
    });

    it('rejects a cursor from a position this database never reached (a restored or replaced database)', async () => {
      const before = await openStore();
      const a = await account(before);
      const tracker = await sentTracker(before, a);
      await before.recordHits([newHit(a, tracker, T0 + 1), newHit(a, tracker, T0 + 2)]);
      const { cursor } = await readAll(before, a);
      for (const store of opened.splice(0)) await store.close();
      await cleanup?.();
      const after = await openStore();
      const b = await account(after);
      await expect(after.events(b, cursor, 10)).rejects.toBeInstanceOf(InvalidCursorError);
    });

    it('never repeats or skips a hit while pages are read during concurrent writes', async () => {
      const store = await openStore();
      const a = await account(store);
      const tracker = await sentTracker(store, a);
      const written: string[] = [];
      const writer = (async () => {
        for (let i = 0; i < 60; i++) {
          const batch = Array.from({ length: 1 + (i % 4) }, (_, k) => newHit(a, tracker, T0 + i * 10 + k));
          written.push(...batch.map((h) => h.id));
          await store.recordHits(batch);
        }
      })();
      const seen: string[] = [];
      let cursor: string | null = null;
      let done = false;
      void writer.then(() => (done = true));
      while (!done) {
        const page = await store.events(a, cursor, 7);
        seen.push(...page.events.map((e) => e.id));
        cursor = page.cursor;
        await new Promise((r) => setImmediate(r));
      }
      await writer;
      const rest = await readAll(store, a, 7);
      // readAll starts afresh; continue from our own cursor instead.
      for (;;) {
        const page = await store.events(a, cursor, 7);
        if (page.events.length === 0) break;
        seen.push(...page.events.map((e) => e.id));
        cursor = page.cursor;
      }
      expect(seen).toEqual(written);
      expect(rest.seen.map((e) => e.id)).toEqual(written);
    });

    it('shows a relabelled hit once more with the same id, and once to a fresh reader', async () => {
      const store = await openStore();
      const a = await account(store);
      const tracker = await sentTracker(store, a);
      const hits = [newHit(a, tracker, T0 + 1), newHit(a, tracker, T0 + 2), newHit(a, tracker, T0 + 3)];
      await store.recordHits(hits);
      const before = await readAll(store, a);
      const notified: string[][] = [];
      const unsubscribe = store.subscribe((accounts) => notified.push([...accounts]));
      expect(await store.relabel(a, [{ id: hits[0]!.id, classification: SELF }, { id: id(12), classification: SELF }])).toBe(1);
      unsubscribe();
      expect(notified.flat()).toContain(a);
      const after = await store.events(a, before.cursor, 10);
      expect(after.events).toHaveLength(1);
      expect(after.events[0]).toMatchObject({ id: hits[0]!.id, kind: 'self', reason: SELF.reason, client: null });
      const fresh = await readAll(store, a);
      expect(fresh.seen.map((e) => e.id)).toEqual([hits[1]!.id, hits[2]!.id, hits[0]!.id]);
      // Another account cannot relabel these hits.
      const b = await account(store);
      expect(await store.relabel(b, [{ id: hits[1]!.id, classification: SELF }])).toBe(0);
      expect((await store.trackerHits(a, tracker))[1]?.hit.kind).toBe('open');
    });

    it('tells subscribers which accounts got new feed entries, after the commit', async () => {
      const store = await openStore();
      const a = await account(store);
      const b = await account(store);
      const tracker = await sentTracker(store, a);
      const calls: string[][] = [];
      let visible = -1;
      const unsubscribe = store.subscribe((accounts) => {
        calls.push([...accounts]);
        void store.events(a, null, 10).then((p) => (visible = p.events.length));
      });
      await store.recordHits([newHit(a, tracker, T0 + 1), newHit(b, id(), T0 + 2)]);
      await new Promise((r) => setTimeout(r, 300));
      expect(calls.flat()).toEqual([a]);
      expect(visible).toBe(1);
      unsubscribe();
      await store.recordHits([newHit(a, tracker, T0 + 3)]);
      await new Promise((r) => setTimeout(r, 300));
      expect(calls).toHaveLength(1);
    });

    it('deletes a tracker with its hits, which leave the feed', async () => {
      const store = await openStore();
      const a = await account(store);
      const keep = await sentTracker(store, a);
      const gone = await sentTracker(store, a);
      const kept = newHit(a, keep, T0 + 1);
      await store.recordHits([kept, newHit(a, gone, T0 + 2)]);
      expect(await store.deleteTracker(a, gone)).toBe(true);
      expect(await store.getTracker(a, gone)).toBeNull();
      expect((await readAll(store, a)).seen.map((e) => e.id)).toEqual([kept.id]);
      expect(await store.recordHits([newHit(a, gone, T0 + 3)])).toEqual(['unknown']);
    });

    it('lists every tracker once across pages', async () => {
      const store = await openStore();
      const made = new Set<string>();
      for (let i = 0; i < 3; i++) {
        const a = await account(store);
        for (let k = 0; k < 4; k++) made.add(await sentTracker(store, a));
      }
      const listed: string[] = [];
      let after: string | null = null;
      do {
        const page = await store.listTrackers(after, 5);
        expect(page.items.length).toBeLessThanOrEqual(5);
        listed.push(...page.items.map((t) => t.tracker));
        after = page.next;
      } while (after !== null);
      expect(listed.filter((t) => made.has(t)).sort()).toEqual([...made].sort());
      expect(new Set(listed).size).toBe(listed.length);
    });

    it('deletes hits older than the retention cutoff only', async () => {
      const store = await openStore();
      const a = await account(store);
      const tracker = await sentTracker(store, a);
      const old = newHit(a, tracker, T0 + 10);
      const recent = newHit(a, tracker, T0 + 10 * HOUR);
      await store.recordHits([old, recent]);
      expect(await store.deleteHitsBefore(T0 + HOUR)).toBe(1);
      expect((await store.trackerHits(a, tracker)).map((s) => s.hit.id)).toEqual([recent.id]);
      expect((await readAll(store, a)).seen.map((e) => e.id)).toEqual([recent.id]);
    });

    it('counts rate-limit hits per key and fixed window', async () => {
      const store = await openStore();
      const key = `accounts:${id()}`;
      expect(await store.countRate(key, HOUR, T0)).toBe(1);
      expect(await store.countRate(key, HOUR, T0 + 1)).toBe(2);
      expect(await store.countRate(`${key}x`, HOUR, T0)).toBe(1);
      expect(await store.countRate(key, HOUR, T0 + HOUR)).toBe(1);
      const parallel = await Promise.all(Array.from({ length: 10 }, () => store.countRate(key, HOUR, T0 + HOUR)));
      expect([...parallel].sort((x, y) => x - y)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    });

    it('keeps everything across close and reopen, and refuses work once closed', async () => {
      const store = await openStore();
      const a = await account(store);
      const tracker = await sentTracker(store, a);
      const hit = newHit(a, tracker, T0 + 1);
      await store.recordHits([hit]);
      await store.ping();
      await store.close();
      await expect(store.ping()).rejects.toThrow();
      const again = await openStore();
      expect((await again.trackerHits(a, tracker)).map((s) => s.hit.id)).toEqual([hit.id]);
    });
  });
}
