import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchExtension, removeServerData, startServer, type ExtensionSession, type TestServer } from './harness';

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
    expect(manifest.name).toBe('OpenPing');
  });

  it('renders the popup', async () => {
    const page = await session.context.newPage();
    await page.goto(`chrome-extension://${session.extensionId}/popup.html`);
    await expect.poll(() => page.locator('[data-openping="popup"]').count()).toBe(1);
    await expect.poll(() => page.locator('h1').textContent()).toBe('OpenPing');
    await page.close();
  });
});
