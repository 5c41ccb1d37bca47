/**
 * Replies seen from the page (issue 19 acceptance): real Chromium with the built extension and the
 * real tracking server, the Gmail and Outlook fixtures served at their real URLs. A message is sent
 * tracked with an "if no reply" reminder; a reply arrives in the fixture's inbox; viewing the inbox
 * (Gmail: the list row alone) and the open thread marks the email replied — the list mark, the thread's
 * status line and the popup row say so, with who — and its reminder is gone from the popup and
 * from IndexedDB.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchExtension, localEmail, removeServerData, startServer, storedReminder, type ExtensionSession, type TestServer } from './harness';
import { GmailPage, routeGmail } from './pages/gmail';
import { markIn } from './pages/marks';
import { pixelsIn } from './pages/outlook';
import { OutlookRibbonPage, routeOutlookRibbon } from './pages/outlook-ribbon';
import { PopupPage, waitForIdentity } from './pages/popup';

const LISTS_FIXTURE = 'tests/fixtures/gmail-2026-12-lists.html';
const GRACE = { address: 'grace@example.org', name: 'Grace Hopper' };

describe('replies seen from the page', () => {
  let server: TestServer;
  let session: ExtensionSession;
  let pixelBase: string;
  let n = 0;
  const subject = (what: string) => `${what} #${++n} ${Date.now()}`;

  beforeAll(async () => {
    server = await startServer();
    session = await launchExtension();
    await routeGmail(session.context, LISTS_FIXTURE);
    await routeOutlookRibbon(session.context);
    pixelBase = (await waitForIdentity(session.worker)).pixelBase;
  });

  afterAll(async () => {
    await session?.close();
    await server?.stop();
    if (server) removeServerData(server);
  });

  /** Chooses "remind me in 3 days if no reply" as the compose's menu does (its background message), and sees it listed. */
  async function remindIfNoReply(popup: PopupPage, tracker: string, title: string): Promise<void> {
    const answer = await popup.sendToBackground<{ ok: boolean; dueAt: number | null }>({ type: 'setReminder', tracker, condition: 'no-reply', afterDays: 3, at: null });
    expect(answer.ok).toBe(true);
    await popup.reload();
    await expect.poll(() => popup.page.locator('[data-openping="reminder"]', { hasText: title }).count()).toBe(1);
    expect(await storedReminder(session.worker, tracker)).toMatchObject({ tracker, condition: 'no-reply' });
  }

  /** The popup says replied, by whom, and the reminder is gone from its list and from IndexedDB. */
  async function repliedInPopup(popup: PopupPage, tracker: string, title: string): Promise<void> {
    await popup.reload();
    await expect.poll(() => popup.stateOf(title), { timeout: 10_000 }).toBe('replied');
    expect(await popup.row(title).textContent()).toContain(GRACE.name);
    expect(await popup.page.locator('[data-openping="reminder"]', { hasText: title }).count()).toBe(0);
    expect(await storedReminder(session.worker, tracker)).toBeNull();
    expect(await localEmail(session.worker, tracker)).toMatchObject({ repliedBy: GRACE });
  }

  it('Gmail: a reply in the inbox list marks the email replied and cancels its "if no reply" reminder; the open thread agrees', async () => {
    const gmail = await GmailPage.open(session.context, '#inbox');
    const title = subject('Replies in Gmail');
    const compose = await gmail.openCompose();
    await gmail.toggleReady(compose);
    await gmail.write(compose, { to: GRACE.address, subject: title, body: 'Tracked, with a reminder.' });
    await gmail.sendButton(compose).click();
    const [sent] = await gmail.waitSent(1);
    const tracker = pixelsIn(sent!.body, pixelBase)[0]!.tracker;
    // The "Message sent" notice's ids reach the background: the inbox row is matched by its thread id.
    await expect.poll(async () => (await localEmail(session.worker, tracker))?.threadId, { timeout: 10_000 }).toBe(sent!.thread);

    const popup = await PopupPage.open(session.context, session.extensionId);
    await remindIfNoReply(popup, tracker, title);
    expect(await popup.stateOf(title)).not.toBe('replied');

    const receive = (from: { address: string; name: string }) =>
      gmail.page.evaluate(({ thread, from }) => (window as unknown as { __sim: { receiveReply(t: string, f: unknown): void } }).__sim.receiveReply(thread, from), {
        thread: sent!.thread!,
        from,
      });
    const row = gmail.page.locator('tr.zA', { hasText: title });
    // The user's own follow-up from another device lands in the thread first: "me (2)" is no reply.
    await receive({ address: 'ada.lovelace@example.com', name: 'me' });
    expect(await row.locator('span.bx0').textContent()).toBe('2');
    await expect.poll(() => markIn(row).getAttribute('data-state'), { timeout: 10_000 }).toBe('sent');
    await new Promise((r) => setTimeout(r, 1_500)); // the background's answer, had it taken it for a reply
    expect(await markIn(row).getAttribute('data-state')).toBe('sent');
    expect((await localEmail(session.worker, tracker))?.repliedAt ?? null).toBeNull();

    // Grace answers: "me, me, Grace Hopper (3)"; the thread itself stays closed.
    await receive(GRACE);
    expect(await row.locator('span.bx0').textContent()).toBe('3');
    await expect.poll(() => markIn(row).getAttribute('data-state'), { timeout: 10_000 }).toBe('replied');
    expect(await gmail.page.locator('.adn').count()).toBe(0); // seen from the list alone
    await repliedInPopup(popup, tracker, title);

    // The open thread shows the reply too; the tracked message's status line says replied.
    await row.locator('.xS').click();
    await gmail.page.locator('.adn .gD[email="grace@example.org"]').waitFor();
    await expect.poll(() => gmail.page.locator('.adn [data-openping="mark"]').first().getAttribute('data-state'), { timeout: 10_000 }).toBe('replied');
    await gmail.page.close();
    await popup.page.close();
  });

  it('Outlook: the reply in the open conversation marks the email replied, in the popup and the inbox row, and cancels its reminder', async () => {
    const outlook = await OutlookRibbonPage.open(session.context);
    const title = subject('Replies in Outlook');
    const compose = await outlook.newMail();
    await expect.poll(() => compose.toggle().getAttribute('data-status')).toBe('ready');
    await compose.write({ to: GRACE.address, subject: title, text: 'Tracked, with a reminder.' });
    await compose.clickSend();
    await expect.poll(async () => (await outlook.sent()).length).toBe(1);
    const [sent] = await outlook.sent();
    const tracker = pixelsIn(sent!.html, pixelBase)[0]!.tracker;

    const popup = await PopupPage.open(session.context, session.extensionId);
    await remindIfNoReply(popup, tracker, title);

    // Grace answers five minutes later (Outlook shows item dates to the minute).
    await outlook.page.evaluate(({ convid, from, at }) => (window as unknown as { __sim: { receiveReply(c: string, f: unknown, at: number): void } }).__sim.receiveReply(convid, from, at), {
      convid: sent!.convid,
      from: GRACE,
      at: sent!.at + 5 * 60_000,
    });
    await outlook.row(title).click();
    await outlook.page.locator('[data-app-section="ConversationContainer"] [aria-label^="From: Grace Hopper"]').waitFor();
    await repliedInPopup(popup, tracker, title);
    // The inbox row's mark follows without a reload.
    await expect.poll(() => markIn(outlook.row(title)).getAttribute('data-state'), { timeout: 10_000 }).toBe('replied');
    await outlook.page.close();
    await popup.page.close();
  });
});
