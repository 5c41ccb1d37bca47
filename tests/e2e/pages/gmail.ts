/**
 * Page object for the saved Gmail fixture served at https://mail.google.com
 * (STYLE §12: the selectors tests use live here). The fixture's own script
 * plays Gmail: its send handler records what it sent in `window.__gmailSent`.
 */
import { readFileSync } from 'node:fs';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { E2E_PUBLIC_URL, E2E_SERVER_URL } from '../env';

export const GMAIL_FIXTURE = 'tests/fixtures/gmail-2026-11-mail.html';
export const GMAIL_URL = 'https://mail.google.com/mail/u/0/';
/** Gmail's image proxy (RESEARCH §1). */
export const GOOGLE_PROXY_UA = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
/** An address in Google's 66.249.64.0/19 (RESEARCH §1). */
export const GOOGLE_PROXY_IP = '66.249.93.10';
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

export interface SentMessage {
  compose: string;
  to: string[];
  subject: string;
  body: string;
  how: 'send' | 'archive' | 'keyboard' | 'scheduled';
  at: number;
  /** The lists fixture's legacy thread id (hex) of the message. */
  thread?: string;
}

/**
 * Serves the fixture at Gmail's URL, and plays Gmail's image proxy: a
 * `ci3.googleusercontent.com/meips/<token>` request fetches the original (the
 * token is its base64url) the way Google's proxy would. `proxied` lists the
 * originals fetched, so a test can tell whether the browser let the request out.
 */
export async function routeGmail(context: BrowserContext, fixture = GMAIL_FIXTURE): Promise<{ proxied: string[] }> {
  const html = readFileSync(fixture, 'utf8');
  const proxied: string[] = [];
  await context.route('https://mail.google.com/**', (route) =>
    route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }),
  );
  await context.route('https://ci3.googleusercontent.com/**', async (route) => {
    const token = /\/meips\/([^=/]+)=/.exec(new URL(route.request().url()).pathname)?.[1];
    const original = token ? Buffer.from(token, 'base64url').toString('utf8') : '';
    if (!original.startsWith(`${E2E_PUBLIC_URL}/`)) {
      await route.fulfill({ status: 200, contentType: 'image/gif', body: GIF });
      return;
    }
    proxied.push(original);
    const response = await route.fetch({
      url: original.replace(E2E_PUBLIC_URL, E2E_SERVER_URL),
      headers: { 'user-agent': GOOGLE_PROXY_UA, 'x-forwarded-for': GOOGLE_PROXY_IP },
    });
    await route.fulfill({ response });
  });
  return { proxied };
}

export class GmailPage {
  constructor(readonly page: Page) {}

  static async open(context: BrowserContext, hash = '#inbox'): Promise<GmailPage> {
    const page = await context.newPage();
    await page.goto(`${GMAIL_URL}${hash}`);
    return new GmailPage(page);
  }

  /** Every open compose (pop-out, full-screen, inline). */
  composes(): Locator {
    return this.page.locator('.M9');
  }

  async openCompose(): Promise<Locator> {
    const before = await this.page.locator('#compose-dock .M9').count();
    await this.page.click('#compose-button');
    const compose = this.page.locator('#compose-dock .M9').nth(before);
    await compose.waitFor();
    return compose;
  }

  async openReply(): Promise<Locator> {
    await this.page.click('#reply-button');
    const compose = this.page.locator('#reply-area .M9');
    await compose.waitFor();
    return compose;
  }

  toggle(compose: Locator): Locator {
    return compose.locator('[data-openping="toggle"]');
  }

  /** Waits until the switch knows the account (no longer in setup). */
  async toggleReady(compose: Locator, timeout = 15_000): Promise<Locator> {
    const toggle = this.toggle(compose);
    await toggle.and(this.page.locator('[data-status="ready"]')).waitFor({ timeout });
    return toggle;
  }

  async write(compose: Locator, message: { to?: string; subject?: string; body: string }): Promise<void> {
    if (message.to) {
      await compose.locator('[name="to"] input[role="combobox"]').fill(message.to);
      await compose.locator('[name="to"] input[role="combobox"]').press('Enter');
    }
    if (message.subject) await compose.locator('input[name="subjectbox"]').fill(message.subject);
    await compose.locator('[g_editable="true"]').click();
    await this.page.keyboard.type(message.body);
  }

  sendButton(compose: Locator): Locator {
    return compose.locator('.IZ .aoO[role="button"]');
  }

  async sent(): Promise<SentMessage[]> {
    return this.page.evaluate(() => (window as unknown as { __gmailSent: SentMessage[] }).__gmailSent);
  }

  async waitSent(count: number): Promise<SentMessage[]> {
    await this.page.waitForFunction((n) => (window as unknown as { __gmailSent: unknown[] }).__gmailSent.length >= n, count);
    return this.sent();
  }

  /** Shows the Sent folder's view of the last message, its images through Gmail's proxy form. */
  async viewSent(): Promise<Locator> {
    await this.page.evaluate(() => (location.hash = '#sent'));
    const body = this.page.locator('[role="main"] .a3s');
    await body.waitFor();
    return body;
  }
}

/** `src` of every img in an HTML string (no DOM in node: a regex is enough for the fixture's output). */
export function imageSources(html: string): string[] {
  return [...html.matchAll(/<img\b[^>]*\bsrc="([^"]*)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
}
