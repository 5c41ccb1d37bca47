/**
 * The popup in a German browser (issue 17 item 6): the extension follows the
 * browser's language through _locales, with no setting of its own. One browser
 * for the file; the row-time check (item 7) runs in it too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchExtension, removeServerData, startServer, type ExtensionSession, type TestServer } from './harness';
import { PopupPage, waitForIdentity } from './pages/popup';

let server: TestServer;
let session: ExtensionSession;

beforeAll(async () => {
  server = await startServer();
  session = await launchExtension({ language: 'de' });
  await waitForIdentity(session.worker);
});
afterAll(async () => {
  await session?.close();
  await server?.stop();
  if (server) removeServerData(server);
});

describe('a German browser', () => {
  it('renders the popup in German', async () => {
    const popup = await PopupPage.open(session.context, session.extensionId);
    await popup.empty.waitFor();
    expect(await popup.page.evaluate(() => document.documentElement.lang)).toBe('de');
    expect(await popup.empty.textContent()).toContain('Noch keine verfolgten E-Mails.');
    expect(await popup.page.locator('.header__settings').textContent()).toBe('Einstellungen');
    await popup.close();
  });

  it('never cuts a row\'s time for a long subject', async () => {
    const seeder = await PopupPage.open(session.context, session.extensionId);
    await seeder.seed(3, { subject: (i) => `${'Ein sehr langer Betreff über das Budget des dritten Quartals '.repeat(4)}${i}` });
    await seeder.close();
    const popup = await PopupPage.open(session.context, session.extensionId);
    await popup.rows.first().waitFor();
    const times = await popup.page.locator('.row__time').evaluateAll((els) =>
      els.map((el) => ({ text: el.textContent ?? '', cut: el.scrollWidth > el.clientWidth })),
    );
    expect(times.length).toBeGreaterThan(0);
    for (const time of times) {
      expect(time.text).toMatch(/^vor \d+ (Min\.|Std\.|T\.)$|^gerade eben$/);
      expect(time.cut, time.text).toBe(false);
    }
    const subject = await popup.page.locator('.row__subject').first().evaluate((el) => el.scrollWidth > el.clientWidth);
    expect(subject).toBe(true);
    await popup.close();
  });
});
