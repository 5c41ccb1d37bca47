/**
 * Outlook on the web with its ribbon (tests/fixtures/outlook-live-2026-12-ribbon.html):
 * New mail, Delete and Report are Fluent split buttons like Send; the switch belongs in
 * the compose, and New mail is never a send (issue 16). Real Chromium, the built
 * extension, the real tracking server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchTracker, launchExtension, localEmail, removeServerData, startServer, type ExtensionSession, type TestServer } from './harness';
import { pixelsIn } from './pages/outlook';
import { OutlookRibbonPage, routeOutlookRibbon } from './pages/outlook-ribbon';

interface Identity {
  account: string;
  token: string;
  pixelBase: string;
}

describe('Outlook’s ribbon above a compose in the reading pane', () => {
  let server: TestServer;
  let session: ExtensionSession;
  let identity: Identity;

  beforeAll(async () => {
    server = await startServer();
    session = await launchExtension();
    await routeOutlookRibbon(session.context);
    // SPEC §6: on first start the background creates the account by itself.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const stored = await session.worker.evaluate(async () => (await chrome.storage.local.get('identity')).identity ?? null);
      if (stored) {
        identity = stored as Identity;
        break;
      }
      if (Date.now() > deadline) throw new Error('The background created no account within 15 s of its first start.');
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  afterAll(async () => {
    await session?.close();
    await server?.stop();
    if (server) removeServerData(server);
  });

  it('mounts the switch in the compose only, and New mail registers no tracker', async () => {
    const outlook = await OutlookRibbonPage.open(session.context);
    const compose = await outlook.newMail();
    await expect.poll(() => compose.toggle().getAttribute('aria-checked')).toBe('true');
    // Exactly one switch on the page, inside the compose; none beside New mail.
    expect(await outlook.page.locator('[data-openping="toggle"]').count()).toBe(1);
    expect(await outlook.page.locator('#ribbon [data-openping="toggle"]').count()).toBe(0);
    await compose.write({ to: 'grace.hopper@example.org', subject: 'Ribbon check', text: 'Hello.' });
    const html = await compose.body().innerHTML();
    const pixels = pixelsIn(html, identity.pixelBase);
    expect(pixels).toHaveLength(1);
    const tracker = pixels[0]!.tracker;
    await expect.poll(async () => (await localEmail(session.worker, tracker))?.tracking, { timeout: 10_000 }).toBe('armed');

    // New mail while the draft is open: if it counted as Send, the tracker would be recorded as sent.
    await outlook.newMailButton().click();
    // Turning the switch off withdraws an armed tracker (local record and server); a sent one would stay.
    await compose.toggle().click();
    await expect.poll(async () => (await fetchTracker(identity.token, tracker)).status, { timeout: 10_000, interval: 200 }).toBe(404);
    expect(await localEmail(session.worker, tracker)).toBeNull();
    expect(await outlook.sent()).toEqual([]);
    await outlook.page.close();
  });
});
