/**
 * The rule that decides whether a pixel URL can be tracked through (issue 15
 * items 5 and 6): the server's public-url-local/-http rule (backend/public-url.ts,
 * shared with /healthz) and the switch's status (SPEC §6 `data-status`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { publicUrlWarnings } from '../../backend/health.ts';
import { LOCAL_RANGES, LOCAL_SUFFIXES, publicUrlProblems } from '../../backend/public-url.ts';
import { switchStatus } from '../../lib/compose';
import { accountFingerprint, pixelBaseProblem, serverUrlError } from '../../lib/setup';
import { useLocale } from './i18n-setup';

describe('the public/https rule is the server’s', () => {
  it.each([
    'https://localhost:8787/p/acct/',
    'https://127.0.0.1/p/a/',
    'https://[::1]/p/a/',
    'https://[::ffff:10.0.0.1]/p/a/',
    'https://192.168.1.4/p/a/',
    'https://nas.local/p/a/',
    'https://openping/p/a/',
    'http://track.example.com/p/a/',
    'https://track.example.com/p/a/',
    'https://[2001:4860:4860::8888]/p/a/',
    'https://8.8.8.8/p/a/',
  ])('%s: the same codes as /healthz', (url) => {
    expect(publicUrlProblems(url).map((p) => p.code)).toEqual(publicUrlWarnings(url).map((w) => w.code));
  });

  it('gives the reason of a local host', () => {
    expect(publicUrlProblems('http://localhost:8787/p/a/')).toEqual([
      { code: 'public-url-local', why: expect.stringMatching(/machine itself/), whyCode: 'localhost' },
      { code: 'public-url-http', why: null, whyCode: null },
    ]);
  });
});

describe('pixelBaseProblem', () => {
  it('no account yet', () => {
    expect(pixelBaseProblem(null, false)?.code).toBe('no-account');
    expect(pixelBaseProblem(null, true)?.code).toBe('no-account');
  });

  it('a public https pixel URL has none', () => {
    expect(pixelBaseProblem('https://track.example.com/p/acct0123456789abcdef/', false)).toBeNull();
  });

  it('local comes before http, and says why in a sentence', () => {
    const problem = pixelBaseProblem('http://localhost:8787/p/acct0123456789abcdef/', false);
    expect(problem?.code).toBe('public-url-local');
    expect(problem?.message).toMatch(/^The pixel URL .*localhost.*\.$/);
    expect(pixelBaseProblem('http://track.example.com/p/a/', false)?.code).toBe('public-url-http');
  });

  it('"Allow a local server" accepts local and http pixel URLs', () => {
    expect(pixelBaseProblem('http://localhost:8787/p/acct0123456789abcdef/', true)).toBeNull();
    expect(pixelBaseProblem('http://192.168.1.4/p/a/', true)).toBeNull();
  });

  it('a pixel URL that is not a URL is a problem, allowed or not', () => {
    expect(pixelBaseProblem('not a url', true)?.code).toBe('bad-url');
  });

  describe('the local reason is worded from its code, in the user’s language', () => {
    afterEach(() => useLocale('en'));
    // One host per reason the server knows: the first address of each range, a name under each suffix, a dotless name.
    const hosts = [
      ...LOCAL_RANGES.map(({ cidr, what }) => ({ host: cidr.includes(':') ? `[${cidr.split('/')[0]}]` : cidr.split('/')[0]!, what })),
      ...LOCAL_SUFFIXES.map(({ suffix, what }) => ({ host: `box.${suffix}`, what })),
      { host: 'openping', what: 'a name without a dot, which only your own network resolves' },
    ];

    it.each(hosts)('$host', async ({ host, what }) => {
      const url = `https://${host}/p/acct0123456789abcdef/`;
      expect(pixelBaseProblem(url, false)?.message).toContain(`, ${what},`);
      await useLocale('de');
      const german = pixelBaseProblem(url, false)!.message;
      expect(german).toMatch(/^Die Pixel-Adresse zeigt auf .* \((eine?|ein) [^)]+\), daher/);
      expect(german).not.toContain(what);
    });
  });
});

describe('switchStatus (SPEC §6 data-status)', () => {
  const PUBLIC = 'https://track.example.com/p/acct0123456789abcdef/';
  const LOCAL = 'http://localhost:8787/p/acct0123456789abcdef/';
  // The background answers the content script with pixelBaseProblem's verdict (lib/background.ts identity).
  const status = (input: { broken?: boolean; pixelBase: string | null; allowLocalServer?: boolean; offline?: boolean }) =>
    switchStatus({
      broken: input.broken ?? false,
      setupProblem: pixelBaseProblem(input.pixelBase, input.allowLocalServer ?? false),
      offline: input.offline ?? false,
    });
  const base = { pixelBase: PUBLIC };

  it('ready with a public https pixel URL', () => {
    expect(status(base)).toBe('ready');
  });
  it('offline when the server cannot be reached now (the pixel still goes)', () => {
    expect(status({ ...base, offline: true })).toBe('offline');
  });
  it('setup without an account, offline or not', () => {
    expect(status({ ...base, pixelBase: null })).toBe('setup');
    expect(status({ ...base, pixelBase: null, offline: true })).toBe('setup');
  });
  it('setup with a local or http pixel URL unless local servers are allowed', () => {
    expect(status({ ...base, pixelBase: LOCAL })).toBe('setup');
    expect(status({ ...base, pixelBase: LOCAL, allowLocalServer: true })).toBe('ready');
    expect(status({ ...base, pixelBase: LOCAL, allowLocalServer: true, offline: true })).toBe('offline');
  });
  it('broken wins over everything', () => {
    expect(status({ ...base, broken: true })).toBe('broken');
    expect(status({ ...base, broken: true, pixelBase: null })).toBe('broken');
  });
});

describe('serverUrlError (the options and setup pages’ URL field)', () => {
  it.each(['http://localhost:8787', 'https://track.example.com', 'https://track.example.com/openping/'])('%s is accepted', (url) => {
    expect(serverUrlError(url)).toBeNull();
  });
  it.each(['ftp://track.example.com', 'javascript:alert(1)', 'track.example.com', '', 'https://'])('%s is refused with a sentence', (url) => {
    expect(serverUrlError(url)).toMatch(/^[A-Z].*\.$/);
  });
});

describe('accountFingerprint', () => {
  it('is short, stable, and not the account id', async () => {
    const account = 'acct0123456789abcdefXYZ';
    const print = await accountFingerprint(account);
    expect(print).toMatch(/^[0-9a-f]{4}-[0-9a-f]{4}$/);
    expect(await accountFingerprint(account)).toBe(print);
    expect(await accountFingerprint(`${account}x`)).not.toBe(print);
    expect(account).not.toContain(print.replace('-', ''));
  });
});
