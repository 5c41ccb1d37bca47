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
import { formatReason } from '../../contract/index.ts';
import type { HitSignals } from '../../backend/classify/types.ts';
import { InvalidCursorError, LimitError, type NewHit, type Store, type StoreOptions, type StoredLabel } from '../../backend/store/types.ts';

const id = (bytes = 16) => randomBytes(bytes).toString('base64url');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/**
 * Noon (UTC) two days ago: on whole hours and days as the windows and caps count them, and near
 * today, so no fixed date ages past a retention or sentAt bound as the calendar moves on.
 */
const T0 = Math.floor(Date.now() / DAY) * DAY - 2 * DAY + 12 * HOUR;

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

const OPEN: StoredLabel = { kind: 'open', via: null, reason: 'Opened.', client: { name: 'Chrome', os: 'Windows', device: null } };
const SELF: StoredLabel = { kind: 'self', via: null, reason: 'Your own view — not counted.', client: null };

function newHit(account: string, tracker: string, at: number, classification: StoredLabel = OPEN): NewHit {
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

    it('names the reason of every hit it returns by code, from the stored sentence; none for a sentence no code words', async () => {
      const store = await openStore();
      const a = await account(store);
      const tracker = await sentTracker(store, a);
      const gmail = { kind: 'open', via: 'gmail-proxy', client: null, reason: formatReason('gmail-open') } as const;
      const tool = { kind: 'bot', via: null, client: null, reason: formatReason('tool', { name: 'curl' }) } as const;
      const hits = [newHit(a, tracker, T0 + 1000, gmail), newHit(a, tracker, T0 + 2000, tool), newHit(a, tracker, T0 + 3000)];
      await store.recordHits(hits);
      const expected = [
        { reasonCode: 'gmail-open', reasonParams: {} },
        { reasonCode: 'tool', reasonParams: { name: 'curl' } },
        { reasonCode: null, reasonParams: {} }, // 'Opened.' is no template's wording
      ];
      const pick = (h: { reasonCode: unknown; reasonParams: unknown }) => ({ reasonCode: h.reasonCode, reasonParams: h.reasonParams });
      expect((await readAll(store, a)).seen.map(pick)).toEqual(expected);
      expect((await store.trackerHitsPage(a, tracker, null, 10)).hits.map(pick)).toEqual(expected);
      expect((await store.trackerHits(a, tracker)).map((s) => pick(s.hit))).toEqual(expected);
      // A relabel writes a sentence; its code follows.
      await store.relabel(a, [{ id: hits[2]!.id, classification: { ...SELF, reason: formatReason('self') } }]);
      expect((await store.trackerHits(a, tracker)).map((s) => pick(s.hit))[2]).toEqual({ reasonCode: 'self', reasonParams: {} });
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
      expect(await store.addSelfView(b, tracker, T0, T0)).toBeNull();
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

    it('autoSend: kept unless a PUT says otherwise; sendOnFetch sends only an armed autoSend tracker, first call wins (issue 20)', async () => {
      const store = await openStore();
      const a = await account(store);
      const b = await account(store);
      const tracker = id();
      expect(await store.putTracker({ account: a, tracker, state: 'armed', sentAt: null, now: T0, autoSend: true })).toMatchObject({
        state: 'armed',
        sentAt: null,
        sentBy: null,
        autoSend: true,
      });
      // A PUT that does not name autoSend keeps it.
      expect(await store.putTracker({ account: a, tracker, state: 'armed', sentAt: null, now: T0 + 1 })).toMatchObject({ autoSend: true });
      expect(await store.trackerContext(a, tracker, 0)).toMatchObject({ state: 'armed', autoSend: true, sentBy: null });
      expect(await store.sendOnFetch(b, tracker, T0 + 10)).toBeNull();
      // Racing fetches: the earliest is the send, whichever call the store takes first.
      expect(await store.sendOnFetch(a, tracker, T0 + 30)).toMatchObject({ state: 'sent', sentAt: T0 + 30, sentBy: 'fetch', autoSend: true });
      expect(await store.sendOnFetch(a, tracker, T0 + 20)).toMatchObject({ state: 'sent', sentAt: T0 + 20, sentBy: 'fetch' });
      expect(await store.sendOnFetch(a, tracker, T0 + 25)).toMatchObject({ sentAt: T0 + 20 });
      const sentAt = T0 + 20;
      // Sent stays sent, with the fetch's time, whatever comes after.
      expect(await store.putTracker({ account: a, tracker, state: 'sent', sentAt: T0 + 40, now: T0 + 40 })).toMatchObject({ sentAt, sentBy: 'fetch' });
      expect(await store.trackerContext(a, tracker, 0)).toMatchObject({ state: 'sent', sentAt, sentBy: 'fetch' });

      // Without autoSend (a webmail tracker, or autoSend turned off) a fetch never sends it.
      const manual = id();
      await store.putTracker({ account: a, tracker: manual, state: 'armed', sentAt: null, now: T0, autoSend: true });
      expect(await store.putTracker({ account: a, tracker: manual, state: 'armed', sentAt: null, now: T0, autoSend: false })).toMatchObject({ autoSend: false });
      expect(await store.sendOnFetch(a, manual, T0 + 50)).toMatchObject({ state: 'armed', sentAt: null, sentBy: null });
      expect(await store.putTracker({ account: a, tracker: manual, state: 'sent', sentAt: T0 + 60, now: T0 + 60 })).toMatchObject({
        state: 'sent',
        sentAt: T0 + 60,
        sentBy: 'client',
      });
      // A client's send time is never moved by a fetch.
      expect(await store.sendOnFetch(a, manual, T0 + 55)).toMatchObject({ sentAt: T0 + 60, sentBy: 'client' });
      // A tracker registered sent at once (the webmail extension's PUT) was sent by its client.
      expect(await store.getTracker(a, await sentTracker(store, a))).toMatchObject({ sentBy: 'client', autoSend: false });
    });

    it('keeps the networks an account called from: newest first, since a time, bounded, gone with retention and the account (issue 20)', async () => {
      const store = await openStore();
      const a = await account(store);
      const b = await account(store);
      await store.noteAccountNetwork(a, '198.51.100.0/24', T0);
      await store.noteAccountNetwork(a, '2001:db8:1::/48', T0 + 2 * HOUR);
      await store.noteAccountNetwork(a, '203.0.113.0/24', T0 + HOUR);
      // Noting a network again moves it forward, never back.
      await store.noteAccountNetwork(a, '198.51.100.0/24', T0 + 3 * HOUR);
      await store.noteAccountNetwork(a, '203.0.113.0/24', T0);
      await store.noteAccountNetwork(b, '192.0.2.0/24', T0);
      expect(await store.accountNetworks(a, 0, 10)).toEqual(['198.51.100.0/24', '2001:db8:1::/48', '203.0.113.0/24']);
      expect(await store.accountNetworks(a, T0 + 2 * HOUR, 10)).toEqual(['198.51.100.0/24', '2001:db8:1::/48']);
      expect(await store.accountNetworks(a, 0, 1)).toEqual(['198.51.100.0/24']);
      await store.deleteHitsBefore(T0 + HOUR + 1);
      expect(await store.accountNetworks(a, 0, 10)).toEqual(['198.51.100.0/24', '2001:db8:1::/48']);
      expect(await store.accountNetworks(b, 0, 10)).toEqual([]);
      await store.deleteAccount(a);
      expect(await store.accountNetworks(a, 0, 10)).toEqual([]);
    });

    it('records self-views and builds the tracker context with recent prior hits, newest last', async () => {
      const store = await openStore();
      const a = await account(store);
      const tracker = await sentTracker(store, a);
      expect(await store.addSelfView(a, tracker, T0 + 3000, T0 + 3000)).toBe('added');
      expect(await store.addSelfView(a, tracker, T0 + 1000, T0 + 3000)).toBe('merged');
      for (let i = 1; i <= 4; i++) await store.recordHits([newHit(a, tracker, T0 + i * 10_000)]);
      const context = await store.trackerContext(a, tracker, 3);
      expect(context).toMatchObject({ state: 'sent', sentAt: T0, selfViews: [T0 + 1000, T0 + 3000] });
      expect(context?.prior.map((p) => p.at)).toEqual([T0 + 20_000, T0 + 30_000, T0 + 40_000]);
      expect(context?.prior[0]).toMatchObject({ prefix: '203.0.113.0/24', kind: 'open' });
      expect((await store.getTracker(a, tracker))?.selfViews).toEqual([T0 + 1000, T0 + 3000]);
    });

    it('merges a self-view within a minute of a stored one; the merged span still explains every hit near each view', async () => {
      const store = await openStore();
      const a = await account(store);
      const tracker = await sentTracker(store, a);
      const now = T0 + DAY;
      expect(await store.addSelfView(a, tracker, T0 + 100_000, now)).toBe('added');
      expect(await store.addSelfView(a, tracker, T0 + 100_000, now)).toBe('covered');
      expect(await store.addSelfView(a, tracker, T0 + 130_000, now)).toBe('merged');
      expect(await store.addSelfView(a, tracker, T0 + 110_000, now)).toBe('covered');
      // 60 s after the span's end: still merged; the span is now 100 s long.
      expect(await store.addSelfView(a, tracker, T0 + 190_000, now)).toBe('merged');
      // Before the span's start, within a minute.
      expect(await store.addSelfView(a, tracker, T0 + 45_000, now)).toBe('merged');
      // More than a minute away from every stored one: a self-view of its own.
      expect(await store.addSelfView(a, tracker, T0 + 251_000, now)).toBe('added');
      const views = (await store.getTracker(a, tracker))!.selfViews;
      expect((await store.trackerContext(a, tracker, 0))!.selfViews).toEqual(views);
      // The classifier takes instants: each covers 10 s before to 30 s after (backend/classify/data/timing.ts),
      // so the span [45 s, 190 s] is handed over as instants at most 40 s apart, ending on 190 s.
      expect(views).toEqual([45_000, 85_000, 125_000, 165_000, 190_000, 251_000].map((ms) => T0 + ms));
    });

    it('refuses self-views of a tracker beyond its limit per minute, and takes them again the next minute', async () => {
      const store = await openStore({ selfViewsPerMinute: 3 });
      const a = await account(store);
      const tracker = await sentTracker(store, a);
      const other = await sentTracker(store, a);
      const minute = T0 + DAY;
      for (let i = 0; i < 3; i++) expect(await store.addSelfView(a, tracker, T0 + i * 600_000, minute + i)).toBe('added');
      expect(await store.addSelfView(a, tracker, T0 + 9 * 600_000, minute + 59_000)).toBe('limited');
      expect(await store.addSelfView(a, tracker, T0 + 9 * 600_000, minute + 59_000)).toBe('limited');
      expect(await store.addSelfView(a, other, T0, minute + 59_000)).toBe('added');
      expect((await store.getTracker(a, tracker))!.selfViews).toHaveLength(3);
      expect(await store.addSelfView(a, tracker, T0 + 9 * 600_000, minute + 60_000)).toBe('added');
      expect((await store.getTracker(a, tracker))!.selfViews).toHaveLength(4);
    });

    it('keeps at most 200 self-views of a tracker: a new one beyond is refused as full, merging still works', async () => {
      const store = await openStore({ selfViewsPerMinute: 1000 });
      const a = await account(store);
      const tracker = await sentTracker(store, a);
      const now = T0 + DAY;
      for (let i = 0; i < 200; i++) expect(await store.addSelfView(a, tracker, T0 + i * 120_000, now)).toBe('added');
      expect(await store.addSelfView(a, tracker, T0 + 200 * 120_000, now)).toBe('full');
      expect(await store.addSelfView(a, tracker, T0 + 199 * 120_000 + 30_000, now)).toBe('merged');
      expect(await store.addSelfView(a, tracker, T0 + 15_000, now)).toBe('merged');
      expect(await store.addSelfView(a, tracker, T0 + 10_000, now)).toBe('covered');
      expect((await store.getTracker(a, tracker))!.selfViews).toHaveLength(202);
    });

    it('pages a tracker\'s hits oldest first, 500 at most, with a cursor stable among equal times', async () => {
      const store = await openStore({ floodCapPerHour: 100_000 });
      const a = await account(store);
      const tracker = await sentTracker(store, a);
      const other = await sentTracker(store, a);
      // 1,001 hits: 400 sharing one time, recorded newest-first in batches, so neither the
      // recording order nor the time alone gives the page order.
      const hits = Array.from({ length: 1001 }, (_, i) => newHit(a, tracker, T0 + (i < 400 ? 5_000 : 10_000 - i)));
      for (let i = hits.length; i > 0; i -= 250) await store.recordHits(hits.slice(Math.max(0, i - 250), i).reverse());
      await store.recordHits([newHit(a, other, T0 + 5_000)]);
      const expected = [...hits].sort((x, y) => x.signals.at - y.signals.at || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0)).map((h) => h.id);
      const first = await store.trackerHitsPage(a, tracker, null, 500);
      expect(first.hits).toHaveLength(500);
      expect(first.next).toEqual(expect.any(String));
      // A hit recorded between pages, later than every other, comes on a later page, once.
      const late = newHit(a, tracker, T0 + 9_999);
      await store.recordHits([late]);
      const second = await store.trackerHitsPage(a, tracker, first.next, 500);
      expect(second.hits).toHaveLength(500);
      const third = await store.trackerHitsPage(a, tracker, second.next, 500);
      expect(third.hits).toHaveLength(2);
      expect(third.next).toBeNull();
      const read = [...first.hits, ...second.hits, ...third.hits].map((h) => h.id);
      const withLate = [...hits, late]
        .sort((x, y) => x.signals.at - y.signals.at || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))
        .map((h) => h.id);
      expect(read).toEqual(withLate);
      expect(expected.every((hitId) => read.includes(hitId))).toBe(true);
      expect(first.hits[0]).toMatchObject({ tracker, kind: 'open', network: { prefix: '203.0.113.0/24' } });
      // The same cursor gives the same page again.
      expect((await store.trackerHitsPage(a, tracker, first.next, 500)).hits.map((h) => h.id)).toEqual(second.hits.map((h) => h.id));
    });

    it('ends the pages of a tracker at exactly 500 and at 501 hits', async () => {
      const store = await openStore({ floodCapPerHour: 100_000 });
      const a = await account(store);
      const five = await sentTracker(store, a);
      const more = await sentTracker(store, a);
      await store.recordHits(Array.from({ length: 500 }, (_, i) => newHit(a, five, T0 + i)));
      await store.recordHits(Array.from({ length: 501 }, (_, i) => newHit(a, more, T0 + i)));
      expect(await store.trackerHitsPage(a, five, null, 500)).toMatchObject({ hits: expect.any(Array), next: null });
      expect((await store.trackerHitsPage(a, five, null, 500)).hits).toHaveLength(500);
      const first = await store.trackerHitsPage(a, more, null, 500);
      expect(first.hits).toHaveLength(500);
      expect(first.next).not.toBeNull();
      const last = await store.trackerHitsPage(a, more, first.next, 500);
      expect(last.hits.map((h) => h.at)).toEqual([T0 + 500]);
      expect(last.next).toBeNull();
      const empty = await sentTracker(store, a);
      expect(await store.trackerHitsPage(a, empty, null, 500)).toEqual({ hits: [], next: null });
    });

    it('rejects a tracker page cursor it did not make, and shows another account nothing', async () => {
      const store = await openStore();
      const a = await account(store);
      const b = await account(store);
      const tracker = await sentTracker(store, a);
      await store.recordHits([newHit(a, tracker, T0 + 1), newHit(a, tracker, T0 + 2)]);
      for (const bad of ['', 'nonsense', '-1.abc', '1e99.abc', '12.', '.abc', '12.a b', '99999999999999999999.abc']) {
        await expect(store.trackerHitsPage(a, tracker, bad, 500), bad).rejects.toBeInstanceOf(InvalidCursorError);
      }
      const page = await store.trackerHitsPage(a, tracker, null, 1);
      expect(page.hits).toHaveLength(1);
      expect(await store.trackerHitsPage(b, tracker, null, 500)).toEqual({ hits: [], next: null });
      expect(await store.trackerHitsPage(b, tracker, page.next, 500)).toEqual({ hits: [], next: null });
    });

    it('returns the hits of a tracker within a time range, with the prior hits before it', async () => {
      const store = await openStore();
      const a = await account(store);
      const tracker = await sentTracker(store, a);
      const hits = Array.from({ length: 10 }, (_, i) => newHit(a, tracker, T0 + i * 1000));
      await store.recordHits(hits);
      const near = await store.trackerHitsNear(a, tracker, T0 + 5000, T0 + 7000, 3);
      expect(near.prior.map((s) => s.hit.at)).toEqual([T0 + 2000, T0 + 3000, T0 + 4000]);
      expect(near.hits.map((s) => s.hit.id)).toEqual(hits.slice(5, 8).map((h) => h.id));
      expect(near.hits[0]!.signals).toEqual(hits[5]!.signals);
      const b = await account(store);
      expect(await store.trackerHitsNear(b, tracker, T0, T0 + 10_000, 3)).toEqual({ prior: [], hits: [] });
    });

    it('stores at most the account\'s cap of hits per hour over all its trackers, counting the rest as dropped', async () => {
      const store = await openStore({ floodCapPerHour: 3, accountHitsPerHour: 5 });
      const a = await account(store);
      const b = await account(store);
      const t1 = await sentTracker(store, a);
      const t2 = await sentTracker(store, a);
      const tb = await sentTracker(store, b);
      const hour = T0 + HOUR;
      const batch = [
        ...Array.from({ length: 4 }, (_, i) => newHit(a, t1, hour + i)),
        ...Array.from({ length: 4 }, (_, i) => newHit(a, t2, hour + 10 + i)),
        newHit(b, tb, hour),
      ];
      expect(await store.recordHits(batch)).toEqual([
        'stored', 'stored', 'stored', 'dropped', // t1's flood cap
        'stored', 'stored', 'dropped', 'dropped', // the account's cap
        'stored', // another account is not affected
      ]);
      expect((await store.getTracker(a, t1))!.dropped).toBe(1);
      expect((await store.getTracker(a, t2))!.dropped).toBe(2);
      const t3 = await sentTracker(store, a);
      expect(await store.recordHits([newHit(a, t3, hour + 100)])).toEqual(['dropped']);
      // The count lives in the database: a restarted server (or another instance) keeps it.
      for (const s of opened.splice(0)) await s.close();
      const again = await openStore({ floodCapPerHour: 3, accountHitsPerHour: 5 });
      expect(await again.recordHits([newHit(a, t3, hour + 200)])).toEqual(['dropped']);
      expect((await again.getTracker(a, t3))!.dropped).toBe(2);
      // A new clock hour starts a new allowance.
      expect(await again.recordHits([newHit(a, t3, hour + HOUR), newHit(a, t1, hour + HOUR)])).toEqual(['stored', 'stored']);
      expect((await again.trackerHits(a, t1)).length + (await again.trackerHits(a, t2)).length).toBe(6);
    });

    it('registers at most the account\'s cap of new trackers per day; updates and other accounts are not limited', async () => {
      const store = await openStore({ trackersPerDay: 3 });
      const a = await account(store);
      const b = await account(store);
      const day = T0 + 5 * DAY;
      const made: string[] = [];
      for (let i = 0; i < 3; i++) {
        const tracker = id();
        made.push(tracker);
        expect(await store.putTracker({ account: a, tracker, state: 'armed', sentAt: null, now: day + i })).toMatchObject({ state: 'armed' });
      }
      const refused = id();
      await expect(store.putTracker({ account: a, tracker: refused, state: 'sent', sentAt: day, now: day + 10 })).rejects.toBeInstanceOf(LimitError);
      expect(await store.getTracker(a, refused)).toBeNull();
      // The trackers it has still go from armed to sent.
      expect(await store.putTracker({ account: a, tracker: made[0]!, state: 'sent', sentAt: day, now: day + 20 })).toMatchObject({ state: 'sent' });
      expect(await store.putTracker({ account: b, tracker: id(), state: 'armed', sentAt: null, now: day + 20 })).not.toBeNull();
      // Kept in the database across a restart.
      for (const s of opened.splice(0)) await s.close();
      const again = await openStore({ trackersPerDay: 3 });
      await expect(again.putTracker({ account: a, tracker: refused, state: 'armed', sentAt: null, now: day + 30 })).rejects.toBeInstanceOf(LimitError);
      // The next UTC day starts a new allowance.
      const nextDay = Math.floor(day / DAY) * DAY + DAY;
      expect(await again.putTracker({ account: a, tracker: refused, state: 'armed', sentAt: null, now: nextDay })).toMatchObject({ state: 'armed' });
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
          // No template words 'Opened.' (see 'names the reason of every hit…').
          reasonCode: null,
          reasonParams: {},
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
      // Waits for the event, not a clock: on a loaded machine the call may come well after 300 ms.
      await expect.poll(() => visible).toBe(1);
      expect(calls.flat()).toEqual([a]);
      unsubscribe();
      // A listener still subscribed hears of the next hit; by then the removed one would have too.
      let heard = false;
      const marker = store.subscribe(() => (heard = true));
      await store.recordHits([newHit(a, tracker, T0 + 3)]);
      await expect.poll(() => heard).toBe(true);
      marker();
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
