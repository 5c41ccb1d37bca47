import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { handlers, startBackground } from '../../lib/background';
import { closeDb, db, newEmailRecord, type HitRecord } from '../../lib/db';
import { defaultSettings, saveIdentity } from '../../lib/settings';
import { REMINDER_ALARM_PREFIX, cancelledBy, dueAtOf, listReminders, reminderText } from '../../lib/reminders';
import { useLocale } from './i18n-setup';
import { installFakeDnr } from './dnr-fake';

const NOW = new Date(2026, 10, 30, 9, 0, 0).getTime();
const DAY = 24 * 60 * 60_000;
const A = 'tracker-remind-0000001';
const B = 'tracker-remind-0000002';
const ada = { name: 'Ada', address: 'ada@example.com' };
const own = ['me@example.com'];
const fromContent = { tab: { id: 1, url: 'https://mail.google.com/mail/u/0/' } };

beforeEach(async () => {
  fakeBrowser.reset();
  installFakeDnr();
  closeDb();
  globalThis.indexedDB = new IDBFactory();
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  for (const [tracker, subject] of [[A, 'Q3 budget'], [B, 'Offsite']] as const) {
    await (await db()).put(
      'emails',
      newEmailRecord(tracker, { subject, recipients: [ada], sentAt: NOW, threadUrl: `https://mail.google.com/mail/u/0/#sent/${tracker}` }),
    );
  }
});

afterEach(async () => {
  vi.useRealTimers();
  await useLocale('en');
});

describe('reminder rules', () => {
  it('due N days after the send, or at a future date; nonsense is refused', () => {
    expect(dueAtOf({ afterDays: 3, at: null }, NOW, NOW + 5)).toBe(NOW + 3 * DAY);
    expect(dueAtOf({ afterDays: null, at: NOW + DAY }, NOW, NOW)).toBe(NOW + DAY);
    expect(dueAtOf({ afterDays: null, at: NOW - 1 }, NOW, NOW)).toBeNull();
    expect(dueAtOf({ afterDays: 0, at: null }, NOW, NOW)).toBeNull();
    expect(dueAtOf({ afterDays: 1.5, at: null }, NOW, NOW)).toBeNull();
    // A date is at most a year (and a day, for the local hour) ahead.
    expect(dueAtOf({ afterDays: null, at: NOW + 366 * DAY }, NOW, NOW)).toBe(NOW + 366 * DAY);
    expect(dueAtOf({ afterDays: null, at: NOW + 367 * DAY }, NOW, NOW)).toBeNull();
  });

  it('a reply cancels either kind; an open only "if not opened"', () => {
    const email = newEmailRecord(A, { recipients: [ada] });
    expect(cancelledBy({ condition: 'no-reply' }, email)).toBeNull();
    expect(cancelledBy({ condition: 'no-reply' }, { ...email, opens: 2 })).toBeNull();
    expect(cancelledBy({ condition: 'not-opened' }, { ...email, opens: 2 })).toBe('open');
    expect(cancelledBy({ condition: 'not-opened' }, { ...email, repliedAt: NOW })).toBe('reply');
    expect(cancelledBy({ condition: 'no-reply' }, undefined)).toBe('gone');
  });

  it('says who did not reply, to what, and what the pixel saw', () => {
    const email = newEmailRecord(A, { subject: 'Q3 budget', recipients: [ada], sentAt: NOW, opens: 2, lastOpenAt: NOW + DAY });
    expect(reminderText(email, { condition: 'no-reply' }, NOW + 3 * DAY)).toEqual({
      title: 'No reply from Ada',
      message: '“Q3 budget” — opened 2×, last Tuesday',
    });
  });

  it('says when the last open was as people do: hours ago the same day, the weekday in the past week, the date before', () => {
    // NOW is Monday 30 November 2026, 9:00 local.
    const email = newEmailRecord(A, { subject: 'Q3 budget', recipients: [ada], sentAt: NOW - 20 * DAY, opens: 1, lastOpenAt: NOW });
    const at = (lastOpenAt: number, now: number, opens = 1) => reminderText({ ...email, opens, lastOpenAt }, { condition: 'no-reply' }, now).message;
    expect(at(NOW, NOW + 3 * 3_600_000)).toBe('“Q3 budget” — opened once, 3 h ago');
    expect(at(NOW, NOW + 3 * 3_600_000, 4)).toBe('“Q3 budget” — opened 4×, last 3 h ago');
    expect(at(NOW - DAY, NOW)).toBe('“Q3 budget” — opened once, on Sunday');
    expect(at(NOW - 6 * DAY, NOW, 2)).toBe('“Q3 budget” — opened 2×, last Tuesday');
    expect(at(NOW - 8 * DAY, NOW, 2)).toBe('“Q3 budget” — opened 2×, last Nov 22');
    expect(reminderText({ ...email, opens: 1, lastOpenAt: null }, { condition: 'no-reply' }, NOW).message).toBe('“Q3 budget” — opened once');
    expect(reminderText({ ...email, opens: 0, lastOpenAt: null }, { condition: 'no-reply' }, NOW).message).toBe('“Q3 budget” — no open seen');
  });

  it.each([
    ['en', 'No reply from Ada', '“Q3 budget” — opened 2×, last Tuesday', '“Q3 budget” — opened once, on Tuesday'],
    ['de', 'Keine Antwort von Ada', '„Q3 budget“ – 2-mal geöffnet, zuletzt am Dienstag', '„Q3 budget“ – einmal geöffnet, am Dienstag'],
    ['fr', 'Pas de réponse de Ada', '« Q3 budget » — ouvert 2 fois, dernière fois mardi', '« Q3 budget » — ouvert une fois, mardi'],
    ['es', 'Sin respuesta de Ada', '«Q3 budget» — abierto 2 veces, la última el martes', '«Q3 budget» — abierto una vez, el martes'],
  ])('the notification in %s, with its plural forms', async (locale, title, twice, once) => {
    await useLocale(locale);
    const email = newEmailRecord(A, { subject: 'Q3 budget', recipients: [ada], sentAt: NOW, opens: 2, lastOpenAt: NOW + DAY });
    expect(reminderText(email, { condition: 'no-reply' }, NOW + 3 * DAY)).toEqual({ title, message: twice });
    expect(reminderText({ ...email, opens: 1 }, { condition: 'no-reply' }, NOW + 3 * DAY).message).toBe(once);
  });
});

describe('reminders in the background', () => {
  it('a reply cancels one email’s reminder; the other fires after a restart as a notification whose click opens its thread', async () => {
    await startBackground();
    for (const tracker of [A, B]) {
      const res = await handlers.setReminder({ type: 'setReminder', tracker, condition: 'no-reply', afterDays: 3, at: null }, fromContent);
      expect(res).toEqual({ ok: true, dueAt: NOW + 3 * DAY });
    }
    expect((await fakeBrowser.alarms.getAll()).map((a) => a.name).filter((n) => n.startsWith(REMINDER_ALARM_PREFIX)).sort()).toEqual(
      [`${REMINDER_ALARM_PREFIX}${A}`, `${REMINDER_ALARM_PREFIX}${B}`],
    );

    vi.setSystemTime(NOW + DAY);
    await handlers.replied({ type: 'replied', tracker: A, reply: { by: ada, at: NOW + DAY - 1, others: [] }, own }, fromContent);
    expect((await listReminders()).map((r) => r.tracker)).toEqual([B]);
    expect(await fakeBrowser.alarms.get(`${REMINDER_ALARM_PREFIX}${A}`)).toBeUndefined();

    // The worker dies; the reminder waits in IndexedDB, its alarm in the browser.
    closeDb();
    fakeBrowser.alarms.onAlarm.removeAllListeners();
    fakeBrowser.notifications.onClicked.removeAllListeners();
    await startBackground();
    const alarm = (await fakeBrowser.alarms.get(`${REMINDER_ALARM_PREFIX}${B}`))!;
    vi.setSystemTime(alarm.scheduledTime);
    await fakeBrowser.alarms.onAlarm.trigger(alarm);
    await expect.poll(async () => Object.keys(await fakeBrowser.notifications.getAll())).toEqual([`openping:${B}`]);
    expect((await fakeBrowser.notifications.getAll())[`openping:${B}`]).toMatchObject({ title: 'No reply from Ada' });

    await fakeBrowser.notifications.onClicked.trigger(`openping:${B}`);
    await expect
      .poll(async () => (await fakeBrowser.tabs.query({})).map((t) => t.url))
      .toContain(`https://mail.google.com/mail/u/0/#sent/${B}`);
  });

  it('a reminder on a date is due then, whatever the send time, and its alarm rings then', async () => {
    await startBackground();
    const at = new Date(2026, 11, 4, 9, 0).getTime();
    const res = await handlers.setReminder({ type: 'setReminder', tracker: A, condition: 'no-reply', afterDays: null, at }, fromContent);
    expect(res).toEqual({ ok: true, dueAt: at });
    expect((await fakeBrowser.alarms.get(`${REMINDER_ALARM_PREFIX}${A}`))?.scheduledTime).toBe(at);
    // A later send does not move a date.
    await handlers.sent(
      { type: 'sent', email: { tracker: A, webmail: 'gmail', subject: 'Q3 budget', recipients: [ada], sentAt: NOW + DAY, threadUrl: null } },
      fromContent,
    );
    expect((await listReminders()).map((r) => r.dueAt)).toEqual([at]);
    // A date in the past, or over a year ahead, is refused.
    for (const bad of [NOW - 1, NOW + 400 * DAY]) {
      expect(await handlers.setReminder({ type: 'setReminder', tracker: B, condition: 'no-reply', afterDays: null, at: bad }, fromContent)).toEqual({
        ok: false,
        dueAt: null,
      });
    }
  });

  it('"if not opened": an open before the time means no notification; snooze moves it', async () => {
    await startBackground();
    await handlers.setReminder({ type: 'setReminder', tracker: A, condition: 'not-opened', afterDays: 1, at: null }, fromContent);
    const own = { url: fakeBrowser.runtime.getURL('/popup.html') };
    const snoozed = await handlers.snoozeReminder({ type: 'snoozeReminder', tracker: A, days: 1 }, own);
    expect(snoozed.dueAt).toBe(NOW + 2 * DAY);
    const email = (await (await db()).get('emails', A))!;
    await (await db()).put('emails', { ...email, opens: 1, lastOpenAt: NOW + DAY });
    const alarm = (await fakeBrowser.alarms.get(`${REMINDER_ALARM_PREFIX}${A}`))!;
    vi.setSystemTime(alarm.scheduledTime);
    await fakeBrowser.alarms.onAlarm.trigger(alarm);
    await expect.poll(() => listReminders()).toEqual([]);
    expect(await fakeBrowser.notifications.getAll()).toEqual({});
  });

  it('"if not opened": an open the server has, not yet seen here, is fetched when it comes due and cancels it', async () => {
    await saveIdentity({ server: defaultSettings.server, account: 'acct-remind', token: 'tok', pixelBase: 'https://t.example/p/acct-remind/' });
    const open: HitRecord = {
      id: 'hit-open-1', tracker: A, at: NOW + DAY / 2, kind: 'open', via: 'gmail', reason: 'Gmail image proxy',
      reasonCode: null, reasonParams: {}, network: null, geo: null, client: null,
    };
    let served = false;
    vi.stubGlobal('fetch', async (url: string) => {
      if (new URL(url).pathname !== '/v1/events') return Response.json({ error: 'not_found', message: 'no' }, { status: 404 });
      const events = served ? [] : [open];
      served = true;
      return Response.json({ events, cursor: 'c1' });
    });
    try {
      await startBackground();
      await handlers.setReminder({ type: 'setReminder', tracker: A, condition: 'not-opened', afterDays: 1, at: null }, fromContent);
      expect((await (await db()).get('emails', A))!.opens).toBe(0);
      const alarm = (await fakeBrowser.alarms.get(`${REMINDER_ALARM_PREFIX}${A}`))!;
      vi.setSystemTime(alarm.scheduledTime);
      await fakeBrowser.alarms.onAlarm.trigger(alarm);
      await expect.poll(() => listReminders()).toEqual([]);
      expect(served).toBe(true);
      expect((await (await db()).get('emails', A))!.opens).toBe(1);
      // The open's own notification, if any; never the reminder's.
      for (const n of Object.values(await fakeBrowser.notifications.getAll()) as Array<{ title?: string }>) {
        expect(n.title).not.toMatch(/^Not opened/);
      }
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
