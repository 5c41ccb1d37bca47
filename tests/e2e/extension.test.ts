import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchExtension, removeServerData, startServer, type ExtensionSession, type TestServer } from './harness';
import { GMAIL_URL, routeGmail } from './pages/gmail';
import { PopupPage } from './pages/popup';

describe('the built extension in real Chromium', () => {
  let server: TestServer;
  let session: ExtensionSession;

  beforeAll(async () => {
    server = await startServer();
    session = await launchExtension();
  });
  afterAll(async () => {
    await session?.close();
    await server?.stop();
    if (server) removeServerData(server);
  });

  it('starts its background service worker', async () => {
    expect(session.extensionId).toMatch(/^[a-p]{32}$/);
    const manifest = await session.worker.evaluate(() => chrome.runtime.getManifest());
    expect(manifest.manifest_version).toBe(3);
    // The manifest says __MSG_ext_name__ (locales/*.yml); Chromium answers with the localized name.
    expect(manifest.name).toBe('OpenPing');
  });

  it('renders the popup', async () => {
    const page = await session.context.newPage();
    await page.goto(`chrome-extension://${session.extensionId}/popup.html`);
    await expect.poll(() => page.locator('[data-openping="popup"]').count()).toBe(1);
    await expect.poll(() => page.locator('h1').textContent()).toBe('OpenPing');
    await page.close();
  });

  it('asks for no more than it needs: no tabs, https or a local server as optional origins (issue 17)', async () => {
    const manifest = await session.worker.evaluate(() => chrome.runtime.getManifest());
    expect(manifest.permissions).not.toContain('tabs');
    expect(manifest.optional_host_permissions).toEqual(['https://*/*', 'http://localhost/*', 'http://127.0.0.1/*']);
    expect(manifest.host_permissions).toEqual(expect.arrayContaining(['https://mail.google.com/*', 'https://outlook.live.com/*']));
  });

  it("finds the mail tab that already shows a message's thread without the tabs permission (issue 17)", async () => {
    const threadUrl = `${GMAIL_URL}#sent/FMfcgzQXpermissions`;
    await routeGmail(session.context);
    const mail = await session.context.newPage();
    await mail.goto(threadUrl);
    const popup = await PopupPage.open(session.context, session.extensionId);
    const tracker = 'permissionsTabxxxxxxxx';
    await popup.sendToBackground({
      type: 'sent',
      email: { tracker, webmail: 'gmail', subject: 'Which tab', recipients: [], sentAt: Date.now(), threadUrl },
    });
    // Counting tabs needs no permission (only their URLs do); tabs.create resolves once the tab exists.
    const tabCount = () => session.worker.evaluate(() => chrome.tabs.query({}).then((tabs) => tabs.length));
    const before = await tabCount();
    expect(await popup.sendToBackground({ type: 'openThread', tracker })).toEqual({ ok: true });
    // It focused the open tab rather than opening the thread a second time.
    expect(await tabCount()).toBe(before);
    await popup.close();
    await mail.close();
  });
});
