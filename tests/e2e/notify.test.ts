/**
 * Real Chromium with the built extension, against the real tracking server:
 * a real open notifies within seconds and shows as `opened`; an Apple Mail
 * Privacy Protection fetch shows as `delivered` and never notifies; the own
 * pixel is blocked in the user's browser.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_SERVER_URL } from './env';
import { launchExtension, removeServerData, startServer, type ExtensionSession, type TestServer } from './harness';
import { PopupPage, notificationTexts, notifications, recordNotificationTexts, waitForIdentity } from './pages/popup';

const GMAIL_PROXY_UA = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
/** A Google address (AS15169, 66.249.64.0/19 — RESEARCH §1). */
const GOOGLE_IP = '66.249.93.21';
/** Apple MPP: bare `Mozilla/5.0` from iCloud Private Relay egress (Akamai AS36183, RESEARCH §2). */
const APPLE_MPP_UA = 'Mozilla/5.0';
const PRIVATE_RELAY_IP = '172.224.9.20';

let server: TestServer;
let session: ExtensionSession;
let popup: PopupPage;
let identity: Awaited<ReturnType<typeof waitForIdentity>>;

function newTracker(label: string): string {
  return `${label}${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`.replace(/[^A-Za-z0-9]/g, '').slice(0, 22).padEnd(22, 'x');
}

async function registerSent(tracker: string, subject: string): Promise<void> {
  const answer = await popup.sendToBackground<{ queued: boolean }>({
    type: 'sent',
    email: {
      tracker,
      webmail: 'gmail',
      subject,
      recipients: [{ name: 'Ada Lovelace', address: 'ada@example.com' }],
      sentAt: Date.now() - 120_000,
      threadUrl: 'https://mail.google.com/mail/u/0/#sent/FMfcgzQX',
    },
  });
  expect(answer).toEqual({ queued: true });
  // The outbox sends the registration in the background; wait until the server has it.
  await expect
    .poll(
      async () => (await fetch(`${E2E_SERVER_URL}/v1/trackers/${tracker}`, { headers: { authorization: `Bearer ${identity.token}` } })).status,
      { timeout: 10_000, interval: 100 },
    )
    .toBe(200);
}

async function fetchPixel(tracker: string, ua: string, ip: string): Promise<void> {
  const res = await fetch(`${E2E_SERVER_URL}/p/${identity.account}/${tracker}.gif`, {
    headers: { 'user-agent': ua, 'x-forwarded-for': ip },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('image/gif');
}

beforeAll(async () => {
  server = await startServer();
  session = await launchExtension();
  identity = await waitForIdentity(session.worker);
  await recordNotificationTexts(session.worker);
  popup = await PopupPage.open(session.context, session.extensionId);
});
afterAll(async () => {
  await popup?.close();
  await session?.close();
  await server?.stop();
  if (server) removeServerData(server);
});

describe('notifications and states end to end', () => {
  it('created its account on the configured server and installed the self-open block rule', async () => {
    expect(identity.server).toBe(E2E_SERVER_URL);
    expect(identity.pixelBase).toMatch(/^https:\/\/track\.openping\.test\/p\/[A-Za-z0-9_-]{16,43}\/$/);
    const rules = (await session.worker.evaluate(() => chrome.declarativeNetRequest.getDynamicRules())) as Array<{
      condition: { urlFilter?: string; resourceTypes?: string[] };
      action: { type: string };
    }>;
    expect(rules).toHaveLength(1);
    expect(rules[0]!.action.type).toBe('block');
    expect(rules[0]!.condition.urlFilter).toBe(`track.openping.test/p/${identity.account}/`);
    expect(rules[0]!.condition.resourceTypes).toContain('image');
  });

  it('a Gmail image-proxy open notifies within 10 s and the popup shows it opened', async () => {
    const tracker = newTracker('gmailopen');
    await registerSent(tracker, 'Quarterly plan for Ada');
    const t0 = Date.now();
    await fetchPixel(tracker, GMAIL_PROXY_UA, GOOGLE_IP);
    await expect
      .poll(async () => Object.keys(await notifications(session.worker)), { timeout: 10_000, interval: 100 })
      .toContain(`openping:${tracker}`);
    const latency = Date.now() - t0;
    expect(latency).toBeLessThan(10_000);
    const shown = (await notificationTexts(session.worker))[`openping:${tracker}`]!;
    // SPEC §6: the title says "Opened", the message holds the subject; each says its part once (issue 17 item 7).
    expect(shown.title).toBe('Opened by Ada Lovelace');
    expect(shown.message).toBe('“Quarterly plan for Ada”\nvia Gmail\'s image proxy');

    await popup.reload();
    await expect.poll(() => popup.stateOf('Quarterly plan for Ada'), { timeout: 20_000 }).toBe('opened');
    await expect.poll(() => popup.row('Quarterly plan for Ada').textContent()).toContain('Opened 1×');
  });

  it('an Apple Mail Privacy Protection fetch shows delivered to Apple Mail and never notifies', async () => {
    const tracker = newTracker('applempp');
    await registerSent(tracker, 'Invoice 4711 for Apple user');
    await fetchPixel(tracker, APPLE_MPP_UA, PRIVATE_RELAY_IP);
    await expect.poll(() => popup.stateOf('Invoice 4711 for Apple user'), { timeout: 10_000, interval: 200 }).toBe('delivered');
    // SPEC §1: the state stays delivered; the sub-state says Apple hides whether it was read.
    expect(await popup.row('Invoice 4711 for Apple user').getAttribute('data-substate')).toBe('apple-mpp');
    expect(await popup.row('Invoice 4711 for Apple user').textContent()).toContain('Apple hides whether it was read');
    // A real open afterwards: once its notification is up, any notification decided for the MPP hit would be too.
    const control = newTracker('control');
    await registerSent(control, 'Control message');
    await fetchPixel(control, GMAIL_PROXY_UA, GOOGLE_IP);
    await expect
      .poll(async () => Object.keys(await notifications(session.worker)), { timeout: 10_000, interval: 100 })
      .toContain(`openping:${control}`);
    expect(Object.keys(await notifications(session.worker))).not.toContain(`openping:${tracker}`);
    expect(Object.keys(await notificationTexts(session.worker))).not.toContain(`openping:${tracker}`);

    await popup.row('Invoice 4711 for Apple user').locator('button').click();
    await expect.poll(() => popup.hits.count()).toBe(1);
    expect(await popup.hits.first().getAttribute('data-kind')).toBe('prefetch');
    expect(await popup.hits.first().getAttribute('class')).toContain('hit--machine');
    expect(await popup.detail.getAttribute('data-substate')).toBe('apple-mpp');
    expect(await popup.detail.textContent()).toContain('Apple hides whether it was read');
    await popup.page.getByText('← All emails').click();
  });

  it('the user’s own browser never fetches the own pixel, directly or through Gmail’s proxy URL', async () => {
    const tracker = newTracker('ownview');
    await registerSent(tracker, 'My own sent view');
    const page = await session.context.newPage();
    const pixel = `${identity.pixelBase}${tracker}.gif`;
    // How Gmail shows a remote image in a message view (RESEARCH §1): its proxy, the original URL in the fragment.
    const proxied = `https://ci3.googleusercontent.com/meips/ADKq_NbXyz=s0-d-e1-ft#${pixel}`;
    const failed: string[] = [];
    page.on('requestfailed', (r) => failed.push(`${r.url()} ${r.failure()?.errorText}`));
    await session.context.route('https://mail.google.com/**', (route) =>
      route.fulfill({
        contentType: 'text/html',
        body:
          `<!doctype html><title>Sent</title><img id="direct" src="${pixel}" width="1" height="1" alt="">` +
          `<img id="proxied" src="${proxied}" width="1" height="1" alt="">`,
      }),
    );
    await page.goto('https://mail.google.com/mail/u/0/#sent');
    await page.waitForLoadState('load');
    await expect.poll(() => failed.length).toBe(2);
    // Playwright reports request URLs without their #fragment.
    const proxiedNoFragment = proxied.slice(0, proxied.indexOf('#'));
    expect(failed.sort()).toEqual([`${pixel} net::ERR_BLOCKED_BY_CLIENT`, `${proxiedNoFragment} net::ERR_BLOCKED_BY_CLIENT`].sort());
    const hits = await fetch(`${E2E_SERVER_URL}/v1/trackers/${tracker}`, { headers: { authorization: `Bearer ${identity.token}` } });
    expect(((await hits.json()) as { hits: unknown[] }).hits).toEqual([]);
    await session.context.unroute('https://mail.google.com/**');
    await page.close();
  });
});
