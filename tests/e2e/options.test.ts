/** The options page in real Chromium against the real server: preferences, the setup check, CSV export, delete everything. */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_SERVER_URL } from './env';
import { launchExtension, removeServerData, startServer, type ExtensionSession, type TestServer } from './harness';
import { PopupPage, waitForIdentity } from './pages/popup';
import { waitForChecklist } from './pages/checklist';

let server: TestServer;
let session: ExtensionSession;
let page: Page;

async function openOptions(): Promise<Page> {
  const p = await session.context.newPage();
  await p.goto(`chrome-extension://${session.extensionId}/options.html`);
  await p.locator('[data-openping="options"]').waitFor();
  return p;
}

beforeAll(async () => {
  server = await startServer();
  session = await launchExtension();
  await waitForIdentity(session.worker);
  page = await openOptions();
});
afterAll(async () => {
  await session?.close();
  await server?.stop();
  if (server) removeServerData(server);
});

describe('the options page', () => {
  it('shows the configured server and the account', async () => {
    expect(await page.locator('input[name="server"]').inputValue()).toBe(E2E_SERVER_URL);
    // A fingerprint of the account, not its id (issue 15 item 5).
    await expect.poll(() => page.locator('[data-openping="account"]').textContent()).toMatch(/^Account [0-9a-f]{4}-[0-9a-f]{4}$/);
    const { identity } = (await session.worker.evaluate(() => chrome.storage.local.get('identity'))) as { identity: { account: string } };
    expect(await page.textContent('body')).not.toContain(identity.account);
  });

  it('the setup check passes every step against the https test deployment', async () => {
    // Pixels are under https://track.openping.test, routed to the test server (harness.ts): public and https.
    await page.locator('[data-action="check"]').click();
    await waitForChecklist(page);
    const results = await page
      .locator('[data-openping="check"]')
      .evaluateAll((items) => items.map((li) => [li.getAttribute('data-check'), li.getAttribute('data-result')]));
    expect(Object.fromEntries(results)).toEqual({ server: 'pass', account: 'pass', 'pixel-url': 'pass', warnings: 'pass', 'test-pixel': 'pass' });
  });

  it('saving a URL that is not http(s), or not an OpenPing server, is refused in a sentence', async () => {
    await page.locator('input[name="server"]').fill('ftp://track.example.com');
    await page.locator('[data-action="save-server"]').click();
    await expect.poll(() => page.locator('[data-openping="notice"]').textContent()).toMatch(/^Not saved: The server address must start with https:\/\/.*\.$/);
    // Same origin (already permitted), wrong path: not an OpenPing server there.
    await page.locator('input[name="server"]').fill(`${E2E_SERVER_URL}/nothing-here`);
    await page.locator('[data-action="save-server"]').click();
    await expect.poll(() => page.locator('[data-openping="notice"]').getAttribute('class'), { timeout: 10_000 }).toContain('notice--error');
    const reloaded = await openOptions();
    expect(await reloaded.locator('input[name="server"]').inputValue()).toBe(E2E_SERVER_URL);
    await reloaded.close();
    await page.locator('input[name="server"]').fill(E2E_SERVER_URL);
  });

  it('default tracking off reaches the compose switch’s identity answer', async () => {
    const box = page.locator('input[name="trackByDefault"]');
    expect(await box.isChecked()).toBe(true);
    await box.uncheck();
    await expect
      .poll(() => page.evaluate(() => chrome.runtime.sendMessage({ type: 'identity' })))
      .toMatchObject({ trackByDefault: false });
    await box.check();
    await expect
      .poll(() => page.evaluate(() => chrome.runtime.sendMessage({ type: 'identity' })))
      .toMatchObject({ trackByDefault: true });
  });

  it('keeps re-open and quiet-hour preferences', async () => {
    await page.locator('input[name="notifyReopens"]').uncheck();
    await page.locator('input[name="quiet"]').check();
    await page.locator('input[name="quietFrom"]').fill('21:30');
    await page.locator('input[name="quietFrom"]').dispatchEvent('change');
    const reloaded = await openOptions();
    expect(await reloaded.locator('input[name="notifyReopens"]').isChecked()).toBe(false);
    expect(await reloaded.locator('input[name="quietFrom"]').inputValue()).toBe('21:30');
    expect(await reloaded.locator('input[name="quietTo"]').inputValue()).toBe('07:00');
    await reloaded.close();
  });

  it('exports every tracked email as CSV', async () => {
    const popup = await PopupPage.open(session.context, session.extensionId);
    await popup.sendToBackground({
      type: 'sent',
      email: {
        tracker: 'csvExportTracker000001',
        webmail: 'gmail',
        subject: 'Offer, revised',
        recipients: [{ name: 'Ada', address: 'ada@example.com' }],
        sentAt: Date.now() - 1_000,
        threadUrl: null,
      },
    });
    await popup.close();
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-action="export"]').click()]);
    expect(download.suggestedFilename()).toMatch(/^openping-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.split('\r\n')[0]).toMatch(/^tracker,subject,recipients,/);
    expect(csv).toContain('csvExportTracker000001,"Offer, revised",Ada <ada@example.com>,gmail,');
  });

  it('deletes everything: the account on the server and the local data', async () => {
    const before = await waitForIdentity(session.worker);
    await page.locator('[data-action="delete-all"]').click();
    await page.locator('[data-action="confirm-delete-all"]').click();
    await expect.poll(() => page.locator('[data-openping="notice"]').textContent(), { timeout: 10_000 }).toContain('Everything was deleted');
    const res = await fetch(`${E2E_SERVER_URL}/v1/events`, { headers: { authorization: `Bearer ${before.token}` } });
    expect(res.status).toBe(401);
    const popup = await PopupPage.open(session.context, session.extensionId);
    await popup.empty.waitFor();
    expect(await popup.rows.count()).toBe(0);
    await popup.close();
  });
});
