/** Page object for the toolbar popup (opened as a tab at chrome-extension://<id>/popup.html). */
import type { BrowserContext, Page, Worker } from 'playwright-core';

export type RowState = 'sent' | 'delivered' | 'opened';

export interface SeedEmail {
  tracker: string;
  subject: string;
  recipient: string;
  sentAt: number;
  opens: number;
  machineHits: number;
}

export class PopupPage {
  private constructor(
    readonly page: Page,
    readonly extensionId: string,
  ) {}

  static async open(context: BrowserContext, extensionId: string, query = ''): Promise<PopupPage> {
    const page = await context.newPage();
    await page.goto(`chrome-extension://${extensionId}/popup.html${query}`);
    await page.locator('[data-openping="popup"]').waitFor();
    return new PopupPage(page, extensionId);
  }

  get root() {
    return this.page.locator('[data-openping="popup"]');
  }
  get rows() {
    return this.page.locator('[data-openping="email"]');
  }
  row(subject: string) {
    return this.rows.filter({ hasText: subject });
  }
  get search() {
    return this.page.locator('[data-openping="search"]');
  }
  get empty() {
    return this.page.locator('[data-openping="empty"]');
  }
  get error() {
    return this.page.locator('[data-openping="error"]');
  }
  /** "Not set up yet" (no account, or a pixel URL recipients cannot reach), with its one button to the setup page. */
  get setup() {
    return this.page.locator('[data-openping="setup"]');
  }
  get detail() {
    return this.page.locator('[data-openping="detail"]');
  }
  get hits() {
    return this.page.locator('[data-openping="hit"]');
  }
  filter(name: 'all' | 'opened' | 'unopened') {
    return this.page.locator(`[data-filter="${name}"]`);
  }

  async stateOf(subject: string): Promise<string | null> {
    const row = this.row(subject);
    if ((await row.count()) === 0) return null;
    return row.first().getAttribute('data-state');
  }

  async reload(): Promise<void> {
    await this.page.reload();
    await this.root.waitFor();
  }

  /** Sends a message to the background as an extension page does (the content-script messages included). */
  async sendToBackground<T = unknown>(message: unknown): Promise<T> {
    return this.page.evaluate((m) => chrome.runtime.sendMessage(m), message) as Promise<T>;
  }

  /** Writes emails straight into the extension's IndexedDB (same origin as the popup), in one transaction. */
  async seed(
    count: number,
    options: { openedEvery?: number; deliveredEvery?: number; subject?: (i: number) => string } = {},
  ): Promise<void> {
    const subjects = Array.from({ length: count }, (_, i) => options.subject?.(i) ?? `Seeded message ${i}`);
    await this.page.evaluate(
      async ({ count, openedEvery, deliveredEvery, subjects }) => {
        // No named inner functions: under tsx, esbuild would wrap them in a __name() helper the page lacks.
        const database = await new Promise<IDBDatabase>((resolve, reject) => {
          const req = indexedDB.open('openping');
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
        });
        const tx = database.transaction('emails', 'readwrite');
        const store = tx.objectStore('emails');
        const base = Date.now() - count * 60_000;
        for (let i = 0; i < count; i++) {
          const opened = openedEvery > 0 && i % openedEvery === 0;
          const delivered = !opened && deliveredEvery > 0 && i % deliveredEvery === 0;
          const sentAt = base + i * 60_000;
          store.put({
            tracker: `seed${String(i).padStart(18, '0')}`,
            webmail: i % 2 ? 'gmail' : 'outlook',
            subject: subjects[i],
            recipients: [{ name: `Person ${i}`, address: `person${i}@example.com` }],
            sentAt,
            threadUrl: null,
            tracking: 'sent',
            opens: opened ? 1 + (i % 4) : 0,
            firstOpenAt: opened ? sentAt + 1_000 : null,
            lastOpenAt: opened ? sentAt + 5_000 : null,
            machineHits: delivered ? 1 : 0,
            unseenOpens: 0,
            notifiedAt: null,
            sortAt: sentAt,
            lastOpenPlace: opened ? 'Berlin, DE' : null,
          });
        }
        await new Promise<void>((resolve, reject) => {
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(tx.error);
        });
        database.close();
      },
      { count, openedEvery: options.openedEvery ?? 0, deliveredEvery: options.deliveredEvery ?? 0, subjects },
    );
  }

  /** Milliseconds from navigation start to the first rows in the DOM, and to every record read. */
  async timings(): Promise<{ firstRows: number | null; allLoaded: number | null }> {
    await this.page.waitForFunction(() => performance.getEntriesByName('openping:all-loaded').length > 0, null, {
      timeout: 30_000,
    });
    return this.page.evaluate(() => ({
      firstRows: performance.getEntriesByName('openping:first-rows')[0]?.startTime ?? null,
      allLoaded: performance.getEntriesByName('openping:all-loaded')[0]?.startTime ?? null,
    }));
  }

  async close(): Promise<void> {
    await this.page.close();
  }
}

/** The background's stored identity (created by POST /v1/accounts on first start). */
export async function waitForIdentity(
  worker: Worker,
  timeoutMs = 15_000,
): Promise<{ server: string; account: string; token: string; pixelBase: string }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const stored = (await worker.evaluate(() => chrome.storage.local.get('identity'))) as { identity?: unknown };
    if (stored.identity) return stored.identity as { server: string; account: string; token: string; pixelBase: string };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('The extension did not create an account on the tracking server in time.');
}

export async function notifications(worker: Worker): Promise<Record<string, unknown>> {
  return worker.evaluate(() => chrome.notifications.getAll()) as Promise<Record<string, unknown>>;
}

/**
 * chrome.notifications.getAll() returns only ids; to read what a notification
 * says, wrap create() in the worker before the first one is shown.
 */
export async function recordNotificationTexts(worker: Worker): Promise<void> {
  await worker.evaluate(() => {
    const g = globalThis as unknown as { __openpingShown?: Record<string, unknown> };
    if (g.__openpingShown) return;
    g.__openpingShown = {};
    const original = chrome.notifications.create.bind(chrome.notifications) as (...args: unknown[]) => unknown;
    (chrome.notifications as unknown as { create: unknown }).create = (...args: unknown[]) => {
      if (typeof args[0] === 'string') g.__openpingShown![args[0]] = args[1];
      return original(...args);
    };
  });
}

export async function notificationTexts(worker: Worker): Promise<Record<string, { title: string; message: string }>> {
  return worker.evaluate(
    () => (globalThis as unknown as { __openpingShown?: Record<string, { title: string; message: string }> }).__openpingShown ?? {},
  );
}
