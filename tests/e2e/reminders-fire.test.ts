/**
 * Follow-up reminders end to end (issue 19 item 2, acceptance): real Chromium with the built
 * extension, the real tracking server, the Gmail and Outlook fixtures at their real URLs.
 * A message is sent tracked with a reminder chosen in the real menu beside the Track switch;
 * then the background's clock is moved a day on (Date.now replaced in the service worker
 * through the test's CDP access; the extension holds no clock of its own) and the reminder's
 * own chrome.alarms alarm rings. It shows as a real notification with the right words, and its
 * click (the background's onClicked listener, reached through the e2e build's test hook: Chrome
 * has no API to click a notification) focuses or opens the thread's URL. A reminder "if not
 * opened" is dropped, without a notification, once a Gmail-proxy open reached the server.
 */
import type { Locator, Worker } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations } from './axe';
import { E2E_SERVER_URL } from './env';
import { launchExtension, localEmail, removeServerData, startServer, storedReminder, type ExtensionSession, type TestServer } from './harness';
import { GOOGLE_PROXY_IP, GOOGLE_PROXY_UA, GmailPage, routeGmail } from './pages/gmail';
import { OutlookPage, pixelsIn, routeOutlook } from './pages/outlook';
import { notificationTexts, notifications, recordNotificationTexts, waitForIdentity } from './pages/popup';

const DAY = 24 * 60 * 60_000;
const REMINDER_ALARM = 'openping:remind:';
const RECIPIENT = 'ada.lovelace@example.org';

let server: TestServer;
let session: ExtensionSession;
let identity: Awaited<ReturnType<typeof waitForIdentity>>;
let n = 0;
const subject = (what: string) => `${what} #${++n} ${Date.now()}`;

/** Moves the service worker's clock `offsetMs` on from the real one (0: back to real time). */
async function setWorkerClock(worker: Worker, offsetMs: number): Promise<void> {
  await worker.evaluate((offset) => {
    const g = globalThis as unknown as { __realNow?: () => number };
    g.__realNow ??= Date.now.bind(Date);
    const real = g.__realNow;
    Date.now = offset === 0 ? real : () => real() + offset;
  }, offsetMs);
}

async function reminderAlarm(tracker: string): Promise<{ scheduledTime: number } | null> {
  return (await session.worker.evaluate((name) => chrome.alarms.get(name), `${REMINDER_ALARM}${tracker}`)) ?? null;
}

/**
 * The reminder's time has come: the worker's clock jumps to just after it, and the reminder's own
 * alarm is set to ring now (Chrome's alarms run on the real clock). The clock goes back to real time
 * once `until` holds.
 */
async function ringReminder(tracker: string, until: () => Promise<unknown>): Promise<void> {
  const alarm = await reminderAlarm(tracker);
  expect(alarm, 'the reminder has an alarm').not.toBeNull();
  await setWorkerClock(session.worker, alarm!.scheduledTime - Date.now() + 1_000);
  try {
    await session.worker.evaluate((name) => chrome.alarms.create(name, { when: (globalThis as unknown as { __realNow: () => number }).__realNow() + 200 }), `${REMINDER_ALARM}${tracker}`);
    await until();
  } finally {
    await setWorkerClock(session.worker, 0);
  }
}

/**
 * A person opens the message in Gmail: Google's image proxy fetches the pixel from the real server,
 * after the 5 s in which the server takes a fetch for an automatic check (TIMING.tooFast).
 */
async function gmailProxyOpen(tracker: string): Promise<void> {
  const sentAt = (await localEmail(session.worker, tracker))?.sentAt as number;
  const early = sentAt + 6_000 - Date.now();
  if (early > 0) await new Promise((r) => setTimeout(r, early));
  const res = await fetch(`${E2E_SERVER_URL}/p/${identity.account}/${tracker}.gif`, {
    headers: { 'user-agent': GOOGLE_PROXY_UA, 'x-forwarded-for': GOOGLE_PROXY_IP },
  });
  expect(res.status).toBe(200);
  // The background learns of it from the server (its live poll), as it would of any open.
  await expect.poll(async () => (await localEmail(session.worker, tracker))?.opens).toBe(1);
  // The open's own notification carries the same id a reminder's does: wait for it and put it away.
  const id = `openping:${tracker}`;
  // (Shown, not only asked for: a clear before create() has finished would find nothing to clear.)
  await expect.poll(async () => Object.keys(await notifications(session.worker))).toContain(id);
  await session.worker.evaluate(async (nid) => {
    await chrome.notifications.clear(nid);
    delete (globalThis as unknown as { __openpingShown: Record<string, unknown> }).__openpingShown[nid];
  }, id);
  await expect.poll(async () => Object.keys(await notifications(session.worker))).not.toContain(id);
}

/** Chooses a reminder in the real menu beside the Track switch: "Remind me in N days" and its condition. */
async function chooseReminder(compose: Locator, days: '1' | '3' | '7', condition: 'no-reply' | 'not-opened'): Promise<void> {
  const when = compose.locator('[data-openping="remind-when"]');
  await expect.poll(() => when.getAttribute('aria-label')).toBeTruthy();
  await when.selectOption(days);
  await compose.locator('[data-openping="remind-if"]').selectOption(condition);
}

interface Sent {
  tracker: string;
  sentAt: number;
  threadUrl: string;
}

/** One fixture: sends a tracked message with a reminder chosen in its menu. */
interface Webmail {
  name: 'Gmail' | 'Outlook';
  send(title: string, condition: 'no-reply' | 'not-opened'): Promise<Sent>;
}

async function recorded(tracker: string): Promise<Sent> {
  await expect.poll(async () => (await localEmail(session.worker, tracker))?.sentAt ?? null).not.toBeNull();
  const local = (await localEmail(session.worker, tracker))!;
  return { tracker, sentAt: local.sentAt as number, threadUrl: local.threadUrl as string };
}

const gmail: Webmail = {
  name: 'Gmail',
  async send(title, condition) {
    const page = await GmailPage.open(session.context);
    const compose = await page.openCompose();
    await page.toggleReady(compose);
    await page.write(compose, { to: RECIPIENT, subject: title, body: 'Numbers attached.' });
    await chooseReminder(compose, '1', condition);
    const before = (await page.sent()).length;
    await page.sendButton(compose).click();
    const sent = await page.waitSent(before + 1);
    const body = sent[sent.length - 1]!.body;
    const tracker = pixelsIn(body, identity.pixelBase)[0]!.tracker;
    return recorded(tracker);
  },
};

const outlook: Webmail = {
  name: 'Outlook',
  async send(title, condition) {
    const page = await OutlookPage.open(session.context, 'outlook.live.com');
    const compose = await page.newMail();
    await expect.poll(() => compose.toggle().getAttribute('aria-checked')).toBe('true');
    await compose.write({ to: RECIPIENT, subject: title, text: 'Numbers attached.' });
    await chooseReminder(compose.root, '1', condition);
    await compose.clickSend();
    await expect.poll(() => page.sentWithSubject(title)).toBeTruthy();
    const tracker = pixelsIn((await page.sentWithSubject(title))!.html, identity.pixelBase)[0]!.tracker;
    return recorded(tracker);
  },
};

beforeAll(async () => {
  server = await startServer();
  session = await launchExtension();
  await routeGmail(session.context);
  await routeOutlook(session.context);
  identity = await waitForIdentity(session.worker);
  await recordNotificationTexts(session.worker);
});

afterAll(async () => {
  await session?.close();
  await server?.stop();
  if (server) removeServerData(server);
});

describe.each([gmail, outlook])('reminders in $name', (webmail) => {
  it('"in 1 day, if no reply": a day later it notifies with who, what and the opens, and its click shows the thread', async () => {
    const title = subject('Q3 budget');
    const sent = await webmail.send(title, 'no-reply');
    // Due one day after the send, on its own alarm.
    await expect.poll(async () => (await storedReminder(session.worker, sent.tracker))?.dueAt).toBe(sent.sentAt + DAY);
    expect((await storedReminder(session.worker, sent.tracker))!.condition).toBe('no-reply');
    expect((await reminderAlarm(sent.tracker))!.scheduledTime).toBe(sent.sentAt + DAY);
    // Read once: an open does not cancel "if no reply", and the notification says when it was.
    await gmailProxyOpen(sent.tracker);
    // The background's clock runs a day ahead: the open was yesterday, by its weekday.
    const weekday = new Date().toLocaleDateString('en', { weekday: 'long' });

    const id = `openping:${sent.tracker}`;
    await ringReminder(sent.tracker, () => expect.poll(async () => Object.keys(await notifications(session.worker))).toContain(id));
    expect((await notificationTexts(session.worker))[id]).toMatchObject({
      title: `No reply from ${RECIPIENT}`,
      message: `“${title}” — opened once, on ${weekday}`,
    });

    // The click: the thread's URL, in a tab of its own or the one that shows it, in front.
    await session.worker.evaluate((nid) => (globalThis as unknown as { __openpingNotificationClicked: (id: string) => Promise<void> }).__openpingNotificationClicked(nid), id);
    await expect
      .poll(async () => {
        const active = await session.worker.evaluate(() => chrome.tabs.query({ active: true, lastFocusedWindow: true }));
        return active.map((t) => t.url ?? t.pendingUrl);
      })
      .toEqual([sent.threadUrl]);
    expect(Object.keys(await notifications(session.worker))).not.toContain(id);
    await expect.poll(() => session.context.pages().some((p) => p.url() === sent.threadUrl)).toBe(true);
    const page = session.context.pages().find((p) => p.url() === sent.threadUrl);
    await page!.close();
  });

  it('"in 1 day, if not opened": a Gmail-proxy open before the time drops it without a notification', async () => {
    const title = subject('Offsite');
    const sent = await webmail.send(title, 'not-opened');
    await expect.poll(async () => (await storedReminder(session.worker, sent.tracker))?.condition).toBe('not-opened');
    await gmailProxyOpen(sent.tracker);
    // Nothing cancels it before its time: the open is checked when it comes due.
    expect(await storedReminder(session.worker, sent.tracker)).not.toBeNull();

    await ringReminder(sent.tracker, () => expect.poll(() => storedReminder(session.worker, sent.tracker)).toBeNull());
    expect(await reminderAlarm(sent.tracker)).toBeNull();
    expect(Object.keys(await notifications(session.worker))).not.toContain(`openping:${sent.tracker}`);
    expect(Object.keys(await notificationTexts(session.worker))).not.toContain(`openping:${sent.tracker}`);
  });
});

describe('the date choice in the real menu', () => {
  it('with the keyboard: "On a date…", a day typed into the native date field, sent; due at 9:00 local that day; no axe violation', async () => {
    const page = await GmailPage.open(session.context);
    const compose = await page.openCompose();
    await page.toggleReady(compose);
    const title = subject('Contract renewal');
    await page.write(compose, { to: RECIPIENT, subject: title, body: 'See the draft.' });

    const when = compose.locator('[data-openping="remind-when"]');
    await when.focus();
    await page.page.keyboard.press('End'); // the last choice, "On a date…"
    const field = compose.locator('[data-openping="remind-date"]');
    await field.waitFor();
    expect(await field.getAttribute('aria-label')).toBe('Reminder date');
    const today = new Date();
    const iso = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    expect(await field.getAttribute('min')).toBe(iso(new Date(today.getFullYear(), today.getMonth(), today.getDate() + 1)));

    // Today is refused: the field says so.
    await page.page.keyboard.press('Tab');
    await expect.poll(() => field.evaluate((el) => el === (el.getRootNode() as ShadowRoot).activeElement)).toBe(true);
    const type = async (d: Date) => {
      // Chromium's en-US date field: month, day, year, each segment moving on by itself.
      await page.page.keyboard.type(`${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}${d.getFullYear()}`);
      await page.page.keyboard.press('Tab'); // leaving the field commits it (change)
    };
    await type(today);
    await expect.poll(() => field.getAttribute('aria-invalid')).toBe('true');
    expect(await compose.locator('[data-openping="remind-error"][role="alert"]').textContent()).toBe('Choose a day from tomorrow to a year from now');
    expect(await axeViolations(page.page, { include: [['openping-toggle', '[data-openping="remind"]']] })).toEqual([]);

    const day = new Date(today.getFullYear(), today.getMonth(), today.getDate() + 4);
    await field.focus();
    await type(day);
    await expect.poll(() => field.getAttribute('aria-invalid')).toBeNull();
    expect(await field.inputValue()).toBe(iso(day));
    expect(await axeViolations(page.page, { include: [['openping-toggle', '[data-openping="remind"]']] })).toEqual([]);

    const before = (await page.sent()).length;
    await page.sendButton(compose).click();
    const sent = await page.waitSent(before + 1);
    const tracker = pixelsIn(sent[sent.length - 1]!.body, identity.pixelBase)[0]!.tracker;
    const nine = new Date(day.getFullYear(), day.getMonth(), day.getDate(), 9).getTime();
    await expect.poll(async () => (await storedReminder(session.worker, tracker))?.dueAt).toBe(nine);
    expect((await reminderAlarm(tracker))!.scheduledTime).toBe(nine);
    await page.page.close();
  });
});

describe('in a German browser', () => {
  let english: { session: ExtensionSession; identity: typeof identity };
  beforeAll(async () => {
    // The helpers above act on `session` and `identity`: this block points them at a German browser.
    english = { session, identity };
    session = await launchExtension({ language: 'de' });
    await routeGmail(session.context);
    identity = await waitForIdentity(session.worker);
    await recordNotificationTexts(session.worker);
  });
  afterAll(async () => {
    await session?.close();
    ({ session, identity } = english);
  });

  it('the menu and the reminder speak German: "In 1 Tag erinnern", "Keine Antwort von …", "„…“ – keine Öffnung gesehen"', async () => {
    const page = await GmailPage.open(session.context);
    const compose = await page.openCompose();
    await page.toggleReady(compose);
    const when = compose.locator('[data-openping="remind-when"]');
    expect(await when.getAttribute('aria-label')).toBe('Erinnerung zum Nachfassen');
    expect(await when.locator('option').allTextContents()).toEqual([
      'Keine Erinnerung',
      'In 1 Tag erinnern',
      'In 3 Tagen erinnern',
      'In 7 Tagen erinnern',
      'An einem Datum …',
    ]);
    await page.page.close();

    const title = subject('Q3 budget');
    const sent = await gmail.send(title, 'no-reply');
    const id = `openping:${sent.tracker}`;
    await ringReminder(sent.tracker, () => expect.poll(async () => Object.keys(await notificationTexts(session.worker))).toContain(id));
    expect((await notificationTexts(session.worker))[id]).toMatchObject({
      title: `Keine Antwort von ${RECIPIENT}`,
      message: `„${title}“ – keine Öffnung gesehen`,
    });
  });
});
