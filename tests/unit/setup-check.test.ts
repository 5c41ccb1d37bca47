/**
 * The setup checklist (issue 15 item 5): its model with stand-in steps (order,
 * time limits, skipped steps), and the background's steps against the real
 * tracking server in-process (account, the test pixel's round trip), and the
 * setup page opening on install.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { installFakeDnr } from './dnr-fake';
import { handlers, startBackground } from '../../lib/background';
import { closeDb, db } from '../../lib/db';
import { loadIdentity, saveSettings } from '../../lib/settings';
import { CHECK_IDS, createSetupCheckModel, type CheckId, type SetupCheckDeps } from '../../lib/state/setup-check';
import { stopLivePolling, syncOnce } from '../../lib/sync';
import { startTestServer, type Running } from '../server/helpers';
import { publicUrlWarnings } from '../../backend/health.ts';
import { useLocale } from './i18n-setup';

const OWN_PAGE = { url: 'chrome-extension://test-extension-id/onboarding.html' };
const PUBLIC_BASE = 'https://track.example.com/p/acct0123456789abcdef/';

/** Steps that all pass; a test overrides the ones it is about. */
function deps(overrides: Partial<SetupCheckDeps> = {}): SetupCheckDeps {
  return {
    server: async () => 'https://track.example.com',
    allowLocalServer: async () => false,
    testConnection: async () => ({ ok: true, error: null, warnings: [] }),
    setupAccount: async () => ({ ok: true, error: null, server: 'https://track.example.com', pixelBase: PUBLIC_BASE, fingerprint: 'ab12-cd34' }),
    probePixel: async () => ({ ok: true, error: null, tracker: 'probeProbeProbe0123456', url: `${PUBLIC_BASE}probeProbeProbe0123456.gif` }),
    probeResult: async () => ({ ok: true, error: null, kind: 'self' }),
    loadPixel: async () => {},
    timeouts: { server: 5_000, account: 5_000, 'pixel-url': 5_000, warnings: 5_000, 'test-pixel': 5_000 },
    ...overrides,
  };
}

const results = (model: ReturnType<typeof createSetupCheckModel>) =>
  Object.fromEntries(model.checks.value.map((c) => [c.id, c.result])) as Record<CheckId, string>;

describe('the checklist model', () => {
  it('all steps pass in order against a good setup; the account shows as a fingerprint', async () => {
    const model = createSetupCheckModel(deps());
    expect(model.checks.value.map((c) => c.id)).toEqual(CHECK_IDS);
    expect(Object.values(results(model))).toEqual(CHECK_IDS.map(() => 'waiting'));
    await model.run();
    expect(Object.values(results(model))).toEqual(CHECK_IDS.map(() => 'pass'));
    expect(model.checks.value.find((c) => c.id === 'account')!.detail).toContain('ab12-cd34');
    expect(model.checks.value.find((c) => c.id === 'test-pixel')!.detail).toMatch(/own view/);
    expect(model.running.value).toBe(false);
  });

  it('a step that never answers times out, says so and what to do, and the checks needing it are skipped', async () => {
    const model = createSetupCheckModel(
      deps({
        testConnection: () => new Promise(() => {}),
        timeouts: { server: 50, account: 5_000, 'pixel-url': 5_000, warnings: 5_000, 'test-pixel': 5_000 },
      }),
    );
    await model.run();
    const server = model.checks.value.find((c) => c.id === 'server')!;
    expect(server.result).toBe('timeout');
    expect(server.detail).toMatch(/^No answer within \d+ seconds\.$/);
    expect(server.next).toMatch(/did not answer in time/);
    expect(results(model)).toMatchObject({ account: 'skipped', 'pixel-url': 'skipped', warnings: 'skipped', 'test-pixel': 'skipped' });
  });

  it('the test pixel step times out on its own, never spinning', async () => {
    const model = createSetupCheckModel(
      deps({
        probeResult: () => new Promise(() => {}),
        timeouts: { server: 5_000, account: 5_000, 'pixel-url': 5_000, warnings: 5_000, 'test-pixel': 50 },
      }),
    );
    await model.run();
    expect(results(model)['test-pixel']).toBe('timeout');
    expect(model.running.value).toBe(false);
  });

  it('a local server: the pixel URL fails as public-url-local, the warnings are shown one by one', async () => {
    const local = 'http://localhost:8787/p/acct0123456789abcdef/';
    const warnings = [
      { code: 'public-url-local', message: 'OPENPING_PUBLIC_URL (http://localhost:8787) points at localhost.' },
      { code: 'public-url-http', message: 'OPENPING_PUBLIC_URL (http://localhost:8787) is not https.' },
    ];
    const model = createSetupCheckModel(
      deps({
        testConnection: async () => ({ ok: true, error: null, warnings }),
        setupAccount: async () => ({ ok: true, error: null, server: 'http://localhost:8787', pixelBase: local, fingerprint: 'ab12-cd34' }),
      }),
    );
    await model.run();
    const pixel = model.checks.value.find((c) => c.id === 'pixel-url')!;
    expect(pixel.result).toBe('fail');
    expect(pixel.codes).toEqual(['public-url-local']);
    expect(pixel.detail).toMatch(/localhost:8787/);
    expect(pixel.next).toMatch(/public https address/);
    const shown = model.checks.value.find((c) => c.id === 'warnings')!;
    expect(shown.result).toBe('fail');
    expect(shown.codes).toEqual(['public-url-local', 'public-url-http']);
    // Each warning on its line: its meaning in the user's language, then the server's own sentence (lib/i18n.ts healthText).
    expect(shown.detail!.split('\n')).toEqual([
      `Recipients cannot reach the server's public URL. ${warnings[0]!.message}`,
      `The server's public URL is not https. ${warnings[1]!.message}`,
    ]);
  });

  it('the public-URL warnings as the server gives them are worded from their code and parameters, in the user’s language', async () => {
    const local = 'http://localhost:8787/p/acct0123456789abcdef/';
    // What /healthz sends for this configuration (backend/health.ts): code, English sentence, parameters.
    const warnings = publicUrlWarnings('http://localhost:8787');
    expect(warnings.map((w) => w.params)).toEqual([
      { url: 'http://localhost:8787', host: 'localhost', why: 'localhost' },
      { url: 'http://localhost:8787', host: 'localhost' },
    ]);
    const run = async () => {
      const model = createSetupCheckModel(
        deps({
          testConnection: async () => ({ ok: true, error: null, warnings }),
          setupAccount: async () => ({ ok: true, error: null, server: 'http://localhost:8787', pixelBase: local, fingerprint: 'ab12-cd34' }),
        }),
      );
      await model.run();
      return model.checks.value.find((c) => c.id === 'warnings')!.detail!.split('\n');
    };
    try {
      await useLocale('de');
      const german = await run();
      expect(german).toEqual([
        'Empfänger können die öffentliche URL des Servers nicht erreichen. OPENPING_PUBLIC_URL (http://localhost:8787) zeigt auf localhost (ein Name, der immer den eigenen Rechner meint): Setzen Sie es auf die öffentliche https-Adresse dieses Servers, etwa https://track.example.com.',
        expect.stringMatching(/^Die öffentliche URL des Servers .* OPENPING_PUBLIC_URL \(http:\/\/localhost:8787\) ist nicht https: /),
      ]);
      // None of the server's English reaches a German page.
      for (const w of warnings) expect(german.join(' ')).not.toContain(w.message);
      expect(german.join(' ')).not.toContain('machine itself');
    } finally {
      await useLocale('en');
    }
  });

  it('a server that is not OpenPing fails the first step with the next step in plain words', async () => {
    const model = createSetupCheckModel(
      deps({ testConnection: async () => ({ ok: false, error: 'The server answered, but not like an OpenPing tracking server.', warnings: [] }) }),
    );
    await model.run();
    const server = model.checks.value.find((c) => c.id === 'server')!;
    expect(server.result).toBe('fail');
    expect(server.detail).toMatch(/not like an OpenPing/);
    expect(server.next).toMatch(/\/healthz/);
  });
});

describe('the background’s setup steps against the real server', () => {
  let server: Running;
  beforeAll(async () => {
    server = await startTestServer({ accountsPerHour: 1000 });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });
  beforeEach(async () => {
    fakeBrowser.reset();
    installFakeDnr();
    closeDb();
    globalThis.indexedDB = new IDBFactory();
    await saveSettings({ server: server.url });
  });
  afterEach(async () => {
    await stopLivePolling();
  });

  it('setupAccount creates the account and gives a fingerprint, not the id', async () => {
    const res = await handlers.setupAccount({ type: 'setupAccount' }, OWN_PAGE);
    const identity = (await loadIdentity())!;
    expect(res).toMatchObject({ ok: true, error: null, pixelBase: identity.pixelBase });
    expect(res.fingerprint).toMatch(/^[0-9a-f]{4}-[0-9a-f]{4}$/);
    expect(JSON.stringify(res)).not.toContain(`"${identity.account}"`);
  });

  it('the test pixel comes back as the sender’s own view, is deleted, and never lists as tracked mail', async () => {
    await handlers.setupAccount({ type: 'setupAccount' }, OWN_PAGE);
    const identity = (await loadIdentity())!;
    const probe = await handlers.probePixel({ type: 'probePixel' }, OWN_PAGE);
    expect(probe.ok).toBe(true);
    expect(probe.url).toBe(`${identity.pixelBase}${probe.tracker}.gif`);
    // The page loads the pixel; the test server's public URL is a stand-in, so load it from the server itself.
    const path = new URL(probe.url!).pathname;
    const gif = await fetch(`${server.url}${path}`, { headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36' } });
    expect(gif.headers.get('content-type')).toBe('image/gif');
    const res = await handlers.probeResult({ type: 'probeResult', tracker: probe.tracker!, waitMs: 10_000 }, OWN_PAGE);
    expect(res).toEqual({ ok: true, error: null, kind: 'self' });
    const after = await fetch(`${server.url}/v1/trackers/${probe.tracker}`, { headers: { authorization: `Bearer ${identity.token}` } });
    expect(after.status).toBe(404);
    // Its hit arrives through the feed like any other; the extension keeps no email for it.
    expect((await syncOnce()).ok).toBe(true);
    expect(await (await db()).get('emails', probe.tracker!)).toBeUndefined();
  });

  it('a pixel that never arrives: probeResult says so within its wait, and still deletes the tracker', async () => {
    await handlers.setupAccount({ type: 'setupAccount' }, OWN_PAGE);
    const identity = (await loadIdentity())!;
    const probe = await handlers.probePixel({ type: 'probePixel' }, OWN_PAGE);
    const res = await handlers.probeResult({ type: 'probeResult', tracker: probe.tracker!, waitMs: 0 }, OWN_PAGE);
    expect(res).toEqual({ ok: false, error: null, kind: null });
    const after = await fetch(`${server.url}/v1/trackers/${probe.tracker}`, { headers: { authorization: `Bearer ${identity.token}` } });
    expect(after.status).toBe(404);
  });

  it('refuses the setup steps from a web page', async () => {
    const page = { url: 'https://mail.google.com/', tab: { url: 'https://mail.google.com/' } };
    expect((await handlers.setupAccount({ type: 'setupAccount' }, page)).ok).toBe(false);
    expect((await handlers.probePixel({ type: 'probePixel' }, page)).ok).toBe(false);
    expect(await loadIdentity()).toBeNull();
  });
});

describe('on install', () => {
  beforeEach(() => {
    fakeBrowser.reset();
    installFakeDnr();
    closeDb();
    globalThis.indexedDB = new IDBFactory();
  });
  afterEach(async () => {
    await stopLivePolling();
    vi.restoreAllMocks();
  });

  it('opens the setup page on a first install, not on an update', async () => {
    const create = vi.spyOn(fakeBrowser.tabs, 'create').mockResolvedValue({} as Awaited<ReturnType<typeof fakeBrowser.tabs.create>>);
    // No server answers at the default address: the setup page is what tells the user.
    await saveSettings({ server: 'http://127.0.0.1:9' });
    await startBackground();
    await fakeBrowser.runtime.onInstalled.trigger({ reason: 'update', previousVersion: '0.0.9', temporary: false });
    expect(create).not.toHaveBeenCalled();
    await fakeBrowser.runtime.onInstalled.trigger({ reason: 'install', temporary: false });
    await expect.poll(() => create.mock.calls.length).toBe(1);
    expect(create.mock.calls[0]![0]).toEqual({ url: expect.stringMatching(/\/onboarding\.html$/) });
  });
});
