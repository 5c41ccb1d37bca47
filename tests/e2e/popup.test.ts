/** The popup in real Chromium: empty state, 10,000 seeded emails (windowed, searchable, filterable), detail view, error state. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchExtension, removeServerData, startServer, type ExtensionSession, type TestServer } from './harness';
import { PopupPage, waitForIdentity } from './pages/popup';

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

describe('the popup', () => {
  it('explains how to start when nothing is tracked yet', async () => {
    const popup = await PopupPage.open(session.context, session.extensionId);
    await popup.empty.waitFor();
    expect(await popup.empty.textContent()).toContain('Track');
    expect(await popup.rows.count()).toBe(0);
    expect(await popup.page.locator('h1').textContent()).toBe('OpenPing');
    await popup.close();
  });

  it('renders 10,000 emails newest first, only a window of rows, and searches and filters them all', async () => {
    const seeder = await PopupPage.open(session.context, session.extensionId);
    await seeder.seed(10_000, { openedEvery: 3, deliveredEvery: 5 });
    await seeder.close();

    const popup = await PopupPage.open(session.context, session.extensionId);
    await popup.rows.first().waitFor();
    await popup.timings();
    const rendered = await popup.rows.count();
    expect(rendered).toBeGreaterThan(5);
    expect(rendered).toBeLessThan(60);
    expect(await popup.rows.first().textContent()).toContain('Seeded message 9999');
    // 9999 % 3 === 0: opened.
    expect(await popup.rows.first().getAttribute('data-state')).toBe('opened');
    expect(await popup.rows.nth(1).textContent()).toContain('Seeded message 9998');
    expect(await popup.rows.nth(1).getAttribute('data-state')).toBe('sent');

    // A subject far down the list, by subject and by recipient address.
    await popup.search.fill('Seeded message 42');
    await expect.poll(() => popup.rows.allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('Seeded message 4299')]),
    );
    await popup.search.fill('person17@example.com');
    await expect.poll(() => popup.rows.count()).toBe(1);
    expect(await popup.rows.first().textContent()).toContain('Seeded message 17');
    expect(await popup.rows.first().getAttribute('data-state')).toBe('sent');

    await popup.search.fill('person15@example.com');
    await expect.poll(() => popup.rows.first().getAttribute('data-state')).toBe('opened');
    await popup.search.fill('person10@example.com');
    await expect.poll(() => popup.rows.first().getAttribute('data-state')).toBe('delivered');

    await popup.search.fill('');
    await popup.filter('opened').click();
    await expect.poll(async () => new Set(await popup.rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-state'))))).toEqual(
      new Set(['opened']),
    );
    await popup.filter('unopened').click();
    await expect.poll(async () => new Set(await popup.rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-state'))))).toEqual(
      new Set(['sent', 'delivered']),
    );
    await popup.filter('all').click();

    // Scrolling far down renders the rows there, still only a window.
    await popup.page.locator('[data-openping="list"]').evaluate((el) => (el.scrollTop = 64 * 5_000));
    await expect.poll(() => popup.rows.allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('Seeded message 4999')]),
    );
    expect(await popup.rows.count()).toBeLessThan(60);
    await popup.close();
  });

  it('opens a detail view with the email’s facts and actions', async () => {
    const popup = await PopupPage.open(session.context, session.extensionId);
    await popup.search.fill('person9000@example.com');
    await expect.poll(() => popup.rows.count()).toBe(1);
    await popup.rows.first().locator('button').click();
    await popup.detail.waitFor();
    const text = await popup.detail.textContent();
    expect(text).toContain('Seeded message 9000');
    expect(text).toContain('person9000@example.com');
    expect(text).toContain('Opened');
    await popup.page.locator('[data-action="delete"]').click();
    await popup.page.locator('[data-action="confirm-delete"]').click();
    await popup.detail.waitFor({ state: 'detached' });
    await popup.search.fill('person9000@example.com');
    await expect.poll(() => popup.rows.count()).toBe(0);
    await popup.close();
  });

  it('shows an error state when the server cannot be reached, and recovers', async () => {
    await server.stop();
    const popup = await PopupPage.open(session.context, session.extensionId);
    // Opening the popup asks for a sync; it fails and says so.
    await popup.error.waitFor({ timeout: 20_000 });
    expect(await popup.error.getAttribute('data-status')).toBe('offline');
    expect(await popup.error.textContent()).toContain('cannot be reached');
    await server.restart();
    await popup.page.getByRole('button', { name: 'Retry now' }).click();
    await popup.error.waitFor({ state: 'detached', timeout: 20_000 });
    await popup.close();
    // Stopping the server can take the length of a held long poll (20 s).
  }, 90_000);
});
