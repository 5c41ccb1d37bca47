/**
 * `npm run screenshots`: the store screenshots (1280×800 PNG, the size both stores take) from the
 * real extension in real Chromium against a real tracking server with sample data. Writes
 * screenshots/{popup-list,popup-detail,options}.png (git-ignored: they are made when a listing is
 * updated, and differ with every run's times).
 *
 * The sample data is real: the emails are registered through the extension's background, their
 * pixels fetched from the server the way the mail systems do (user-agent and address, believed
 * from loopback through X-Forwarded-For), and classified by the server.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { chromiumArgs, findChromium } from '../tests/e2e/chromium';

const OUT = resolve('screenshots');
const SIZE = { width: 1280, height: 800 };
const HOUR = 3_600_000;

/** Who fetches, as in the classifier's sources (RESEARCH §1, §7): Gmail's proxy, Apple MPP, a desktop client, a gateway. */
const FETCHERS = {
  gmailProxy: { ua: 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)', ip: '66.249.93.21' },
  appleMpp: { ua: 'Mozilla/5.0', ip: '172.224.9.20' },
  outlookDesktop: { ua: 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)', ip: '81.2.69.160' },
  defender: { ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', ip: '40.92.4.10' },
} as const;

const EMAILS: { subject: string; to: [string, string]; hoursAgo: number; fetches: (keyof typeof FETCHERS)[] }[] = [
  { subject: 'Q3 budget — final numbers', to: ['Ada Lovelace', 'ada@example.com'], hoursAgo: 2, fetches: ['defender', 'gmailProxy', 'gmailProxy'] },
  { subject: 'Lunch next week?', to: ['Grace Hopper', 'grace@example.org'], hoursAgo: 5, fetches: ['appleMpp'] },
  { subject: 'Contract draft v2', to: ['Alan Turing', 'alan@example.net'], hoursAgo: 26, fetches: ['outlookDesktop'] },
  { subject: 'Invoice 2026-114', to: ['Katherine Johnson', 'kj@example.com'], hoursAgo: 30, fetches: [] },
  { subject: 'Re: conference talk in March', to: ['Margaret Hamilton', 'margaret@example.org'], hoursAgo: 50, fetches: ['gmailProxy'] },
  { subject: 'Photos from Saturday', to: ['Edsger Dijkstra', 'edsger@example.com'], hoursAgo: 75, fetches: ['defender'] },
];

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer().once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => done(port));
    });
  });
}

async function startServer(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'backend/main.ts'], {
    env: {
      ...process.env,
      OPENPING_PORT: String(port),
      OPENPING_HOST: '127.0.0.1',
      OPENPING_PUBLIC_URL: `http://localhost:${port}`,
      OPENPING_DB: join(dir, 'openping.db'),
      OPENPING_TRUST_PROXY: 'loopback',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`The tracking server exited (code ${child.exitCode}) before it answered.`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (ok) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('The tracking server did not answer /healthz within a minute.');
}

/** A 1280×800 stage: the popup (380×560) or the options page on a quiet backdrop. */
async function stage(page: Page, popup: boolean): Promise<void> {
  await page.addStyleTag({
    content: popup
      ? `html { min-height: 100%; display: grid; place-items: center; background: linear-gradient(135deg, #dbe6f7, #f4f7fb); }
         body { border-radius: 10px; box-shadow: 0 12px 40px rgb(15 23 42 / 0.25); overflow: hidden; zoom: 1.3; }`
      : `body { zoom: 1.25; }`,
  });
}

async function main(): Promise<void> {
  findChromium();
  const work = mkdtempSync(join(tmpdir(), 'openping-shots-'));
  const port = await freePort();
  const out = join(work, 'build');
  console.log(`Building the extension against a server on port ${port}…`);
  execFileSync('npx', ['wxt', 'build'], {
    stdio: 'inherit',
    env: { ...process.env, OPENPING_SERVER_URL: `http://localhost:${port}`, OPENPING_OUT_DIR: out, OPENPING_ALLOW_LOCAL_SERVER: '1' },
  });
  const server = await startServer(port, work);
  const context = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: findChromium(),
    headless: true,
    viewport: SIZE,
    colorScheme: 'light',
    args: chromiumArgs(join(out, 'chrome-mv3')),
  });
  try {
    const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker', { timeout: 30_000 }));
    const extensionId = new URL(worker.url()).host;
    let identity: { account: string; token: string } | undefined;
    for (let i = 0; i < 300 && !identity; i++) {
      identity = ((await worker.evaluate(() => chrome.storage.local.get('identity'))) as { identity?: { account: string; token: string } }).identity;
      if (!identity) await new Promise((r) => setTimeout(r, 100));
    }
    if (!identity) throw new Error('The extension did not create its account on the tracking server.');

    const page = await context.newPage();
    await page.goto(`chrome-extension://${extensionId}/popup.html`);
    const trackers: string[] = [];
    for (const [i, email] of EMAILS.entries()) {
      const tracker = `shot${i}${'x'.repeat(17)}`;
      trackers.push(tracker);
      await page.evaluate(
        (m) => chrome.runtime.sendMessage(m),
        {
          type: 'sent',
          email: {
            tracker,
            webmail: i % 2 ? 'outlook' : 'gmail',
            subject: email.subject,
            recipients: [{ name: email.to[0], address: email.to[1] }],
            sentAt: Date.now() - email.hoursAgo * HOUR,
            threadUrl: null,
          },
        },
      );
      // The outbox registers it in the background: wait until the server knows it.
      for (let t = 0; ; t++) {
        const res = await fetch(`http://127.0.0.1:${port}/v1/trackers/${tracker}`, { headers: { authorization: `Bearer ${identity.token}` } });
        if (res.status === 200) break;
        if (t > 300) throw new Error(`The server never received "${email.subject}".`);
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const who of email.fetches) {
        const { ua, ip } = FETCHERS[who];
        await fetch(`http://127.0.0.1:${port}/p/${identity.account}/${tracker}.gif`, { headers: { 'user-agent': ua, 'x-forwarded-for': ip } });
      }
    }
    // Opening the popup syncs; wait until every fetched email has its hits.
    const fetched = EMAILS.filter((e) => e.fetches.length > 0).length;
    await page.reload();
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-openping="email"]:not([data-state="sent"])').length >= n,
      fetched,
      { timeout: 60_000 },
    );
    await page.close();

    mkdirSync(OUT, { recursive: true });
    const shoot = async (path: string, file: string, popup: boolean, ready: string) => {
      const shot = await context.newPage();
      await shot.goto(`chrome-extension://${extensionId}/${path}`);
      await shot.locator(ready).first().waitFor();
      await stage(shot, popup);
      await shot.screenshot({ path: join(OUT, file) });
      console.log(`screenshots/${file}`);
      await shot.close();
    };
    await shoot('popup.html', 'popup-list.png', true, '[data-openping="email"]');
    await shoot(`popup.html?tracker=${trackers[0]}`, 'popup-detail.png', true, '[data-openping="hit"]');
    await shoot('options.html', 'options.png', false, '[data-openping="options"]');
  } finally {
    await context.close();
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
