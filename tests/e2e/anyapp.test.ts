/**
 * A pixel for any mail app (issue 20), in real Chromium with the built extension against the real
 * server: the popup copies the pixel as rich text, lists the email, a fetch from the user's own network
 * stays presend, the first fetch from a residential network makes it sent and then opened with a
 * notification; the sender's own later view shows as "probably you" and "This was me" re-labels it.
 *
 * The server trusts loopback's X-Forwarded-For (harness.ts): the extension's own API calls come from
 * 127.0.0.1, so a fetch without the header comes from the user's own network, one with
 * `x-forwarded-for: <address>` from that address's network.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations } from './axe';
import { E2E_SERVER_URL } from './env';
import { fetchTracker, launchExtension, removeServerData, startServer, type ExtensionSession, type TestServer } from './harness';
import { PopupPage, notificationTexts, notifications, recordNotificationTexts, waitForIdentity } from './pages/popup';

const THUNDERBIRD = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0';
const IPHONE_MAIL = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148';
/** Deutsche Telekom (AS3320): a residential network (tests/fixtures/classify-corpus.ts `telekom4`). */
const RESIDENTIAL = '84.150.10.10';

let server: TestServer;
let session: ExtensionSession;
let popup: PopupPage;
let identity: Awaited<ReturnType<typeof waitForIdentity>>;

async function fetchPixel(tracker: string, ua: string, ip: string | null): Promise<void> {
  const res = await fetch(`${E2E_SERVER_URL}/p/${identity.account}/${tracker}.gif`, {
    headers: { 'user-agent': ua, accept: 'image/avif,image/webp,*/*', ...(ip ? { 'x-forwarded-for': ip } : {}) },
  });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
}

/** Copies a pixel from the popup; resolves with the new row's tracker once the server has it armed. */
async function copyPixel(label: string): Promise<string> {
  const page = popup.page;
  await page.bringToFront();
  if ((await page.locator('[data-openping="any-app"]').count()) === 0) await page.locator('[data-action="any-app"]').click();
  await page.locator('[data-openping="any-app-label"]').fill(label);
  const before = new Set(await popup.rows.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-tracker'))));
  await page.locator('[data-action="copy-pixel"]').click();
  await page.locator('[data-openping="any-app-copied"]').waitFor();
  let tracker: string | null = null;
  await expect
    .poll(async () => {
      const all = await popup.rows.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-tracker')));
      tracker = all.find((t) => t !== null && !before.has(t)) ?? null;
      return tracker;
    })
    .not.toBeNull();
  // The outbox registers it in the background: wait until the server has it, armed.
  await expect.poll(async () => (await fetchTracker(identity.token, tracker!)).body?.state ?? null, { interval: 100 }).toBe('armed');
  return tracker!;
}

/** axe-core's findings inside `selector`, in the light and the dark scheme (tests/e2e/axe.ts). */
async function a11y(selector: string): Promise<Record<string, string[]>> {
  const found: Record<string, string[]> = {};
  for (const colorScheme of ['light', 'dark'] as const) {
    await popup.page.emulateMedia({ colorScheme });
    found[colorScheme] = await axeViolations(popup.page, { include: [selector] });
  }
  await popup.page.emulateMedia({ colorScheme: 'light' });
  return found;
}

async function clipboard(): Promise<{ html: string; plain: string }> {
  return popup.page.evaluate(async () => {
    const items = await navigator.clipboard.read();
    const item = items[0]!;
    return { html: await (await item.getType('text/html')).text(), plain: await (await item.getType('text/plain')).text() };
  });
}

beforeAll(async () => {
  server = await startServer();
  session = await launchExtension();
  identity = await waitForIdentity(session.worker);
  await recordNotificationTexts(session.worker);
  // Without an origin: Chromium refuses to grant to a chrome-extension:// origin by name ("opaque origin").
  await session.context.grantPermissions(['clipboard-read', 'clipboard-write']);
  popup = await PopupPage.open(session.context, session.extensionId);
});
afterAll(async () => {
  await popup?.close();
  await session?.close();
  await server?.stop();
  if (server) removeServerData(server);
});

describe('a pixel for another mail app', () => {
  it('copies exactly one pixel as rich text, lists the email, keeps own fetches presend, and a residential fetch sends and opens it', async () => {
    const tracker = await copyPixel('Offer for Ada (Apple Mail)');

    const { html, plain } = await clipboard();
    const pixels = await popup.page.evaluate(
      ({ markup, base }) => {
        const doc = new DOMParser().parseFromString(markup, 'text/html');
        const imgs = [...doc.querySelectorAll('img')];
        return {
          all: imgs.length,
          ours: imgs.filter((i) => (i.getAttribute('src') ?? '').startsWith(base)).map((i) => ({
            src: i.getAttribute('src'),
            width: i.getAttribute('width'),
            height: i.getAttribute('height'),
            alt: i.getAttribute('alt'),
          })),
        };
      },
      { markup: html, base: identity.pixelBase },
    );
    expect(pixels.all).toBe(1);
    expect(pixels.ours).toEqual([{ src: `${identity.pixelBase}${tracker}.gif`, width: '1', height: '1', alt: '' }]);
    expect(plain).toContain('OpenPing tracking pixel');
    expect(await a11y('[data-openping="any-app"]')).toEqual({ light: [], dark: [] });

    const row = popup.row('Offer for Ada (Apple Mail)');
    expect(await row.getAttribute('data-source')).toBe('another-app');
    expect(await row.getAttribute('data-state')).toBe('sent');
    expect(await row.getAttribute('data-substate')).toBe('not-sent');
    expect(await row.textContent()).toContain('From another app');
    expect((await fetchTracker(identity.token, tracker)).body).toMatchObject({ state: 'armed', sentAt: null });

    // The user's own app shows the draft, from the user's own network, right after copying.
    await fetchPixel(tracker, THUNDERBIRD, null);
    const draft = (await fetchTracker(identity.token, tracker)).body!;
    expect(draft.state).toBe('armed');
    expect(draft.hits.map((h) => h.kind)).toEqual(['presend']);

    // The recipient opens it at home.
    await fetchPixel(tracker, IPHONE_MAIL, RESIDENTIAL);
    const sent = (await fetchTracker(identity.token, tracker)).body!;
    expect(sent).toMatchObject({ state: 'sent' });
    expect(sent.hits.map((h) => h.kind)).toEqual(['presend', 'open']);
    expect(sent.sentAt).toBe(sent.hits[1]!.at);

    await expect.poll(async () => Object.keys(await notifications(session.worker)), { interval: 100 }).toContain(`openping:${tracker}`);
    // A pasted pixel has no recipients to name: the title says "Opened", the message holds the subject (SPEC §6).
    const shown = (await notificationTexts(session.worker))[`openping:${tracker}`]!;
    expect(shown.title).toBe('Opened');
    expect(shown.message).toContain('“Offer for Ada (Apple Mail)”');
    await expect.poll(() => popup.stateOf('Offer for Ada (Apple Mail)')).toBe('opened');
    expect(await row.getAttribute('data-substate')).toBeNull();

    await row.locator('button').click();
    await expect.poll(() => popup.page.locator('[data-openping="sent-by"]').textContent()).toContain('Sent — first fetched from another network at');
    await expect.poll(() => popup.hits.count()).toBe(2);
    await popup.page.getByText('← All emails').click();
  });

  it('an empty label lists "Untitled message"; the sender’s own later view is "probably you" and "This was me" re-labels it', async () => {
    const tracker = await copyPixel('');
    const row = popup.page.locator(`[data-openping="email"][data-tracker="${tracker}"]`);
    expect(await row.textContent()).toMatch(/Untitled message \d{1,2}[:.]\d{2}/);

    await fetchPixel(tracker, THUNDERBIRD, null);
    await fetchPixel(tracker, IPHONE_MAIL, RESIDENTIAL);
    await expect.poll(async () => Object.keys(await notifications(session.worker)), { interval: 100 }).toContain(`openping:${tracker}`);
    // The sender reads the sent copy in the app that showed the draft, on the same network.
    await fetchPixel(tracker, THUNDERBIRD, null);
    await expect.poll(async () => (await fetchTracker(identity.token, tracker)).body!.hits.map((h) => h.kind)).toEqual(['presend', 'open', 'open']);

    await row.locator('button').click();
    const own = popup.page.locator('[data-openping="own-hit"][data-probably-you="true"]');
    await expect.poll(() => own.count()).toBe(1);
    expect(await own.textContent()).toContain('Probably you');
    expect(await own.textContent()).toContain('loaded your draft');
    expect(await a11y('[data-openping="detail"]')).toEqual({ light: [], dark: [] });
    // Not counted: one open, the recipient's.
    await popup.page.getByText('← All emails').click();
    await expect.poll(() => row.textContent()).toContain('Opened 1×');
    await row.locator('button').click();

    await own.locator('[data-action="mark-own"]').click();
    const ownAt = (await fetchTracker(identity.token, tracker)).body!.hits[2]!.at;
    await expect
      .poll(async () => (await fetchTracker(identity.token, tracker)).body!.hits.find((h) => h.at === ownAt)?.kind, { interval: 200 })
      .toBe('self');
    await expect.poll(() => popup.page.locator('[data-openping="hit"][data-kind="self"]').count()).toBeGreaterThanOrEqual(1);
    await popup.page.getByText('← All emails').click();
  });
});
