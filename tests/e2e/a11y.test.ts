/**
 * Accessibility of everything OpenPing draws (issue 17): axe-core finds no violation in the popup
 * (empty, list, detail, error), the options page and the compose switch, in light and in dark;
 * keyboard focus is visible on list rows and the arrow keys move between them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { axeViolations } from './axe';
import { launchExtension, removeServerData, startServer, type ExtensionSession, type TestServer } from './harness';
import { GmailPage, routeGmail } from './pages/gmail';
import { PopupPage, waitForIdentity } from './pages/popup';

const SCHEMES = ['light', 'dark'] as const;
const DETAIL_TRACKER = 'a11yDetailxxxxxxxxxxxx';

let server: TestServer;
let session: ExtensionSession;

beforeAll(async () => {
  server = await startServer();
  session = await launchExtension();
  await waitForIdentity(session.worker);
});
afterAll(async () => {
  await session?.close();
  await server?.stop();
  if (server) removeServerData(server);
});

/** axe in both colour schemes, on the page as it is. */
async function violationsInBothSchemes(page: Page, include?: (string | string[])[]): Promise<Record<string, string[]>> {
  const found: Record<string, string[]> = {};
  for (const colorScheme of SCHEMES) {
    await page.emulateMedia({ colorScheme });
    found[colorScheme] = await axeViolations(page, { include });
  }
  await page.emulateMedia({ colorScheme: 'light' });
  return found;
}
const NONE = { light: [], dark: [] };

/** One email with a person's open and two machine fetches, so the detail shows both kinds of timeline entry. */
async function seedDetail(popup: PopupPage): Promise<void> {
  await popup.page.evaluate(async (tracker) => {
    const database = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('openping');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const tx = database.transaction(['emails', 'hits'], 'readwrite');
    const sentAt = Date.now() - 3 * 3_600_000;
    tx.objectStore('emails').put({
      tracker,
      webmail: 'gmail',
      subject: 'Quarterly numbers',
      recipients: [{ name: 'Ada Lovelace', address: 'ada@example.com' }],
      sentAt,
      threadUrl: null,
      tracking: 'sent',
      opens: 1,
      firstOpenAt: sentAt + 3_600_000,
      lastOpenAt: sentAt + 3_600_000,
      machineHits: 2,
      unseenOpens: 0,
      notifiedAt: null,
      sortAt: sentAt + 3_600_000,
      lastOpenPlace: 'Berlin, DE',
    });
    const hits = tx.objectStore('hits');
    const network = { prefix: '66.249.93.0/24', asn: 15169, org: 'Google LLC' };
    hits.put({ id: `${tracker}-1`, tracker, at: sentAt + 5_000, kind: 'scanner', via: null, reason: 'Fetched seconds after sending, before any person could open it', network, geo: null, client: null });
    hits.put({ id: `${tracker}-2`, tracker, at: sentAt + 60_000, kind: 'prefetch', via: 'apple-mpp', reason: 'Apple Mail Privacy Protection fetched this on delivery', network: { prefix: '172.224.9.0/24', asn: 36183, org: 'Akamai' }, geo: null, client: null });
    hits.put({ id: `${tracker}-3`, tracker, at: sentAt + 3_600_000, kind: 'open', via: 'gmail-proxy', reason: "Fetched by Gmail's image proxy when the message was opened", network, geo: { country: 'DE', region: 'Berlin', city: 'Berlin' }, client: { name: 'Gmail', os: null, device: null } });
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    database.close();
  }, DETAIL_TRACKER);
}

describe('accessibility (axe-core, light and dark)', () => {
  it('the popup with nothing tracked yet', async () => {
    const popup = await PopupPage.open(session.context, session.extensionId);
    await popup.empty.waitFor();
    expect(await violationsInBothSchemes(popup.page)).toEqual(NONE);
    await popup.close();
  });

  it('the popup list: sent, delivered and opened rows', async () => {
    const popup = await PopupPage.open(session.context, session.extensionId);
    await popup.seed(40, { openedEvery: 3, deliveredEvery: 2 });
    await seedDetail(popup);
    await popup.reload();
    await popup.rows.first().waitFor();
    expect(await violationsInBothSchemes(popup.page)).toEqual(NONE);
    await popup.close();
  });

  it('the popup detail: facts, actions and a timeline with dimmed machine fetches', async () => {
    const popup = await PopupPage.open(session.context, session.extensionId, `?tracker=${DETAIL_TRACKER}`);
    await popup.detail.waitFor();
    await expect.poll(() => popup.hits.count()).toBe(3);
    expect(await violationsInBothSchemes(popup.page)).toEqual(NONE);
    await popup.close();
  });

  it('the options page', async () => {
    const page = await session.context.newPage();
    await page.goto(`chrome-extension://${session.extensionId}/options.html`);
    await page.locator('[data-openping="options"]').waitFor();
    expect(await violationsInBothSchemes(page)).toEqual(NONE);
    await page.close();
  });

  it('the compose switch in Gmail', async () => {
    await routeGmail(session.context);
    const gmail = await GmailPage.open(session.context);
    const compose = await gmail.openCompose();
    await gmail.toggleReady(compose);
    // Only what OpenPing adds (inside its shadow root): the saved Gmail page has violations of its own.
    expect(await violationsInBothSchemes(gmail.page, [['openping-toggle', '[data-openping="toggle"]']])).toEqual(NONE);
    await gmail.page.close();
  });

  it('the popup when the server cannot be reached', async () => {
    await server.stop();
    try {
      const popup = await PopupPage.open(session.context, session.extensionId);
      await popup.error.waitFor({ timeout: 20_000 });
      expect(await violationsInBothSchemes(popup.page)).toEqual(NONE);
      await popup.close();
    } finally {
      await server.restart();
    }
  }, 90_000);
});

describe('keyboard in the popup list', () => {
  it('shows where the focus is and moves it with the arrow keys, Home and End', async () => {
    const popup = await PopupPage.open(session.context, session.extensionId);
    await popup.rows.first().waitFor();
    const page = popup.page;
    const focusedSubject = () => page.evaluate(() => document.activeElement?.closest('[data-openping="email"]')?.querySelector('.row__subject')?.textContent ?? null);
    const subjects = await popup.rows.locator('.row__subject').allTextContents();

    await popup.search.focus();
    // Tab from the filters reaches the first row.
    while ((await focusedSubject()) === null) await page.keyboard.press('Tab');
    expect(await focusedSubject()).toBe(subjects[0]);
    // Visible focus: a real outline, not only a faint tint (rows are `all: unset` buttons).
    const outline = await page.evaluate(() => {
      const style = getComputedStyle(document.activeElement!);
      return { style: style.outlineStyle, width: parseFloat(style.outlineWidth) };
    });
    expect(outline.style).not.toBe('none');
    expect(outline.width).toBeGreaterThanOrEqual(2);

    await page.keyboard.press('ArrowDown');
    expect(await focusedSubject()).toBe(subjects[1]);
    await page.keyboard.press('ArrowDown');
    expect(await focusedSubject()).toBe(subjects[2]);
    await page.keyboard.press('ArrowUp');
    expect(await focusedSubject()).toBe(subjects[1]);
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    expect(await focusedSubject()).toBe(subjects[0]);

    // End reaches the last email, even though it was not rendered (the list draws only rows in view).
    await page.keyboard.press('End');
    await expect.poll(focusedSubject).toBe('Quarterly numbers');
    await page.keyboard.press('Home');
    await expect.poll(focusedSubject).toBe(subjects[0]);

    // Enter opens the focused email.
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await popup.detail.waitFor();
    expect(await popup.detail.textContent()).toContain(subjects[1]);
    await popup.close();
  });
});
