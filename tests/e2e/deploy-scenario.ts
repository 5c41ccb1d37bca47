/**
 * One deployment, end to end (issue 15, item 4), run by tests/e2e/deploy-caddy.test.ts and
 * deploy-nginx.test.ts with their proxy:
 *
 *   client (a real TCP peer) ──https──▶ Caddy or nginx (deploy/…) ──http──▶ node dist/server.mjs
 *
 * The server is the production bundle (`npm run build:server`) configured by deploy/openping.env,
 * with only its port, database path and public URL's port changed; the proxy runs the file in
 * deploy/ with only ports, paths and the upstream changed (deploy-harness.ts). Chromium runs an
 * extension built for https://track.example.com:<port> and reaches the proxy over TCP with the
 * proxy's real certificate; nothing between them is faked by Playwright.
 *
 * What this proves, and what not:
 * - The proxy hands the server the address of its TCP peer, and the server records that peer's /24:
 *   a client bound to an address in Google's 66.249.64.0/19 is recorded as 66.249.93.0/24 and its
 *   fetch with Gmail's proxy user-agent is an `open` via `gmail-proxy` — not 127.0.0.0/24 (the
 *   proxy's own address).
 * - What a client writes into X-Forwarded-For or Forwarded never decides the address, through this
 *   proxy config with this server config: the Google client's forged 203.0.113.x is ignored, and a
 *   client outside Google (198.51.100.x) claiming a Google address in both headers is recorded as
 *   198.51.100.0/24 and is not an open.
 * - The first run a user sees (issue 15, acceptance): the setup page that opens on install, in a build
 *   that does not allow local servers, passes all five checks through the proxy (server, account,
 *   public https pixel URL, no /healthz warnings, a test pixel back through the feed) and passes axe;
 *   then the compose switch is `ready` and a message sent from Gmail is tracked.
 * - Without OPENPING_TRUST_PROXY, /healthz names the problem (`forwarded-untrusted`).
 * - The client addresses are real only on this machine's loopback interface (ip addr add): routing
 *   across the internet, the proxy's certificate from Let's Encrypt (Caddy uses its internal CA
 *   here, nginx a self-signed certificate) and systemd (deploy/openping.service) are not exercised.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, readEnvFile, startBundle, type BundleServer } from '../server/bundle-run.ts';
import {
  addClientAddresses,
  buildExtension,
  DEPLOY_HOST,
  freePort,
  httpsRequest,
  launchDeployedExtension,
  servedCertificate,
  type ClientAddresses,
  type DeployedBrowser,
  type Deployment,
} from './deploy-harness';
import type { Page } from 'playwright-core';
import { axeViolations } from './axe';
import { GOOGLE_PROXY_UA, GmailPage, imageSources, routeGmail } from './pages/gmail';
import { waitForChecklist } from './pages/checklist';

interface Identity {
  account: string;
  token: string;
  pixelBase: string;
}

interface Hit {
  kind: string;
  via: string | null;
  network: { prefix: string; asn: number | null } | null;
}

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function describeDeployment(name: 'caddy' | 'nginx', startProxy: (upstreamPort: number, port: number) => Promise<Deployment>): void {
  let bundle: string;
  let dir: string;
  let server: BundleServer;
  let proxy: Deployment;
  let clients: ClientAddresses;
  let extension: { dir: string; remove(): void };
  let browser: DeployedBrowser;
  let setupPage: Page;
  let identity: Identity;
  let serverEnv: Record<string, string>;

  const startServer = (env: Record<string, string>) => startBundle(bundle, { cwd: dir, env });
  const json = async <T>(path: string, init: Parameters<typeof httpsRequest>[2] = {}) => {
    const res = await httpsRequest(proxy, path, init);
    return { status: res.status, body: JSON.parse(res.body.toString('utf8') || 'null') as T };
  };
  const auth = () => ({ authorization: `Bearer ${identity.token}` });
  /** A tracker of the extension's account, registered through the proxy as sent ten minutes ago (a fetch within 5 s of sending is a scanner's). */
  const sentTracker = async (tracker: string) => {
    const put = await httpsRequest(proxy, `/v1/trackers/${tracker}`, {
      method: 'PUT',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ state: 'sent', sentAt: Date.now() - 10 * 60_000 }),
    });
    expect(put.status).toBe(200);
    return `/p/${identity.account}/${tracker}.gif`;
  };
  const hitsOf = async (tracker: string) => (await json<{ hits: Hit[] }>(`/v1/trackers/${tracker}`, { headers: auth() })).body.hits;

  beforeAll(async () => {
    clients = await addClientAddresses();
    bundle = await buildBundle();
    dir = mkdtempSync(join(tmpdir(), `openping-deploy-${name}-`));
    // deploy/openping.env as the unit reads it, with the test's ports and database path.
    const env = readEnvFile('deploy/openping.env');
    expect(env.OPENPING_PUBLIC_URL).toBe(`https://${DEPLOY_HOST}`);
    const proxyPort = await freePort();
    serverEnv = { ...env, OPENPING_PORT: '0', OPENPING_DB: join(dir, 'openping.db'), OPENPING_PUBLIC_URL: `https://${DEPLOY_HOST}:${proxyPort}` };
    server = await startServer(serverEnv);
    // Restarts (the last test) keep the port the proxy forwards to.
    serverEnv.OPENPING_PORT = String(server.port);
    proxy = await startProxy(server.port, proxyPort);
    extension = buildExtension(proxy.url, name);
    browser = await launchDeployedExtension(extension.dir, await servedCertificate(proxy));
    // The setup page opens on install (entrypoints/background); it may be open before we look.
    const isSetup = (p: Page) => p.url().endsWith('/onboarding.html');
    setupPage = browser.context.pages().find(isSetup) ?? (await browser.context.waitForEvent('page', { predicate: isSetup, timeout: 30_000 }));
    identity = await waitFor('the extension to create its account through the proxy', async () => {
      const stored = await browser.worker.evaluate(() => chrome.storage.local.get('identity'));
      return (stored as { identity?: Identity }).identity;
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    extension?.remove();
    await proxy?.stop();
    await server?.stop();
    await clients?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (bundle) rmSync(bundle, { recursive: true, force: true });
  });

  describe(`${name} in front of the bundled server`, () => {
    it('/healthz through the proxy: ok, no warnings (public https URL, trusted proxy)', async () => {
      const health = await json<{ ok: boolean; warnings: unknown[] }>('/healthz');
      expect(health).toEqual({ status: 200, body: { ok: true, warnings: [] } });
    });

    it('the setup page that opened on install passes every check through the proxy, and axe', async () => {
      // A build as users get it: a local or http pixel URL would not be tracked through (SPEC §6).
      const answer = (await setupPage.evaluate(() => chrome.runtime.sendMessage({ type: 'identity' }))) as { allowLocalServer: boolean };
      expect(answer.allowLocalServer).toBe(false);
      // The checklist's stable attributes: components/onboarding/Checklist.tsx.
      await waitForChecklist(setupPage);
      const results = await setupPage
        .locator('[data-openping="check"]')
        .evaluateAll((items) => items.map((li) => [li.getAttribute('data-check'), li.getAttribute('data-result')]));
      expect(Object.fromEntries(results)).toEqual({ server: 'pass', account: 'pass', 'pixel-url': 'pass', warnings: 'pass', 'test-pixel': 'pass' });
      expect(await setupPage.locator('[data-openping="check"] .check__next').count()).toBe(0);
      expect(await axeViolations(setupPage)).toEqual([]);
      await setupPage.close();
    });

    it('then a message sent from Gmail, with the switch ready, carries the https pixel, and its tracker is registered through the proxy', async () => {
      expect(identity.pixelBase).toBe(`${proxy.url}/p/${identity.account}/`);
      await routeGmail(browser.context);
      const gmail = await GmailPage.open(browser.context);
      const compose = await gmail.openCompose();
      const toggle = await gmail.toggleReady(compose, 30_000);
      expect(await toggle.getAttribute('data-status')).toBe('ready');
      await expect.poll(() => toggle.getAttribute('aria-checked')).toBe('true');
      await gmail.write(compose, { to: 'bob@example.org', subject: 'Deployed', body: 'Through the proxy.' });
      await gmail.sendButton(compose).click();
      const [message] = await gmail.waitSent(1);
      const pixels = imageSources(message!.body).filter((src) => src.includes('/p/'));
      expect(pixels).toHaveLength(1);
      expect(pixels[0]).toMatch(new RegExp(`^https://${DEPLOY_HOST.replaceAll('.', '\\.')}:${proxy.port}/p/${identity.account}/[A-Za-z0-9_-]{16,43}\\.gif$`));
      const tracker = pixels[0]!.slice(identity.pixelBase.length, -'.gif'.length);
      await waitFor('the tracker registered as sent', async () => {
        const view = await json<{ state: string }>(`/v1/trackers/${tracker}`, { headers: auth() });
        return view.status === 200 && view.body.state === 'sent';
      });
      await gmail.page.close();
    });

    it("Google's image proxy, as the proxy's TCP peer, is an open from Google's /24 whatever forwarding headers it sends", async () => {
      const pixel = await sentTracker('deployGoogleOpen000001');
      const res = await httpsRequest(proxy, pixel, {
        from: clients.google,
        headers: { 'user-agent': GOOGLE_PROXY_UA, 'x-forwarded-for': '203.0.113.9', forwarded: 'for=203.0.113.9' },
      });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('image/gif');
      const hits = await hitsOf('deployGoogleOpen000001');
      expect(hits).toHaveLength(1);
      expect(hits[0]).toMatchObject({ kind: 'open', via: 'gmail-proxy', network: { prefix: '66.249.93.0/24', asn: 15169 } });
    });

    it('a client outside Google claiming a Google address in X-Forwarded-For and Forwarded is recorded as itself, not as an open', async () => {
      const pixel = await sentTracker('deployForgedGoogle0001');
      const res = await httpsRequest(proxy, pixel, {
        from: clients.outside,
        headers: { 'user-agent': GOOGLE_PROXY_UA, 'x-forwarded-for': '66.249.93.1', forwarded: 'for=66.249.93.1' },
      });
      expect(res.status).toBe(200);
      const hits = await hitsOf('deployForgedGoogle0001');
      expect(hits).toHaveLength(1);
      expect(hits[0]!.network?.prefix).toBe('198.51.100.0/24');
      expect(hits[0]!.kind).not.toBe('open');
    });

    it('without OPENPING_TRUST_PROXY, /healthz warns forwarded-untrusted once the proxy forwards a request', async () => {
      await server.stop();
      const { OPENPING_TRUST_PROXY: _removed, ...untrusting } = serverEnv;
      server = await startServer(untrusting);
      const before = await json<{ warnings: Array<{ code: string }> }>('/healthz');
      expect(before.status).toBe(200);
      // The /healthz request itself came through the proxy with X-Forwarded-For, so by now it is seen.
      const after = await json<{ ok: boolean; warnings: Array<{ code: string; message: string }> }>('/healthz');
      expect(after.body.warnings.map((w) => w.code)).toEqual(['forwarded-untrusted']);
      expect(after.body.warnings[0]!.message).toMatch(/OPENPING_TRUST_PROXY/);
    });
  });
}
