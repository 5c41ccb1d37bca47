import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { startBackground } from '../../lib/background';
import { closeDb, db, newEmailRecord, type EmailRecord, type HitRecord } from '../../lib/db';
import { REOPEN_THROTTLE_MS } from '../../lib/notify';
import {
  COLLAPSE_MS,
  DIGEST_ALARM,
  DIGEST_NOTIFICATION_ID,
  digestKey,
  digestNotification,
  ensureDigestAlarm,
  nextDigestAt,
  silenced,
} from '../../lib/notify-rules';
import { defaultSettings, saveSettings, type Settings } from '../../lib/settings';
import { applyPage } from '../../lib/sync';
import { installFakeDnr } from './dnr-fake';
import { useLocale } from './i18n-setup';

/** A Monday at noon, local time: the faked clock starts here. */
const NOW = new Date(2026, 10, 30, 12, 0, 0).getTime();
const DAY = 24 * 60 * 60_000;
const A = 'tracker-rules-00000001';
const B = 'tracker-rules-00000002';

function open(id: string, tracker: string, at: number): HitRecord {
  return {
    id,
    tracker,
    at,
    kind: 'open',
    via: null,
    reason: 'Opened in a mail client',
    reasonCode: null,
    reasonParams: {},
    network: { prefix: '198.51.100.0/24', asn: 3320, org: 'Deutsche Telekom AG' },
    geo: { country: 'DE', region: 'Berlin', city: 'Berlin' },
    client: null,
  };
}

function email(tracker: string, subject: string, fields: Partial<EmailRecord> = {}): EmailRecord {
  return newEmailRecord(tracker, {
    subject,
    recipients: [{ name: 'Ada Lovelace', address: 'ada@example.com' }],
    sentAt: NOW - DAY,
    ...fields,
  });
}

/** Applies one page of hits at the faked clock's time, as the sync does. */
async function feed(events: HitRecord[], settings: Settings = defaultSettings) {
  return applyPage({ events, cursor: `c${Date.now()}` }, settings, Date.now());
}

beforeEach(() => {
  fakeBrowser.reset();
  installFakeDnr();
  closeDb();
  globalThis.indexedDB = new IDBFactory();
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});

afterEach(() => {
  vi.useRealTimers();
});

describe('the 3-minute collapse', () => {
  it('a re-open within 3 minutes of the previous open continues that event, even once the hourly throttle has passed', async () => {
    await (await db()).put('emails', email(A, 'Q3 budget'));
    expect((await feed([open('a1', A, NOW)])).notifications).toHaveLength(1);
    // The reader comes back just before the hour (throttled), then scrolls on a minute later.
    vi.setSystemTime(NOW + REOPEN_THROTTLE_MS - 60_000);
    expect((await feed([open('a2', A, Date.now())])).notifications).toEqual([]);
    vi.setSystemTime(NOW + REOPEN_THROTTLE_MS + 60_000);
    expect((await feed([open('a3', A, Date.now())])).notifications).toEqual([]);
    // The hits are all recorded and counted.
    expect(await (await db()).get('emails', A)).toMatchObject({ opens: 3 });
    // A real re-open, more than 3 minutes after the last one, notifies.
    vi.setSystemTime(NOW + REOPEN_THROTTLE_MS + 60_000 + COLLAPSE_MS);
    const later = await feed([open('a4', A, Date.now())]);
    // SPEC §6 (wording of the i18n branch): the title says "Opened" and, with one recipient, by whom; the message holds the subject.
    expect(later.notifications.map((n) => n.title)).toEqual(['Opened again by Ada Lovelace — 4th time']);
    expect(later.notifications[0]?.message).toContain('Q3 budget');
  });

  it('chains: steps under 3 minutes stay one event however long the reading lasts', () => {
    const before = { lastOpenAt: NOW, sentAt: NOW - DAY, sortAt: NOW - DAY };
    const steps = [1, 2, 3, 4].map((i) => ({ at: NOW + i * (COLLAPSE_MS - 1_000) }));
    expect(silenced(before, steps, defaultSettings, NOW + 4 * COLLAPSE_MS)).toBe('collapsed');
    expect(silenced(before, [...steps, { at: NOW + 8 * COLLAPSE_MS }], defaultSettings, NOW + 8 * COLLAPSE_MS)).toBeNull();
    // The first open has nothing to continue.
    expect(silenced({ ...before, lastOpenAt: null }, [{ at: NOW }], defaultSettings, NOW)).toBeNull();
  });
});

describe('the N-day stop', () => {
  it('a message sent more than 30 days ago records its opens without notifying', async () => {
    await (await db()).put('emails', email(A, 'Old news', { sentAt: NOW - 31 * DAY }));
    await (await db()).put('emails', email(B, 'Fresh', { sentAt: NOW - 29 * DAY }));
    const res = await feed([open('a1', A, NOW), open('b1', B, NOW)]);
    expect(res.notifications.map((n) => n.tracker)).toEqual([B]);
    expect(await (await db()).get('emails', A)).toMatchObject({ opens: 1, unseenOpens: 1, lastOpenAt: NOW });
    expect(await fakeBrowser.notifications.getAll()).not.toHaveProperty(`openping:${A}`);
  });

  it('follows the setting; 0 turns the limit off', async () => {
    await (await db()).put('emails', email(A, 'Old news', { sentAt: NOW - 8 * DAY }));
    expect((await feed([open('a1', A, NOW)], { ...defaultSettings, notifyForDays: 7 })).notifications).toEqual([]);
    await (await db()).put('emails', email(B, 'Older news', { sentAt: NOW - 400 * DAY }));
    expect((await feed([open('b1', B, NOW)], { ...defaultSettings, notifyForDays: 0 })).notifications).toHaveLength(1);
  });
});

describe('replied messages', () => {
  it('stop notifying about opens', () => {
    const before = { lastOpenAt: null, sentAt: NOW - DAY, sortAt: NOW - DAY, repliedAt: NOW - 60_000 };
    expect(silenced(before, [{ at: NOW }], defaultSettings, NOW)).toBe('replied');
  });
});

describe('the daily digest', () => {
  it('gathers the opens of the day into one notification at the chosen time, across a worker restart', async () => {
    await saveSettings({ notifyDigest: true, digestAt: '18:00' });
    await startBackground();
    const alarm = await fakeBrowser.alarms.get(DIGEST_ALARM);
    expect(alarm?.scheduledTime).toBe(new Date(2026, 10, 30, 18, 0, 0).getTime());
    expect(alarm?.periodInMinutes).toBe(24 * 60);

    await (await db()).put('emails', email(A, 'Q3 budget'));
    await (await db()).put('emails', email(B, 'Offsite'));
    const settings = { ...defaultSettings, notifyDigest: true };
    expect((await feed([open('a1', A, NOW)], settings)).notifications).toEqual([]);
    vi.setSystemTime(NOW + 2 * 60 * 60_000);
    expect((await feed([open('a2', A, Date.now()), open('b1', B, Date.now())], settings)).notifications).toEqual([]);
    expect(await fakeBrowser.notifications.getAll()).toEqual({});

    // The worker dies; the entries wait in IndexedDB, the alarm in the browser.
    closeDb();
    fakeBrowser.alarms.onAlarm.removeAllListeners();
    await startBackground();
    vi.setSystemTime(alarm!.scheduledTime);
    await fakeBrowser.alarms.onAlarm.trigger({ ...alarm!, name: DIGEST_ALARM });
    await expect.poll(async () => Object.keys(await fakeBrowser.notifications.getAll())).toEqual([DIGEST_NOTIFICATION_ID]);
    const shown = await fakeBrowser.notifications.getAll();
    expect(shown[DIGEST_NOTIFICATION_ID]).toMatchObject({ title: 'OpenPing: 2 emails opened today' });
    expect(shown[DIGEST_NOTIFICATION_ID]?.message).toContain('Offsite');
    expect(shown[DIGEST_NOTIFICATION_ID]?.message).toContain('Q3 budget (2×)');
    expect(await (await db()).get('meta', digestKey(A))).toBeUndefined();
  });

  it('turning it off removes the alarm; the time of day rolls over to tomorrow', async () => {
    await ensureDigestAlarm({ notifyDigest: true, digestAt: '09:30' }, NOW);
    expect((await fakeBrowser.alarms.get(DIGEST_ALARM))?.scheduledTime).toBe(new Date(2026, 11, 1, 9, 30).getTime());
    await ensureDigestAlarm({ notifyDigest: false, digestAt: '09:30' }, NOW);
    expect(await fakeBrowser.alarms.get(DIGEST_ALARM)).toBeUndefined();
    expect(nextDigestAt('nonsense', NOW)).toBe(new Date(2026, 10, 30, 18, 0).getTime());
  });

  it('is titled in the browser’s language, with the count in words and the overflow line too', async () => {
    const entries = Array.from({ length: 7 }, (_, i) => ({ tracker: `t${i}`, subject: `Subject ${i}`, events: 1, lastAt: NOW - i }));
    expect(digestNotification(entries.slice(0, 1), NOW)?.title).toBe('OpenPing: 1 email opened today');
    expect(digestNotification(entries, NOW)?.message.split('\n').at(-1)).toBe('+2 more');
    await useLocale('de');
    try {
      expect(digestNotification(entries.slice(0, 1), NOW)?.title).toBe('OpenPing: heute 1 E-Mail geöffnet');
      expect(digestNotification(entries, NOW)?.title).toBe('OpenPing: heute 7 E-Mails geöffnet');
      expect(digestNotification(entries, NOW)?.message.split('\n').at(-1)).toBe('+2 weitere');
    } finally {
      await useLocale('en');
    }
  });
});
