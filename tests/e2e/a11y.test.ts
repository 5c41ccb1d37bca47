/**
 * Accessibility of everything OpenPing draws (issue 17): axe-core finds no violation in the popup
 * (empty, list, detail, error), the options page, the compose switch and the list marks with their
 * card, in light and in dark;
 * keyboard focus is visible on list rows and the arrow keys move between them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { axeViolations } from './axe';
import { launchExtension, removeServerData, startServer, type ExtensionSession, type TestServer } from './harness';
import { GmailPage, routeGmail } from './pages/gmail';
import { cardIn, markIn } from './pages/marks';
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

/**
 * Gmail's Sent list with one tracked message in each state a mark shows (sent, delivered, delivered to
 * Apple Mail, opened, replied, opened and muted): the emails are seeded in the extension's IndexedDB
 * with the thread ids of rows the lists fixture shows (its sent messages live in localStorage).
 */
const MARK_CASES = [
  { subject: 'Mark sent', fields: {} },
  { subject: 'Mark delivered', fields: { machineHits: 1 } },
  { subject: 'Mark Apple Mail', fields: { machineHits: 1, appleMppHits: 1 } },
  { subject: 'Mark opened', fields: { opens: 2, lastOpenAt: Date.now() - 60_000, lastOpenPlace: 'Berlin, DE' } },
  { subject: 'Mark replied', fields: { opens: 1, lastOpenAt: Date.now() - 60_000, repliedAt: Date.now() - 30_000, repliedBy: { name: 'Ada', address: 'ada@example.com' } } },
  { subject: 'Mark muted', fields: { opens: 1, lastOpenAt: Date.now() - 60_000, muted: true } },
] as const;

async function seedMarks(popup: PopupPage): Promise<void> {
  await popup.page.evaluate(async (cases) => {
    const database = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('openping');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const tx = database.transaction('emails', 'readwrite');
    cases.forEach(({ subject, fields }, i) => {
      const sentAt = Date.now() - 3_600_000 + i;
      tx.objectStore('emails').put({
        tracker: `a11yMark${i}xxxxxxxxxxxxxx`.slice(0, 22),
        webmail: 'gmail', subject, recipients: [{ name: 'Grace Hopper', address: 'grace@example.org' }], sentAt, threadUrl: null,
        tracking: 'sent', opens: 0, firstOpenAt: null, lastOpenAt: null, machineHits: 0, appleMppHits: 0, unseenOpens: 0,
        notifiedAt: null, sortAt: sentAt, lastOpenPlace: null, threadId: `18c92589a0a0000${i}`, messageId: `18c92589a0a0000${i}`, ...fields,
      });
    });
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    database.close();
  }, MARK_CASES as unknown as { subject: string; fields: Record<string, unknown> }[]);
}

describe('accessibility of the list marks and their card (axe-core, light and dark)', () => {
  it('every mark, and a mark with its card open, in Gmail’s Sent list; the status line in a thread', async () => {
    const popup = await PopupPage.open(session.context, session.extensionId);
    await seedMarks(popup);
    await popup.close();
    await routeGmail(session.context, 'tests/fixtures/gmail-2026-12-lists.html');
    const gmail = await GmailPage.open(session.context, '#inbox');
    await gmail.page.evaluate((cases) => {
      const sent = cases.map(({ subject }, i) => {
        const thread = `18c92589a0a0000${i}`;
        return { compose: `c${i}`, to: ['grace@example.org'], subject, body: 'Hello.', how: 'send', at: Date.now() - 3_600_000 + i, thread, threadDec: BigInt(`0x${thread}`).toString(), message: thread, messageDec: BigInt(`0x${thread}`).toString() };
      });
      localStorage.setItem('sim.gmailSent', JSON.stringify(sent));
    }, MARK_CASES as unknown as { subject: string }[]);
    await gmail.page.reload();
    await gmail.page.evaluate(() => (location.hash = '#sent'));
    const marks = gmail.page.locator('tr.zA [data-openping="mark"]');
    await expect.poll(() => marks.count(), { timeout: 10_000 }).toBe(MARK_CASES.length);
    // Each mark's name says its state (issue 17 item 5).
    expect(await marks.evaluateAll((els) => els.map((el) => [el.getAttribute('data-state'), el.getAttribute('aria-label')]))).toEqual([
      ['opened', 'OpenPing status: Opened 1× · Notifications muted'],
      ['replied', 'OpenPing status: Replied'],
      ['opened', 'OpenPing status: Opened 2×'],
      ['delivered', 'OpenPing status: Delivered to Apple Mail — Apple hides whether it was read'],
      ['delivered', 'OpenPing status: Delivered — only machines so far, nobody is known to have opened it'],
      ['sent', 'OpenPing status: Sent — no open yet'],
    ]);
    // Only what OpenPing adds: the saved Gmail page has violations of its own.
    const ours = ['[data-openping="mark"]'];
    expect(await violationsInBothSchemes(gmail.page, ours)).toEqual(NONE);

    // The card of the muted one, opened by keyboard focus: its words, Details and "Notify me again".
    const muted = markIn(gmail.page.locator('tr.zA', { hasText: 'Mark muted' }));
    await muted.focus();
    await expect.poll(() => cardIn(muted).isVisible()).toBe(true);
    expect(await cardIn(muted).textContent()).toContain('Notifications muted');
    expect(await violationsInBothSchemes(gmail.page, ours)).toEqual(NONE);
    // And an opened one's, with its last open.
    const opened = markIn(gmail.page.locator('tr.zA', { hasText: 'Mark opened' }));
    await opened.focus();
    await expect.poll(() => cardIn(opened).isVisible()).toBe(true);
    expect(await violationsInBothSchemes(gmail.page, ours)).toEqual(NONE);

    // The opened one's thread: the status line on its message.
    await gmail.page.evaluate(() => (location.hash = '#thread/18c92589a0a00003'));
    const line = gmail.page.locator('.adn [data-openping="mark"]');
    await expect.poll(() => line.getAttribute('data-state'), { timeout: 10_000 }).toBe('opened');
    expect(await violationsInBothSchemes(gmail.page, ['.adn [data-openping="mark"]'])).toEqual(NONE);
    await gmail.page.close();
  });
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
