/**
 * Page object for the saved Outlook on the web fixtures, served at the real
 * Outlook URLs (STYLE §12: the selectors the tests use live here).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Locator, Page } from 'playwright-core';

export type OutlookHost = 'outlook.live.com' | 'outlook.office.com' | 'outlook.office365.com';

const FIXTURES: Record<OutlookHost, string> = {
  'outlook.live.com': 'outlook-live-2026-11-mail.html',
  'outlook.office.com': 'outlook-office-2026-11-mail.html',
  // Work and school accounts share one web app under both names.
  'outlook.office365.com': 'outlook-office-2026-11-mail.html',
};

/** The mail app's path on each host: personal accounts carry a mailbox index. */
export const MAIL_PATH: Record<OutlookHost, string> = {
  'outlook.live.com': '/mail/0/',
  'outlook.office.com': '/mail/',
  'outlook.office365.com': '/mail/',
};

/** A 43-byte transparent GIF for the fixtures' own remote images (there is no outside network). */
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

export interface SentRecord {
  id: string;
  kind: 'new' | 'reply';
  subject: string;
  to: Array<{ name: string; address: string }>;
  html: string;
  at: number;
  scheduledFor: number | null;
  host: string;
}

/**
 * Serves the fixtures for every page of the three Outlook hosts. `rewrite`
 * changes the HTML first (e.g. to play an Outlook build whose selectors broke).
 */
export function fixtureHtml(host: OutlookHost): string {
  return readFileSync(fileURLToPath(new URL(`../../fixtures/${FIXTURES[host]}`, import.meta.url)), 'utf8');
}

export async function routeOutlook(context: BrowserContext | Page, rewrite: (html: string) => string = (h) => h): Promise<void> {
  for (const host of Object.keys(FIXTURES) as OutlookHost[]) {
    const html = rewrite(fixtureHtml(host));
    await context.route(`https://${host}/**`, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }));
  }
  await context.route('https://cdn.example.org/**', (route) => route.fulfill({ status: 200, contentType: 'image/gif', body: GIF }));
}

export class OutlookPage {
  constructor(
    readonly page: Page,
    readonly host: OutlookHost,
  ) {}

  static async open(context: BrowserContext, host: OutlookHost, path = MAIL_PATH[host]): Promise<OutlookPage> {
    const page = await context.newPage();
    await page.goto(`https://${host}${path}`);
    return new OutlookPage(page, host);
  }

  /** Every compose on the page (inline replies, draft tabs, a pop-out). */
  composes(): Locator {
    return this.page.locator('[data-sim-compose]');
  }

  inlineReply(): OutlookCompose {
    return new OutlookCompose(this.page, this.page.locator('[data-sim-compose="reply"]'));
  }

  /** Clicks "New mail" and returns the new draft (the last tab). */
  async newMail(): Promise<OutlookCompose> {
    const before = await this.page.locator('[data-sim-compose="new"]').count();
    await this.page.locator('[data-sim-action="new-mail"]').click();
    const compose = this.page.locator('[data-sim-compose="new"]').nth(before);
    await compose.waitFor();
    return new OutlookCompose(this.page, compose);
  }

  /** The compose of a pop-out window (…/deeplink/compose). */
  popout(): OutlookCompose {
    return new OutlookCompose(this.page, this.page.locator('[data-sim-compose]').first());
  }

  async showDraftTab(index: number): Promise<void> {
    await this.page.locator('[data-sim-tab]').nth(index).click();
  }

  /** What the page's own send handler recorded, oldest first (localStorage is per host). */
  async sent(): Promise<SentRecord[]> {
    return this.page.evaluate(() => JSON.parse(localStorage.getItem('sim.sent') ?? '[]'));
  }

  async sentWithSubject(subject: string): Promise<SentRecord | undefined> {
    return (await this.sent()).find((s) => s.subject === subject);
  }

  /** Opens Sent Items and shows the sent message in the reading pane. */
  async openSentItem(subject: string): Promise<Locator> {
    await this.page.locator('[data-sim-folder="sentitems"]').click();
    await this.page.locator('[data-sim-sent]', { hasText: subject }).first().click();
    const view = this.page.locator('[id^="UniqueMessageBody_"]').last();
    await view.waitFor();
    return view;
  }
}

export class OutlookCompose {
  constructor(
    readonly page: Page,
    readonly root: Locator,
  ) {}

  /** The Track switch (SPEC §6), inside its shadow root. */
  toggle(): Locator {
    return this.root.locator('[data-openping="toggle"]');
  }

  body(): Locator {
    return this.root.locator('[role="textbox"][aria-multiline="true"]');
  }

  async addRecipient(address: string): Promise<void> {
    await this.root.locator('[data-sim-well="to"]').click();
    await this.page.keyboard.type(address);
    await this.page.keyboard.press('Enter');
  }

  async setSubject(subject: string): Promise<void> {
    await this.root.locator('[data-sim-subject]').fill(subject);
  }

  /** Types on the body's first line, as a user starts a message (above any quoted text in a reply). */
  async type(text: string): Promise<void> {
    await this.body().locator('div').first().click();
    await this.page.keyboard.type(text);
  }

  async write(message: { to?: string; subject?: string; text: string }): Promise<void> {
    if (message.to) await this.addRecipient(message.to);
    if (message.subject) await this.setSubject(message.subject);
    await this.type(message.text);
  }

  async clickSend(): Promise<void> {
    await this.root.locator('[data-sim-send]').click();
  }

  async pressSendShortcut(shortcut: 'Control+Enter' | 'Alt+s'): Promise<void> {
    await this.body().click();
    await this.page.keyboard.press(shortcut);
  }

  async discard(): Promise<void> {
    await this.root.locator('[data-sim-action="discard"]').click();
  }

  async scheduleSend(): Promise<void> {
    await this.root.locator('[data-sim-send-menu]').click();
    await this.page.locator('[data-sim-action="schedule"]').click();
    await this.page.locator('[data-sim-action="schedule-confirm"]').click();
  }
}

/** The account's pixels in an HTML string: `<img src="<pixelBase><tracker>.gif">`. */
export function pixelsIn(html: string, pixelBase: string): Array<{ tracker: string; tag: string }> {
  const found: Array<{ tracker: string; tag: string }> = [];
  for (const tag of html.match(/<img\b[^>]*>/g) ?? []) {
    const src = /\ssrc="([^"]*)"/.exec(tag)?.[1] ?? '';
    if (!src.startsWith(pixelBase)) continue;
    const tracker = /^([A-Za-z0-9_-]{16,43})\.gif$/.exec(src.slice(pixelBase.length))?.[1];
    if (tracker) found.push({ tracker, tag });
  }
  return found;
}
