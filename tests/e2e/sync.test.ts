/**
 * The background's resilience in real Chromium: the server down at first
 * start (the account comes once it is up, no crash loop), and the service
 * worker killed with calls still queued (nothing is lost).
 */
import type { Worker } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { E2E_SERVER_URL } from './env';
import { killWorker, launchExtension, removeServerData, startServer, type ExtensionSession, type TestServer } from './harness';
import { PopupPage, waitForIdentity } from './pages/popup';

let server: TestServer | null = null;
let session: ExtensionSession | null = null;

afterEach(async () => {
  await session?.close();
  await server?.stop();
  if (server) removeServerData(server);
  session = null;
  server = null;
});

async function status(worker: Worker): Promise<{ state: string; retryAt: number | null; failures: number }> {
  const stored = (await worker.evaluate(() => chrome.storage.local.get('status'))) as { status?: never };
  return stored.status ?? { state: 'none', retryAt: null, failures: 0 };
}

describe('background resilience', () => {
  it('with the server down at first start it is offline, the popup says setup is not finished, it backs off, and creates the account once the server is up', async () => {
    session = await launchExtension();
    await expect.poll(async () => (await status(session!.worker)).state, { timeout: 15_000 }).toBe('offline');
    const first = await status(session.worker);
    expect(first.retryAt).toBeGreaterThan(Date.now() - 1_000);
    const popup = await PopupPage.open(session.context, session.extensionId);
    // A first run without an account is setup to finish, not an error (issue 15 item 7).
    await popup.setup.waitFor({ timeout: 15_000 });
    expect(await popup.setup.getAttribute('data-problem')).toBe('no-account');
    expect(await popup.error.count()).toBe(0);
    // No crash loop: a few seconds later it has not hammered the server (failures grow only with the backoff).
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await status(session.worker)).failures).toBeLessThanOrEqual(3);

    server = await startServer();
    const identity = await waitForIdentity(session.worker, 60_000);
    expect(identity.server).toBe(E2E_SERVER_URL);
    await popup.setup.waitFor({ state: 'detached', timeout: 15_000 });
    expect(await popup.error.count()).toBe(0);
    await popup.close();
  }, 90_000);

  it('a service worker killed with calls queued loses nothing: they are sent when it wakes', async () => {
    server = await startServer();
    session = await launchExtension();
    const identity = await waitForIdentity(session.worker);
    await server.stop();

    const popup = await PopupPage.open(session.context, session.extensionId);
    const tracker = 'queuedWhileDown0000001';
    const answer = await popup.sendToBackground({
      type: 'sent',
      email: { tracker, webmail: 'outlook', subject: 'Sent while the server was down', recipients: [], sentAt: Date.now(), threadUrl: null },
    });
    expect(answer).toEqual({ queued: true });
    await expect.poll(() => popup.stateOf('Sent while the server was down'), { timeout: 20_000 }).toBe('sent');

    await killWorker(session, popup);
    await server.restart();
    // Any extension event wakes the worker again; opening the popup sends it messages.
    await popup.reload();
    await expect
      .poll(
        async () => (await fetch(`${E2E_SERVER_URL}/v1/trackers/${tracker}`, { headers: { authorization: `Bearer ${identity.token}` } })).status,
        { timeout: 45_000, interval: 250 },
      )
      .toBe(200);
    await popup.close();
  }, 90_000);
});
