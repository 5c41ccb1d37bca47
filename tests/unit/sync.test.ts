import { IDBFactory } from 'fake-indexeddb';
import fc from 'fast-check';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { closeDb, db, newEmailRecord, type HitRecord } from '../../lib/db';
import { deliverPending, updateBadge } from '../../lib/notify';
import { defaultSettings } from '../../lib/settings';
import { applyPage, countsOf, forgetEmail, isLivePolling, loadCursor, startLivePolling } from '../../lib/sync';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const T1 = 'tracker-one-000000001';
const T2 = 'tracker-two-000000002';

function hit(id: string, tracker: string, kind: HitRecord['kind'], at = NOW - 60_000): HitRecord {
  return {
    id,
    tracker,
    at,
    kind,
    via: kind === 'prefetch' ? 'apple-mpp' : null,
    reason: `reason for ${kind}`,
    reasonCode: null,
    reasonParams: {},
    network: { prefix: '203.0.113.0/24', asn: 64500, org: 'Example Net' },
    geo: { country: 'DE', region: 'Berlin', city: 'Berlin' },
    client: null,
  };
}

async function seedSent(tracker: string, subject: string): Promise<void> {
  await (await db()).put(
    'emails',
    newEmailRecord(tracker, {
      subject,
      recipients: [{ name: 'Ada', address: 'ada@example.com' }],
      sentAt: NOW - 3_600_000,
      webmail: 'gmail',
    }),
  );
}

async function shownNotifications(): Promise<Record<string, { title?: string; message?: string }>> {
  return (await fakeBrowser.notifications.getAll()) as Record<string, { title?: string; message?: string }>;
}

beforeEach(() => {
  fakeBrowser.reset();
  closeDb();
  globalThis.indexedDB = new IDBFactory();
});

describe('applyPage', () => {
  it('stores hits, recomputes counts and saves the cursor in one step', async () => {
    await seedSent(T1, 'Quarterly numbers');
    const res = await applyPage(
      { events: [hit('h1', T1, 'prefetch'), hit('h2', T1, 'open'), hit('h3', T1, 'open', NOW - 30_000)], cursor: 'c3' },
      defaultSettings,
      NOW,
    );
    expect(res.applied).toBe(3);
    expect(await loadCursor()).toBe('c3');
    const email = await (await db()).get('emails', T1);
    expect(email).toMatchObject({ opens: 2, machineHits: 1, firstOpenAt: NOW - 60_000, lastOpenAt: NOW - 30_000 });
    expect(email?.lastOpenPlace).toBe('Berlin, DE');
    expect(email?.unseenOpens).toBe(2);
  });

  it('is idempotent: the same page twice gives the same records and one notification', async () => {
    await seedSent(T1, 'Lunch on Friday?');
    const page = { events: [hit('h1', T1, 'open')], cursor: 'c1' };
    const first = await applyPage(page, defaultSettings, NOW);
    const again = await applyPage(page, defaultSettings, NOW + 1_000);
    expect(first.notifications).toHaveLength(1);
    expect(again.notifications).toHaveLength(0);
    const email = await (await db()).get('emails', T1);
    expect(email).toMatchObject({ opens: 1, unseenOpens: 1 });
    expect(await (await db()).count('hits')).toBe(1);
  });

  it('a crash between fetch and cursor save repeats nothing visible', async () => {
    await seedSent(T1, 'Contract draft');
    const page = { events: [hit('h1', T1, 'open')], cursor: 'c1' };
    // The worker dies after applying (cursor and pending notification committed together) but before showing it.
    await applyPage(page, defaultSettings, NOW);
    expect(await shownNotifications()).toEqual({});
    // Restart: the same page may be fetched again if the server had not seen our cursor; then pending ones are shown.
    await applyPage(page, defaultSettings, NOW + 2_000);
    expect(await deliverPending()).toBe(1);
    expect(await deliverPending()).toBe(0);
    const shown = await shownNotifications();
    expect(Object.keys(shown)).toEqual([`openping:${T1}`]);
    expect(shown[`openping:${T1}`]?.title).toContain('Opened');
    expect(shown[`openping:${T1}`]?.message).toContain('Contract draft');
    expect((await (await db()).get('emails', T1))?.opens).toBe(1);
    expect(await updateBadge()).toBe(1);
    expect(await fakeBrowser.action.getBadgeText({})).toBe('1');
  });

  it('a crash before the commit leaves nothing behind: the page comes again and applies once', async () => {
    await seedSent(T1, 'Invoice');
    await applyPage({ events: [hit('h1', T1, 'open')], cursor: 'c1' }, defaultSettings, NOW);
    // The worker dies half-way through the next page: a value IndexedDB cannot store makes the second put throw.
    const poison = { ...hit('h3', T1, 'open'), network: { prefix: 'x', asn: 1, org: 'x', bad: () => 1 } };
    const page = { events: [hit('h2', T1, 'open', NOW - 10_000), poison as unknown as HitRecord], cursor: 'c3' };
    await expect(applyPage(page, defaultSettings, NOW)).rejects.toThrow();
    expect(await loadCursor()).toBe('c1');
    expect(await (await db()).get('hits', 'h2')).toBeUndefined();
    expect((await (await db()).get('emails', T1))?.opens).toBe(1);
    // On restart the same page (now well-formed) arrives again from the old cursor.
    const retry = { events: [hit('h2', T1, 'open', NOW - 10_000), hit('h3', T1, 'open', NOW - 5_000)], cursor: 'c3' };
    await applyPage(retry, defaultSettings, NOW);
    await applyPage(retry, defaultSettings, NOW);
    expect(await loadCursor()).toBe('c3');
    expect(await (await db()).get('emails', T1)).toMatchObject({ opens: 3, unseenOpens: 3 });
  });

  it('keeps the latest version of a re-labelled hit and recomputes counts', async () => {
    await seedSent(T1, 'Re: plans');
    await applyPage({ events: [hit('h1', T1, 'open')], cursor: 'c1' }, defaultSettings, NOW);
    // The server re-labels h1 as the sender's own view (a self-view arrived after it).
    const res = await applyPage({ events: [{ ...hit('h1', T1, 'self'), reason: 'Your own view' }], cursor: 'c2' }, defaultSettings, NOW);
    expect(res.notifications).toHaveLength(0);
    const email = await (await db()).get('emails', T1);
    expect(email).toMatchObject({ opens: 0, unseenOpens: 0, lastOpenAt: null });
    expect((await (await db()).get('hits', 'h1'))?.kind).toBe('self');
    expect(await (await db()).count('hits')).toBe(1);
  });

  it('a prefetch re-labelled as an open notifies then', async () => {
    await seedSent(T1, 'Hello');
    const first = await applyPage({ events: [hit('h1', T1, 'prefetch')], cursor: 'c1' }, defaultSettings, NOW);
    expect(first.notifications).toHaveLength(0);
    const second = await applyPage({ events: [hit('h1', T1, 'open')], cursor: 'c2' }, defaultSettings, NOW);
    expect(second.notifications.map((n) => n.title)).toEqual([expect.stringContaining('Opened')]);
    expect((await (await db()).get('emails', T1))?.machineHits).toBe(0);
  });

  it('keeps hits of a tracker this browser does not know and lists it by tracker id', async () => {
    await applyPage({ events: [hit('h9', T2, 'open')], cursor: 'c1' }, defaultSettings, NOW);
    const email = await (await db()).get('emails', T2);
    expect(email).toMatchObject({ tracker: T2, subject: null, opens: 1, sortAt: NOW - 60_000 });
  });

  it('does not list a tracker seen only with draft or own-view hits', async () => {
    await applyPage({ events: [hit('h1', T2, 'presend'), hit('h2', T2, 'self')], cursor: 'c1' }, defaultSettings, NOW);
    expect(await (await db()).get('emails', T2)).toBeUndefined();
    expect(await (await db()).count('hits')).toBe(2);
  });

  it('ignores hits of an email the user deleted', async () => {
    await seedSent(T1, 'Gone');
    await forgetEmail(T1);
    const res = await applyPage({ events: [hit('h1', T1, 'open')], cursor: 'c1' }, defaultSettings, NOW);
    expect(res.skipped).toBe(1);
    expect(await (await db()).get('emails', T1)).toBeUndefined();
    expect(await loadCursor()).toBe('c1');
  });
});

describe('countsOf', () => {
  it("names the proxy, not the proxy's data centre, as the place of a proxied open", () => {
    const proxied = { ...hit('p', T1, 'open', 40), via: 'gmail-proxy', geo: { country: 'US', region: 'California', city: 'Mountain View' } };
    expect(countsOf([hit('a', T1, 'open', 10), proxied]).lastOpenPlace).toBe("via Gmail's image proxy");
    expect(countsOf([proxied, hit('a', T1, 'open', 50)]).lastOpenPlace).toBe('Berlin, DE');
  });

  it('counts opens and machine hits, and never self, duplicate or presend', () => {
    const counts = countsOf([
      hit('a', T1, 'open', 10),
      hit('b', T1, 'open', 30),
      hit('c', T1, 'prefetch'),
      hit('d', T1, 'scanner'),
      hit('e', T1, 'bot'),
      hit('f', T1, 'self'),
      hit('g', T1, 'duplicate'),
      hit('h', T1, 'presend'),
    ]);
    expect(counts).toEqual({ opens: 2, machineHits: 3, appleMppHits: 1, firstOpenAt: 10, lastOpenAt: 30, lastOpenPlace: 'Berlin, DE' });
  });
});

describe('replays (property)', () => {
  const KINDS: HitRecord['kind'][] = ['open', 'prefetch', 'scanner', 'bot', 'self', 'duplicate', 'presend'];

  /** Applies pages in order; `replay[i]` applies page i a second time, as a worker killed before its cursor save would. */
  async function run(pages: HitRecord[][], replay: boolean[]) {
    fakeBrowser.reset();
    closeDb();
    globalThis.indexedDB = new IDBFactory();
    await seedSent(T1, 'One');
    await seedSent(T2, 'Two');
    const decided: string[] = [];
    for (const [i, events] of pages.entries()) {
      const times = replay[i] ? 2 : 1;
      for (let k = 0; k < times; k++) {
        const res = await applyPage({ events, cursor: `c${i}` }, defaultSettings, NOW);
        decided.push(...res.notifications.map((n) => `${n.id}|${n.title}`));
      }
    }
    const emails = await (await db()).getAll('emails');
    const hits = await (await db()).getAll('hits');
    return { emails, hits, decided, cursor: await loadCursor() };
  }

  it('applying any page twice changes nothing: same records, same notifications', async () => {
    const event = fc.record({
      id: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
      tracker: fc.constantFrom(T1, T2),
      kind: fc.constantFrom(...KINDS),
      at: fc.integer({ min: NOW - 3_600_000, max: NOW }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(event, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        async (raw, replay) => {
          // Ids are per tracker on the server; make them unique across trackers here.
          const pages = raw.map((page) => page.map((e) => hit(`${e.tracker}:${e.id}`, e.tracker, e.kind, e.at)));
          const once = await run(pages, pages.map(() => false));
          const twice = await run(pages, replay);
          expect(twice).toEqual(once);
          // Counts always equal the latest kind of each hit id.
          for (const email of once.emails) {
            const latest = once.hits.filter((h) => h.tracker === email.tracker);
            expect(email.opens).toBe(latest.filter((h) => h.kind === 'open').length);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('live polling', () => {
  it('ends quietly when storage fails, so its `void` callers cannot leave an unhandled rejection', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const get = vi.spyOn(fakeBrowser.storage.local, 'get').mockRejectedValue(new Error('storage gone'));
    try {
      await expect(startLivePolling()).resolves.toBeUndefined();
      expect(isLivePolling()).toBe(false);
      expect(warn).toHaveBeenCalledWith('[openping] live poll stopped', expect.any(Error));
    } finally {
      get.mockRestore();
      warn.mockRestore();
    }
  });
});
