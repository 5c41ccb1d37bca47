/**
 * Status marks in the mailbox itself (issue 16, SPEC §6): real Chromium with the built
 * extension and the real tracking server, the Gmail and Outlook fixtures with message lists.
 * A tracked message's Sent row shows `sent`; a Gmail-proxy open turns it to `opened` without a
 * reload; the card opens by keyboard and its Details opens the popup's detail view; an
 * untracked message's row has no mark. Mute on the card (issue 17): the detail view shows the
 * message muted and its first open notifies nothing, while an unmuted one sent beside it does.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TIMING } from '../../backend/classify/data/timing';
import { E2E_SERVER_URL } from './env';
import { launchExtension, localEmail, removeServerData, startServer, type ExtensionSession, type TestServer } from './harness';
import { GOOGLE_PROXY_IP, GOOGLE_PROXY_UA, GmailPage, routeGmail } from './pages/gmail';
import { cardIn, detailsIn, markIn, muteIn } from './pages/marks';
import { notificationTexts, notifications, recordNotificationTexts, waitForIdentity } from './pages/popup';
import { pixelsIn } from './pages/outlook';
import { OutlookRibbonPage, routeOutlookRibbon } from './pages/outlook-ribbon';

interface Identity {
  account: string;
  token: string;
  pixelBase: string;
}

const LISTS_FIXTURE = 'tests/fixtures/gmail-2026-12-lists.html';

describe('list marks and thread status lines', () => {
  let server: TestServer;
  let session: ExtensionSession;
  let identity: Identity;
  let n = 0;
  const subject = (what: string) => `${what} #${++n} ${Date.now()}`;

  beforeAll(async () => {
    server = await startServer();
    session = await launchExtension();
    await routeGmail(session.context, LISTS_FIXTURE);
    await routeOutlookRibbon(session.context);
    identity = await waitForIdentity(session.worker);
  });

  afterAll(async () => {
    await session?.close();
    await server?.stop();
    if (server) removeServerData(server);
  });

  /**
   * A person opening the message in Gmail: Google's image proxy fetches the pixel. The server
   * takes a fetch within 5 s of the send for an automatic check (backend/classify/data/timing.ts
   * `tooFast`), so the open comes after that, as any reader's would.
   */
  async function gmailProxyOpen(tracker: string): Promise<number> {
    const sentAt = (await localEmail(session.worker, tracker))?.sentAt as number;
    const early = sentAt + 6_000 - Date.now();
    if (early > 0) await new Promise((r) => setTimeout(r, early));
    const res = await fetch(`${E2E_SERVER_URL}/p/${identity.account}/${tracker}.gif`, {
      headers: { 'user-agent': GOOGLE_PROXY_UA, 'x-forwarded-for': GOOGLE_PROXY_IP },
    });
    expect(res.status).toBe(200);
    return Date.now();
  }

  /**
   * Opening the thread is the sender's own view: the extension reports it, and the server re-labels as
   * `self` every fetch from TIMING.selfBefore before it (backend/classify/index.ts). An open just before the
   * view would rightly turn into the sender's own — so the thread is opened once that window has passed.
   */
  async function pastOwnViewWindow(openedAt: number): Promise<void> {
    const wait = openedAt + TIMING.selfBefore.ms + 1_000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }

  /** Keyboard: focus reaches the mark, its card shows; Tab reaches Details; Enter opens the detail view of `tracker`. */
  async function detailsByKeyboard(page: Page, mark: ReturnType<typeof markIn>, tracker: string): Promise<void> {
    await mark.focus();
    await expect.poll(() => cardIn(mark).isVisible()).toBe(true);
    expect(await cardIn(mark).textContent()).toContain('Opened 1×');
    await page.keyboard.press('Tab');
    await expect.poll(() => detailsIn(mark).evaluate((el) => el.getRootNode() instanceof ShadowRoot && (el.getRootNode() as ShadowRoot).activeElement === el)).toBe(true);
    const opened = session.context.waitForEvent('page', { timeout: 10_000 });
    await page.keyboard.press('Enter');
    const detail = await opened;
    expect(detail.url()).toContain(`/popup.html?tracker=${tracker}`);
    await detail.locator(`[data-openping="detail"]`).waitFor({ timeout: 10_000 });
    await detail.close();
  }

  it('Gmail: the Sent row shows sent, then opened without a reload; card and Details by keyboard; untracked rows unmarked; thread line', async () => {
    const gmail = await GmailPage.open(session.context, '#inbox');
    const title = subject('Marks in Gmail');
    const compose = await gmail.openCompose();
    await gmail.toggleReady(compose);
    await gmail.write(compose, { to: 'grace@example.org', subject: title, body: 'Tracked.' });
    await gmail.sendButton(compose).click();
    const [tracked] = await gmail.waitSent(1);
    const tracker = pixelsIn(tracked!.body, identity.pixelBase)[0]!.tracker;
    // The notice's ids reach the background (then the row matches by id, not by subject).
    const untitled = subject('Not tracked');
    const plain = await gmail.openCompose();
    await gmail.toggleReady(plain);
    await gmail.toggle(plain).click();
    await expect.poll(() => gmail.toggle(plain).getAttribute('aria-checked')).toBe('false');
    await gmail.write(plain, { to: 'grace@example.org', subject: untitled, body: 'Plain.' });
    await gmail.sendButton(plain).click();
    await gmail.waitSent(2);

    await gmail.page.reload();
    await gmail.page.evaluate(() => (location.hash = '#sent'));
    const row = gmail.page.locator('tr.zA', { hasText: title });
    const mark = markIn(row);
    await expect.poll(() => mark.getAttribute('data-state'), { timeout: 10_000 }).toBe('sent');
    expect(await mark.getAttribute('data-opens')).toBe('0');
    expect(await markIn(gmail.page.locator('tr.zA', { hasText: untitled })).count()).toBe(0);

    const openedAt = await gmailProxyOpen(tracker);
    await expect.poll(() => mark.getAttribute('data-state'), { timeout: 10_000, interval: 100 }).toBe('opened');
    expect(await mark.getAttribute('data-opens')).toBe('1');
    expect(await markIn(gmail.page.locator('tr.zA')).count()).toBe(1);
    await detailsByKeyboard(gmail.page, mark, tracker);

    // The open thread: a status line on the tracked message.
    await pastOwnViewWindow(openedAt);
    await row.locator('.xS').click();
    const line = gmail.page.locator('.adn [data-openping="mark"]');
    await expect.poll(() => line.getAttribute('data-state'), { timeout: 10_000 }).toBe('opened');
    expect(await line.textContent()).toBeFalsy(); // its words are in its shadow root
    expect(await line.locator('span').first().textContent()).toMatch(/^Opened 1× — last .*via Gmail/);
    await gmail.page.close();
  });

  it('Outlook: the Sent Items row shows sent, then opened without a reload; card and Details by keyboard; untracked rows unmarked', async () => {
    const outlook = await OutlookRibbonPage.open(session.context);
    const title = subject('Marks in Outlook');
    const compose = await outlook.newMail();
    await expect.poll(() => compose.toggle().getAttribute('data-status')).toBe('ready');
    await compose.write({ to: 'grace.hopper@example.org', subject: title, text: 'Tracked.' });
    await compose.clickSend();
    await expect.poll(async () => (await outlook.sent()).length).toBe(1);
    const tracker = pixelsIn((await outlook.sent())[0]!.html, identity.pixelBase)[0]!.tracker;
    const untitled = subject('Outlook untracked');
    const plain = await outlook.newMail();
    await expect.poll(() => plain.toggle().getAttribute('aria-checked')).toBe('true');
    await plain.toggle().click();
    await expect.poll(() => plain.toggle().getAttribute('aria-checked')).toBe('false');
    await plain.write({ to: 'grace.hopper@example.org', subject: untitled, text: 'Plain.' });
    await plain.clickSend();
    await expect.poll(async () => (await outlook.sent()).length).toBe(2);

    await outlook.page.reload();
    await outlook.openSentItems();
    const mark = markIn(outlook.row(title));
    await expect.poll(() => mark.getAttribute('data-state'), { timeout: 10_000 }).toBe('sent');
    expect(await markIn(outlook.row(untitled)).count()).toBe(0);

    await gmailProxyOpen(tracker);
    await expect.poll(() => mark.getAttribute('data-state'), { timeout: 10_000, interval: 100 }).toBe('opened');
    expect(await mark.getAttribute('data-opens')).toBe('1');
    await detailsByKeyboard(outlook.page, mark, tracker);
    // A click on the row still opens it (the mark never blocks the row).
    await outlook.row(title).click();
    await outlook.page.locator('[data-app-section="ConversationContainer"]').waitFor();
    await outlook.page.close();
  });

  it('Gmail: Mute on the card, by keyboard — the detail view shows it muted, and its first open notifies nothing', async () => {
    await recordNotificationTexts(session.worker);
    const gmail = await GmailPage.open(session.context, '#inbox');
    const mutedTitle = subject('Muted from the card');
    const controlTitle = subject('Not muted');
    // The fixture keeps what earlier tests sent.
    const before = (await gmail.sent()).length;
    for (const [i, title] of [mutedTitle, controlTitle].entries()) {
      const compose = await gmail.openCompose();
      await gmail.toggleReady(compose);
      await gmail.write(compose, { to: 'grace@example.org', subject: title, body: 'Tracked.' });
      await gmail.sendButton(compose).click();
      await gmail.waitSent(before + i + 1);
    }
    const sent = (await gmail.waitSent(before + 2)).slice(before);
    expect(sent.map((m) => m.subject)).toEqual([mutedTitle, controlTitle]);
    const muted = pixelsIn(sent[0]!.body, identity.pixelBase)[0]!.tracker;
    const control = pixelsIn(sent[1]!.body, identity.pixelBase)[0]!.tracker;
    expect(muted).not.toBe(control);

    await gmail.page.reload();
    await gmail.page.evaluate(() => (location.hash = '#sent'));
    const mark = markIn(gmail.page.locator('tr.zA', { hasText: mutedTitle }));
    await expect.poll(() => mark.getAttribute('data-state'), { timeout: 10_000 }).toBe('sent');
    expect(await mark.getAttribute('aria-label')).toBe('OpenPing status: Sent — no open yet');

    // Keyboard only: the mark, Tab to Details, Tab to Mute, Enter.
    await mark.focus();
    await expect.poll(() => cardIn(mark).isVisible()).toBe(true);
    await gmail.page.keyboard.press('Tab');
    await gmail.page.keyboard.press('Tab');
    await expect.poll(() => muteIn(mark).evaluate((el) => (el.getRootNode() as ShadowRoot).activeElement === el)).toBe(true);
    expect(await muteIn(mark).textContent()).toBe('Mute notifications');
    await gmail.page.keyboard.press('Enter');
    await expect.poll(() => muteIn(mark).textContent()).toBe('Notify me again');
    expect(await cardIn(mark).textContent()).toContain('Notifications muted');
    await expect.poll(() => mark.getAttribute('aria-label')).toBe('OpenPing status: Sent — no open yet · Notifications muted');
    expect(await mark.getAttribute('data-muted')).toBe('');
    expect((await localEmail(session.worker, muted))?.muted).toBe(true);

    // The popup's detail view says so, and offers to notify again.
    const detail = await session.context.newPage();
    await detail.goto(`chrome-extension://${session.extensionId}/popup.html?tracker=${muted}`);
    await detail.locator('[data-openping="detail"]').waitFor({ timeout: 10_000 });
    expect(await detail.locator('[data-openping="muted"]').isVisible()).toBe(true);
    expect(await detail.locator('[data-action="unmute"]').count()).toBe(1);
    await detail.close();

    // Both are opened; once the unmuted one's notification is up, one decided for the muted one would be too.
    await gmailProxyOpen(muted);
    await expect.poll(() => mark.getAttribute('data-state'), { timeout: 10_000, interval: 100 }).toBe('opened');
    await gmailProxyOpen(control);
    await expect
      .poll(async () => Object.keys(await notifications(session.worker)), { timeout: 10_000, interval: 100 })
      .toContain(`openping:${control}`);
    expect(Object.keys(await notifications(session.worker))).not.toContain(`openping:${muted}`);
    expect(Object.keys(await notificationTexts(session.worker))).not.toContain(`openping:${muted}`);
    await gmail.page.close();
  });
});
