/**
 * Page object for tests/fixtures/outlook-live-2026-12-ribbon.html: Outlook on the web with
 * its ribbon, a compose in the reading pane, Sent Items with conversation ids (STYLE §12).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { OutlookCompose } from './outlook';

const FIXTURE = fileURLToPath(new URL('../../fixtures/outlook-live-2026-12-ribbon.html', import.meta.url));

/** Serves the ribbon fixture for every outlook.live.com page of `context`. */
export async function routeOutlookRibbon(context: BrowserContext): Promise<void> {
  const html = readFileSync(FIXTURE, 'utf8');
  await context.route('https://outlook.live.com/**', (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }));
}

export class OutlookRibbonPage {
  constructor(readonly page: Page) {}

  static async open(context: BrowserContext, path = '/mail/0/'): Promise<OutlookRibbonPage> {
    const page = await context.newPage();
    await page.goto(`https://outlook.live.com${path}`);
    return new OutlookRibbonPage(page);
  }

  /** The ribbon's New mail (a split button's primary half). */
  newMailButton(): Locator {
    return this.page.locator('[data-sim-action="new-mail"]');
  }

  async newMail(): Promise<OutlookCompose> {
    await this.newMailButton().click();
    const root = this.page.locator('[data-sim-compose]');
    await root.waitFor();
    return new OutlookCompose(this.page, root);
  }

  async sent(): Promise<Array<{ id: string; convid: string; subject: string; html: string; at: number }>> {
    return this.page.evaluate(() => JSON.parse(localStorage.getItem('sim.sent') ?? '[]'));
  }

  async openSentItems(): Promise<void> {
    await this.page.locator('[data-sim-folder="sentitems"]').click();
  }

  /** The Sent Items row of a message, by its subject. */
  row(subject: string): Locator {
    return this.page.locator('[role="option"]', { has: this.page.locator('.TtcXM', { hasText: subject }) });
  }
}
