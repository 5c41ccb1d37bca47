/**
 * Which browser notifies (issue 21), end to end: two profiles of real Chromium, each with the built
 * extension, paired to one account on the real server. A real open of an email sent from A notifies on
 * both browsers under "every browser", only on the chosen one under "only <browser>", and on exactly one
 * under "whichever is open" — the choice made on one browser's options page, obeyed by both.
 */
import type { Page, Worker } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchExtension, localEmail, removeServerData, startServer, type ExtensionSession, type TestServer } from './harness';
import { notifications, PopupPage, waitForIdentity } from './pages/popup';

/** A person's open through Gmail's image proxy (Google AS15169, RESEARCH §1), as in notify.test.ts. */
const GMAIL_PROXY_UA = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
const GOOGLE_IP = '66.249.93.21';

let server: TestServer;
let a: ExtensionSession;
let b: ExtensionSession;
let identity: Awaited<ReturnType<typeof waitForIdentity>>;
let optionsA: Page;
let optionsB: Page;

async function optionsPage(session: ExtensionSession): Promise<Page> {
  const page = await session.context.newPage();
  await page.goto(`chrome-extension://${session.extensionId}/options.html`);
  await page.locator('[data-openping="devices"]').waitFor();
  return page;
}

beforeAll(async () => {
  server = await startServer();
  a = await launchExtension();
  b = await launchExtension();
  identity = await waitForIdentity(a.worker, 30_000);
  await waitForIdentity(b.worker, 30_000);
  optionsA = await optionsPage(a);
  await optionsA.locator('[data-action="pair-start"]').click();
  const code = (await optionsA.locator('[data-openping="pairing-code"]').textContent({ timeout: 30_000 }))!.trim();
  optionsB = await optionsPage(b);
  await optionsB.locator('input[name="pairing-code"]').fill(code);
  await optionsB.locator('[data-action="pair-join"]').click();
  // (expect.poll works only inside a test.)
  for (const deadline = Date.now() + 30_000; (await waitForIdentity(b.worker)).account !== identity.account; ) {
    if (Date.now() > deadline) throw new Error('B did not join A\'s account in time.');
    await new Promise((r) => setTimeout(r, 200));
  }
  identity = await waitForIdentity(a.worker);
}, 180_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await server?.stop();
  if (server) removeServerData(server);
});

let count = 0;
/** A tracked email sent from A (as its content script reports one), registered on the server. */
async function sentFromA(subject: string): Promise<string> {
  const tracker = `pairNotify${++count}${Date.now().toString(36)}`.padEnd(22, 'x').slice(0, 22);
  const popup = await PopupPage.open(a.context, a.extensionId);
  const answer = await popup.sendToBackground({
    type: 'sent',
    email: { tracker, webmail: 'gmail', subject, recipients: [{ name: 'Ada Lovelace', address: 'ada@example.com' }], sentAt: Date.now() - 120_000, threadUrl: null },
  });
  expect(answer).toEqual({ queued: true });
  await popup.close();
  await expect
    .poll(async () => (await fetch(`${server.url}/v1/trackers/${tracker}`, { headers: { authorization: `Bearer ${identity.token}` } })).status, { timeout: 15_000 })
    .toBe(200);
  // B has it too (its sealed blob), so both browsers know the email before it is opened.
  await expect.poll(async () => (await localEmail(b.worker, tracker))?.subject ?? null, { timeout: 30_000 }).toBe(subject);
  return tracker;
}

async function open(tracker: string): Promise<void> {
  const res = await fetch(`${server.url}/p/${identity.account}/${tracker}.gif`, { headers: { 'user-agent': GMAIL_PROXY_UA, 'x-forwarded-for': GOOGLE_IP } });
  expect(res.status).toBe(200);
}

/** The email's reminder as this browser keeps it (lib/reminders.ts), or null. */
function reminderOf(worker: Worker, tracker: string): Promise<{ dueAt: number } | null> {
  return worker.evaluate(
    (key) =>
      new Promise<{ dueAt: number } | null>((resolve, reject) => {
        const req = indexedDB.open('openping');
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const get = req.result.transaction('meta').objectStore('meta').get(key);
          get.onsuccess = () => {
            req.result.close();
            resolve((get.result as { dueAt: number } | undefined) ?? null);
          };
          get.onerror = () => reject(get.error);
        };
      }),
    `reminder:${tracker}`,
  );
}

async function alarmOf(worker: Worker, tracker: string): Promise<number | null> {
  const alarm = (await worker.evaluate((name) => chrome.alarms.get(name), `openping:remind:${tracker}`)) as { scheduledTime: number } | undefined;
  return alarm?.scheduledTime ?? null;
}

async function toA<T>(message: unknown): Promise<T> {
  const popup = await PopupPage.open(a.context, a.extensionId);
  try {
    return await popup.sendToBackground<T>(message);
  } finally {
    await popup.close();
  }
}

/** Whether a notification of this email is still waiting in the browser (decided, not yet shown or dropped). */
function waiting(worker: Worker, tracker: string): Promise<boolean> {
  return worker.evaluate(
    (key) =>
      new Promise<boolean>((resolve, reject) => {
        const req = indexedDB.open('openping');
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const get = req.result.transaction('meta').objectStore('meta').getKey(key);
          get.onsuccess = () => {
            req.result.close();
            resolve(get.result !== undefined);
          };
          get.onerror = () => reject(get.error);
        };
      }),
    `notify:${tracker}`,
  );
}

/** Waits until the browser has the open and has dealt with its notification; then whether it shows one. */
async function notified(session: ExtensionSession, tracker: string): Promise<boolean> {
  await expect.poll(async () => Number((await localEmail(session.worker, tracker))?.opens ?? 0), { timeout: 30_000 }).toBeGreaterThan(0);
  await expect.poll(() => waiting(session.worker, tracker), { timeout: 30_000 }).toBe(false);
  return `openping:${tracker}` in (await notifications(session.worker));
}

async function choose(page: Page, value: string, mode: string): Promise<void> {
  await page.reload();
  const choice = page.locator('[data-openping="notify-choice"]');
  await choice.locator(`input[name="notify-browser"][value="${value}"]`).check({ timeout: 15_000 });
  await expect.poll(() => page.locator('[data-openping="notify-choice-notice"]').getAttribute('class')).toContain('notice--ok');
  await expect.poll(() => choice.getAttribute('data-mode'), { timeout: 15_000 }).toBe(mode);
}

describe('which browser notifies, on two paired browsers', () => {
  it('every browser (the default): an open notifies on A and on B', async () => {
    const choice = optionsB.locator('[data-openping="notify-choice"]');
    await optionsB.reload();
    await expect.poll(() => choice.getAttribute('data-mode'), { timeout: 15_000 }).toBe('every');
    const tracker = await sentFromA('Every browser hears of this open');
    await open(tracker);
    expect(await notified(a, tracker)).toBe(true);
    expect(await notified(b, tracker)).toBe(true);
  }, 120_000);

  it('only A, chosen on B: the open notifies on A, B stays silent', async () => {
    const deviceA = await optionsA.locator('[data-openping="device"][data-current="true"]').getAttribute('data-device');
    expect(deviceA).toMatch(/^[0-9a-f]{22}$/);
    await choose(optionsB, `one:${deviceA}`, 'one');
    // A's options page shows the same choice: it is the account's.
    await optionsA.reload();
    await expect.poll(() => optionsA.locator(`input[name="notify-browser"][value="one:${deviceA}"]`).isChecked(), { timeout: 15_000 }).toBe(true);

    const tracker = await sentFromA('Only browser A hears of this open');
    await open(tracker);
    expect(await notified(a, tracker)).toBe(true);
    expect(await notified(b, tracker)).toBe(false);
  }, 120_000);

  it('whichever is open, chosen on A: the open notifies on exactly one of them', async () => {
    await choose(optionsA, 'once', 'once');
    const shown: string[] = [];
    for (const n of [1, 2]) {
      const tracker = await sentFromA(`One browser hears of this open (${n})`);
      await open(tracker);
      const [onA, onB] = await Promise.all([notified(a, tracker), notified(b, tracker)]);
      expect([onA, onB].filter(Boolean)).toHaveLength(1);
      shown.push(onA ? 'A' : 'B');
    }
    console.log(`[pairing-notify e2e] under "whichever is open" the notifications showed on: ${shown.join(', ')}`);
  }, 180_000);

  it('a reminder set on A reaches B and fires once, on one of them, even under every browser; dropped on B, it is gone on A', async () => {
    await choose(optionsA, 'every', 'every');
    const tracker = await sentFromA('Remind me once, on one browser');
    const set = await toA<{ ok: boolean; dueAt: number }>({ type: 'setReminder', tracker, condition: 'no-reply', afterDays: null, at: Date.now() + 6_000 });
    expect(set.ok).toBe(true);
    await expect.poll(async () => (await reminderOf(b.worker, tracker))?.dueAt ?? null, { timeout: 30_000 }).toBe(set.dueAt);
    expect(await alarmOf(b.worker, tracker)).toBe(set.dueAt);
    // Both alarms fire (an alarm that fired is gone); one browser wins the claim and shows the reminder.
    const shownOn = () => Promise.all([a, b].map(async (session) => `openping:${tracker}` in (await notifications(session.worker))));
    await expect.poll(async () => (await shownOn()).filter(Boolean).length, { timeout: 60_000 }).toBeGreaterThan(0);
    for (const session of [a, b]) await expect.poll(() => alarmOf(session.worker, tracker), { timeout: 60_000 }).toBeNull();
    // The other browser's alarm handler asks the server after its alarm is gone: give it time to (wrongly) show.
    await new Promise((r) => setTimeout(r, 3_000));
    const shown = await shownOn();
    expect(shown.filter(Boolean)).toHaveLength(1);
    console.log(`[pairing-notify e2e] the reminder showed on ${shown[0] ? 'A' : 'B'}`);

    const later = await sentFromA('Reminder dropped on the other browser');
    const next = await toA<{ ok: boolean; dueAt: number }>({ type: 'setReminder', tracker: later, condition: 'no-reply', afterDays: 3, at: null });
    await expect.poll(async () => (await reminderOf(b.worker, later))?.dueAt ?? null, { timeout: 30_000 }).toBe(next.dueAt);
    const popupB = await PopupPage.open(b.context, b.extensionId);
    expect(await popupB.sendToBackground({ type: 'dropReminder', tracker: later })).toEqual({ ok: true });
    await popupB.close();
    await expect.poll(() => reminderOf(a.worker, later), { timeout: 30_000 }).toBeNull();
    expect(await alarmOf(a.worker, later)).toBeNull();
  }, 180_000);
});
