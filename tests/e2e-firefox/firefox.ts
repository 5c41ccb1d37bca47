/**
 * Real Firefox for the Firefox end-to-end project: Debian's firefox-esr driven over WebDriver BiDi by
 * puppeteer-core, with the built Firefox extension installed as a temporary add-on, and request
 * interception serving the saved fixtures at the real mail URLs (what `context.route` does for the
 * Chromium project, tests/e2e/pages/*.ts).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import puppeteer, { type Browser, type HTTPRequest, type Page } from 'puppeteer-core';
import { E2E_PUBLIC_URL } from '../e2e/env';
import { GMAIL_FIXTURE, GOOGLE_PROXY_IP, GOOGLE_PROXY_UA } from '../e2e/pages/gmail';
import { fixtureHtml, type OutlookHost } from '../e2e/pages/outlook';
import { FIREFOX_EXTENSION_DIR, FIREFOX_SERVER_URL } from './env';

/** The add-on id fixed in wxt.config.ts (browser_specific_settings.gecko.id). */
export const ADDON_ID = 'openping@openping.dev';
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** $FIREFOX_PATH, else Debian's firefox-esr, else a `firefox`; none is a failure with one sentence. */
export function findFirefox(): string {
  const chosen = process.env.FIREFOX_PATH;
  if (chosen) {
    if (existsSync(chosen)) return chosen;
    throw new Error(`FIREFOX_PATH is ${chosen}, which does not exist: point it at a Firefox executable, or unset it to use /usr/bin/firefox-esr.`);
  }
  for (const path of ['/usr/bin/firefox-esr', '/usr/bin/firefox']) if (existsSync(path)) return path;
  throw new Error(
    'No Firefox found for the Firefox end-to-end tests: install it with `apt-get install -y firefox-esr`, ' +
      'or set FIREFOX_PATH to its executable.',
  );
}

export interface FirefoxSession {
  browser: Browser;
  /** The add-on's internal UUID, fixed by pref: its pages live at moz-extension://<uuid>/. */
  uuid: string;
  /** Pixel URLs the browser let out, through Gmail's proxy (`proxied`) or directly (`direct`), in order. */
  fetched: { proxied: string[]; direct: string[] };
  /** Pixel URLs (proxied: the whole proxy URL) the browser cancelled before they left: the block rule. */
  blocked: string[];
  /** Opens a page of the extension (popup.html, options.html) in a tab. */
  extensionPage(path: string): Promise<Page>;
  /** A tab whose requests to the mail sites, Gmail's proxy and the pixel host are served here (Gmail: `gmailFixture`). */
  mailPage(gmailFixture?: string): Promise<Page>;
  close(): Promise<void>;
}

type Seen = Pick<FirefoxSession, 'fetched' | 'blocked'>;

/** Serves fixtures and plays Gmail's image proxy; everything else on the web is aborted (no outside network). */
async function serve(request: HTTPRequest, seen: Seen, gmailFixture: string): Promise<void> {
  const url = new URL(request.url());
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return request.continue();
  if (url.host === 'mail.google.com') {
    return request.respond({ status: 200, contentType: 'text/html; charset=utf-8', body: readFileSync(gmailFixture, 'utf8') });
  }
  if (['outlook.live.com', 'outlook.office.com', 'outlook.office365.com'].includes(url.host)) {
    return request.respond({ status: 200, contentType: 'text/html; charset=utf-8', body: fixtureHtml(url.host as OutlookHost) });
  }
  if (url.host === 'ci3.googleusercontent.com') {
    // Gmail's proxy (RESEARCH §1): the fixture's token is the original URL in base64url, as routeGmail reads it.
    const token = /\/meips\/([^=/]+)=/.exec(url.pathname)?.[1];
    const original = token ? Buffer.from(token, 'base64url').toString('utf8') : '';
    if (!original.startsWith(`${E2E_PUBLIC_URL}/`)) return request.respond({ status: 200, contentType: 'image/gif', body: GIF });
    return relay(request, original, { 'user-agent': GOOGLE_PROXY_UA, 'x-forwarded-for': GOOGLE_PROXY_IP }, seen, seen.fetched.proxied);
  }
  // The public pixel host is this run's server (tests/e2e/env.ts: pages on https may not load http://localhost).
  if (url.origin === E2E_PUBLIC_URL) return relay(request, url.href, {}, seen, seen.fetched.direct);
  if (url.host === 'cdn.example.org') return request.respond({ status: 200, contentType: 'image/gif', body: GIF });
  return request.abort('internetdisconnected');
}

/**
 * A pixel request: the browser gets the pixel first, and only if it takes it does the server see the fetch.
 * In Firefox a declarativeNetRequest block cancels the request after WebDriver BiDi has already reported it
 * as intercepted (seen here: `network.provideResponse` then answers "no such request" and the page's
 * request fails with NS_ERROR_ABORT), so fetching from the server first would record a hit the browser
 * never let out. The server answers every pixel with the same 43-byte GIF and headers (SPEC §3).
 */
async function relay(request: HTTPRequest, publicUrl: string, headers: Record<string, string>, seen: Seen, into: string[]): Promise<void> {
  try {
    await request.respond({
      status: 200,
      contentType: 'image/gif',
      headers: { 'cache-control': 'no-cache, no-store, must-revalidate, max-age=0', pragma: 'no-cache', expires: '0' },
      body: GIF,
    });
  } catch (error) {
    if (!/no such request/i.test(String(error))) throw error;
    seen.blocked.push(request.url());
    return;
  }
  into.push(publicUrl);
  const res = await fetch(publicUrl.replace(E2E_PUBLIC_URL, FIREFOX_SERVER_URL), { headers });
  if (!res.ok) throw new Error(`The tracking server answered ${res.status} for ${publicUrl}.`);
}

/** Headless Firefox with the e2e build of the extension installed. */
export async function launchFirefox(): Promise<FirefoxSession> {
  const uuid = randomUUID();
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: findFirefox(),
    headless: true,
    // Firefox 153 lets WebDriver navigate only to http(s), file, blob and about:blank unless system access
    // is allowed; extension pages need it (ghostery/ghostery-extension#3526, 2026-07).
    args: ['--remote-allow-system-access'],
    extraPrefsFirefox: {
      // The build is unsigned: a temporary add-on, as about:debugging's "Load Temporary Add-on" installs it.
      'xpinstall.signatures.required': false,
      // Fixes the add-on's moz-extension:// host (otherwise random per profile); keyed by the gecko id.
      'extensions.webextensions.uuids': JSON.stringify({ [ADDON_ID]: uuid }),
      // No desktop notification service here (no D-Bus session): with the system backend, Firefox closes
      // each notification at once (onClosed, byUser true) and getAll() is empty again. Firefox's own alert
      // window shows it and keeps it, as on a desktop.
      'alerts.useSystemBackend': false,
    },
  });
  const installed = await browser.installExtension(FIREFOX_EXTENSION_DIR);
  if (installed !== ADDON_ID) throw new Error(`The Firefox build installed as "${installed}", not ${ADDON_ID}: check wxt.config.ts.`);
  const seen: Seen = { fetched: { proxied: [], direct: [] }, blocked: [] };
  return {
    browser,
    uuid,
    ...seen,
    async extensionPage(path) {
      const page = await browser.newPage();
      const url = `moz-extension://${uuid}/${path}`;
      // The navigation happens, but over BiDi Firefox 153 reports no load for a moz-extension:// document
      // loaded into a web tab, so goto never resolves: start it, then wait for the document itself.
      page.goto(url).catch(() => {});
      const deadline = Date.now() + 30_000;
      for (;;) {
        const ready = await page.evaluate(() => document.readyState === 'complete' && location.href).catch(() => false);
        if (ready === url) return page;
        if (Date.now() > deadline) throw new Error(`Firefox did not open ${url} within 30 s (it is at ${String(ready)}).`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async mailPage(gmailFixture = GMAIL_FIXTURE) {
      const page = await browser.newPage();
      await page.setRequestInterception(true);
      page.on('request', (request) => {
        serve(request, seen, gmailFixture).catch((error: unknown) => console.warn(`[firefox e2e] serving ${request.url()} failed:`, error));
      });
      return page;
    },
    async close() {
      await browser.close();
    },
  };
}
