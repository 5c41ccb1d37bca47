/**
 * First run against a server on localhost (issue 15, acceptance): with a build
 * that does not allow a local server (SPEC §6), the setup page opens on install,
 * its checklist fails the pixel-URL step as `public-url-local` (and shows the
 * server's warnings), the compose switch is in `setup`, and a sent message
 * carries no pixel. This file builds its own copy of the extension, without
 * OPENPING_ALLOW_LOCAL_SERVER and with the setup page on install, in its own
 * folder (the shared e2e build has neither: tests/e2e/global-setup.ts).
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations } from './axe';
import { E2E_OUT_DIR, E2E_SERVER_URL } from './env';
import { launchExtension, removeServerData, startServer, type ExtensionSession, type TestServer } from './harness';
import { GmailPage, imageSources, routeGmail } from './pages/gmail';
import { waitForChecklist } from './pages/checklist';

const OUT_DIR = `${E2E_OUT_DIR}-setup`;

let server: TestServer;
let session: ExtensionSession;
let setupPage: Page;

/** The checklist's stable attributes (components/onboarding/Checklist.tsx). */
const check = (page: Page, id: string) => page.locator(`[data-openping="check"][data-check="${id}"]`);

beforeAll(async () => {
  execFileSync('npx', ['wxt', 'build'], {
    stdio: 'inherit',
    env: {
      ...process.env,
      OPENPING_SERVER_URL: E2E_SERVER_URL,
      OPENPING_OUT_DIR: OUT_DIR,
      OPENPING_ALLOW_LOCAL_SERVER: '0',
      OPENPING_OPEN_SETUP: '1',
    },
  });
  // The trial setup of the README: pixels under http://localhost, which no recipient can load.
  server = await startServer({ OPENPING_PUBLIC_URL: E2E_SERVER_URL });
  session = await launchExtension({ extensionDir: resolve(OUT_DIR, 'chrome-mv3') });
  const isSetup = (p: Page) => p.url().endsWith('/onboarding.html');
  setupPage = session.context.pages().find(isSetup) ?? (await session.context.waitForEvent('page', { predicate: isSetup, timeout: 30_000 }));
}, 240_000);

afterAll(async () => {
  await session?.close();
  await server?.stop();
  if (server) removeServerData(server);
  rmSync(OUT_DIR, { recursive: true, force: true });
});

describe('first run against a localhost server', () => {
  it('the setup page opens on install and its checklist fails the pixel URL as public-url-local', async () => {
    await waitForChecklist(setupPage);
    const results = await setupPage
      .locator('[data-openping="check"]')
      .evaluateAll((items) => items.map((li) => [li.getAttribute('data-check'), li.getAttribute('data-result')]));
    expect(Object.fromEntries(results)).toEqual({
      server: 'pass',
      account: 'pass',
      'pixel-url': 'fail',
      warnings: 'fail',
      // The pixel reaches the server from this browser: what fails is that recipients cannot.
      'test-pixel': 'pass',
    });
    expect(await check(setupPage, 'pixel-url').getAttribute('data-codes')).toBe('public-url-local');
    expect(await check(setupPage, 'pixel-url').textContent()).toMatch(/localhost/);
    expect(await check(setupPage, 'warnings').getAttribute('data-codes')).toBe('public-url-local public-url-http');
    expect(await check(setupPage, 'warnings').textContent()).toContain('OPENPING_PUBLIC_URL');
    // Every failed step says what to do and links the Deploy section.
    for (const id of ['pixel-url', 'warnings']) {
      expect(await check(setupPage, id).locator('.check__next a').getAttribute('href')).toMatch(/#deploy$/);
    }
    // The account is shown as a fingerprint, never as its id.
    const identity = (await session.worker.evaluate(() => chrome.storage.local.get('identity'))) as { identity: { account: string } };
    expect(await setupPage.textContent('body')).not.toContain(identity.identity.account);
  });

  it('the setup page, failures and all, passes axe in light and dark', async () => {
    const found: Record<string, string[]> = {};
    for (const colorScheme of ['light', 'dark'] as const) {
      await setupPage.emulateMedia({ colorScheme });
      found[colorScheme] = await axeViolations(setupPage);
    }
    await setupPage.emulateMedia({ colorScheme: 'light' });
    expect(found).toEqual({ light: [], dark: [] });
  });

  it('the server field refuses an address that is not http(s), in a sentence', async () => {
    const field = setupPage.locator('input[name="server"]');
    await field.fill('ftp://track.example.com');
    await setupPage.locator('[data-action="use-server"]').click();
    const notice = setupPage.locator('[data-openping="notice"]');
    await expect.poll(() => notice.textContent()).toMatch(/^The server address must start with https:\/\/.*\.$/);
    await field.fill(E2E_SERVER_URL);
  });

  it('the compose switch is in setup, and the message goes out without a pixel', async () => {
    await routeGmail(session.context);
    const gmail = await GmailPage.open(session.context);
    const compose = await gmail.openCompose();
    const toggle = gmail.toggle(compose);
    await expect.poll(() => toggle.getAttribute('data-status'), { timeout: 20_000 }).toBe('setup');
    expect(await toggle.getAttribute('aria-checked')).toBe('false');
    expect(await toggle.getAttribute('title')).toMatch(/Not tracking.*localhost/);
    await gmail.write(compose, { to: 'lee@example.com', subject: 'From a local trial', body: 'No pixel, please.' });
    await gmail.sendButton(compose).click();
    const [message] = await gmail.waitSent(1);
    expect(message!.body).toContain('No pixel, please.');
    expect(imageSources(message!.body)).toEqual([]);
    await gmail.page.close();
  });
});
