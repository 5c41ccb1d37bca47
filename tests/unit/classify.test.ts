/**
 * The classification engine's rules one by one, the exact edges of each
 * timing window, the wording of reasons, and robustness on any input.
 * Networks are given as the server would pass them (prefix, ASN, org).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classify } from '../../backend/classify/index.ts';
import { TIMING } from '../../backend/classify/data/timing.ts';
import { HIT_KINDS, type HitSignals, type NetworkInfo, type PriorHit, type TrackerContext } from '../../backend/classify/types.ts';
import { UA } from '../fixtures/classify-corpus.ts';

const SENT = 1_764_201_600_000;
const NET = {
  google: { prefix: '66.249.93.0/24', family: 4, asn: 15169, org: 'Google LLC' },
  yahoo: { prefix: '87.248.107.0/24', family: 4, asn: 10310, org: 'Oath Holdings Inc.' },
  apple: { prefix: '17.58.63.0/24', family: 4, asn: 714, org: 'Apple Inc.' },
  akamaiRelay: { prefix: '2a02:26f7:b018::/48', family: 6, asn: 36183, org: 'Akamai Technologies, Inc.' },
  microsoft: { prefix: '40.92.18.0/24', family: 4, asn: 8075, org: 'Microsoft Corporation' },
  microsoft6: { prefix: '2a01:111:f403::/48', family: 6, asn: 8075, org: 'Microsoft Corporation' },
  azure: { prefix: '20.42.10.0/24', family: 4, asn: 8075, org: 'Microsoft Corporation' },
  aws: { prefix: '3.80.10.0/24', family: 4, asn: 14618, org: 'Amazon.com, Inc.' },
  home: { prefix: '73.162.10.0/24', family: 4, asn: 7922, org: 'Comcast Cable Communications, LLC' },
  home6: { prefix: '2003:e8:1f00::/48', family: 6, asn: 3320, org: 'Deutsche Telekom AG' },
  unknown: { prefix: '10.1.2.0/24', family: 4, asn: null, org: null },
} satisfies Record<string, NetworkInfo>;

function hit(after: number, network: NetworkInfo, userAgent: string | null, extra: Partial<HitSignals> = {}): HitSignals {
  return { at: SENT + after, method: 'GET', userAgent, headers: {}, network, ...extra };
}
function sent(extra: Partial<TrackerContext> = {}): TrackerContext {
  return { state: 'sent', sentAt: SENT, selfViews: [], prior: [], ...extra };
}
function prior(after: number, network: NetworkInfo, userAgent: string | null, kind: PriorHit['kind'] = 'open'): PriorHit {
  return { at: SENT + after, prefix: network.prefix, userAgent, kind };
}

describe('classify: who fetched', () => {
  it('believes Gmail\'s proxy from Google\'s network and calls it an open in Gmail', () => {
    const c = classify(hit(600_000, NET.google, UA.gmailProxy), sent());
    expect(c).toMatchObject({ kind: 'open', via: 'gmail-proxy', client: { name: 'Gmail', os: null, device: null } });
    expect(c.reason).toMatch(/Gmail/);
  });

  it('calls a proxy user-agent from another network a forgery, naming the network', () => {
    for (const network of [NET.aws, NET.home, NET.microsoft, NET.unknown]) {
      const c = classify(hit(600_000, network, UA.gmailProxy), sent());
      expect(c.kind, network.prefix).toBe('bot');
      expect(c.reason).toMatch(/Claimed to be Gmail's image proxy/);
      if (network.org) expect(c.reason).toContain(network.org);
    }
    expect(classify(hit(600_000, NET.google, UA.yahooProxy), sent()).kind).toBe('bot');
    expect(classify(hit(600_000, NET.yahoo, UA.yahooProxy), sent())).toMatchObject({ kind: 'open', via: 'yahoo-proxy' });
  });

  it('tells Apple MPP only from Apple and the Private Relay operators', () => {
    for (const network of [NET.apple, NET.akamaiRelay]) {
      const c = classify(hit(60_000, network, UA.mpp), sent());
      expect(c).toMatchObject({ kind: 'prefetch', via: 'apple-mpp' });
      expect(c.reason).toBe('Apple Mail Privacy Protection downloaded this when the message arrived; Apple hides whether it was opened.');
    }
    expect(classify(hit(60_000, NET.home, UA.mpp), sent()).kind).toBe('bot');
    // A person browsing through Private Relay is a person.
    expect(classify(hit(3_600_000, NET.akamaiRelay, UA.safariIphone), sent()).kind).toBe('open');
  });

  it('tells Gmail\'s prefetch bot from Google, and not from elsewhere', () => {
    expect(classify(hit(30_000, NET.google, UA.gmailPrefetch), sent())).toMatchObject({ kind: 'prefetch', via: 'gmail-prefetch' });
    expect(classify(hit(30_000, NET.aws, UA.gmailPrefetch), sent()).kind).toBe('bot');
  });

  it('names mail clients and browsers with their system', () => {
    expect(classify(hit(3_600_000, NET.home, UA.outlookWin), sent())).toMatchObject({
      kind: 'open', client: { name: 'Outlook', os: 'Windows', device: 'desktop' }, reason: 'Opened in Outlook on Windows.',
    });
    expect(classify(hit(3_600_000, NET.home6, UA.appleMailIphone), sent()).client).toEqual({ name: 'Apple Mail', os: 'iOS', device: 'mobile' });
    expect(classify(hit(3_600_000, NET.home, UA.thunderbird), sent()).client).toEqual({ name: 'Thunderbird', os: 'Linux', device: 'desktop' });
    expect(classify(hit(3_600_000, NET.home, UA.chromeWin), sent()).client).toEqual({ name: 'Chrome', os: 'Windows', device: 'desktop' });
    expect(classify(hit(3_600_000, NET.home, UA.safariIphone), sent()).client).toEqual({ name: 'Safari', os: 'iOS', device: 'mobile' });
    expect(classify(hit(3_600_000, NET.home, UA.androidMail), sent()).reason).toBe('Opened in an Android app.');
  });

  it('calls ordinary-looking fetches from security vendors and data centres scanners', () => {
    expect(classify(hit(3_600_000, NET.microsoft, UA.chromeWin), sent())).toMatchObject({ kind: 'scanner', via: 'microsoft-defender' });
    expect(classify(hit(3_600_000, NET.microsoft6, UA.chromeWin), sent())).toMatchObject({ kind: 'scanner', via: 'microsoft-defender' });
    // The rest of Microsoft's AS is Azure: a data centre, no vendor named.
    expect(classify(hit(3_600_000, NET.azure, UA.chromeWin), sent())).toMatchObject({ kind: 'scanner', via: null });
    const c = classify(hit(3_600_000, NET.aws, UA.chromeWin), sent());
    expect(c).toMatchObject({ kind: 'scanner', via: null });
    expect(c.reason).toContain('Amazon.com, Inc.');
  });

  it('calls HEAD requests link checks, tools and crawlers bots, isbot only after the proxies', () => {
    expect(classify(hit(3_600_000, NET.home, UA.chromeWin, { method: 'HEAD' }), sent()).kind).toBe('scanner');
    expect(classify(hit(3_600_000, NET.home, UA.msExistence, { method: 'HEAD' }), sent())).toMatchObject({ kind: 'scanner', via: 'microsoft-office' });
    expect(classify(hit(3_600_000, NET.aws, UA.gmailProxy, { method: 'HEAD' }), sent())).toMatchObject({ kind: 'scanner', via: null, client: null });
    expect(classify(hit(3_600_000, NET.home, UA.curl), sent())).toMatchObject({ kind: 'bot', client: { name: 'curl' } });
    expect(classify(hit(3_600_000, NET.home, UA.googlebot), sent()).kind).toBe('bot');
    expect(classify(hit(3_600_000, NET.home, UA.chromeWin, { headers: { from: 'bot@example.org' } }), sent()).kind).toBe('bot');
    for (const ua of [null, '', '   ']) expect(classify(hit(3_600_000, NET.home, ua), sent()).kind).toBe('bot');
  });
});

/**
 * Issue 14, user agents: real user-agents from public fixture lists (sources
 * beside each), each fetching an hour after sending from a home network unless
 * said otherwise.
 */
describe('classify: real user-agents (issue 14)', () => {
  const at = (ua: string, network: NetworkInfo = NET.home) => classify(hit(3_600_000, network, ua), sent());

  it('lets isbot speak even when a mail client is named: a crawler that borrows Thunderbird\'s name is a bot', () => {
    // monperrus/crawler-user-agents (cognitiveSEO's crawler): an old Thunderbird user-agent with " - WebCrawler <url>" appended.
    const crawler = 'Mozilla/5.0 (Windows; U; Windows NT 5.0; en-US; rv:1.7.10) Gecko/20050716 Thunderbird/1.0.6 - WebCrawler http://cognitiveseo.com/bot.html';
    expect(at(crawler).kind).toBe('bot');
    // The real client is still an open in Thunderbird.
    expect(at(UA.thunderbird)).toMatchObject({ kind: 'open', client: { name: 'Thunderbird' } });
  });

  it('does not take every Android WebView for a mail app, and lets isbot judge it', () => {
    // An Android WebView (the "; wv)" token) is any app's embedded browser.
    const c = at(UA.androidMail);
    expect(c.kind).toBe('open');
    expect(c.reason).not.toMatch(/mail app/);
    expect(c.client).toMatchObject({ os: 'Android', device: 'mobile' });
    // matomo-org/device-detector Tests/fixtures/bots.yml (Lumar, formerly DeepCrawl): a WebView user-agent with the crawler's URL.
    const lumar = 'Mozilla/5.0 (Linux; Android 7.0; SM-G892A Build/NRD90M; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/60.0.3112.107 Mobile Safari/537.36 https://deepcrawl.com/bot';
    expect(at(lumar).kind).toBe('bot');
  });

  it('calls HTTP libraries and headless tools bots, from a home network too', () => {
    // matomo-org/device-detector Tests/Parser/Client/fixtures/library.yml
    for (const ua of [
      'Mozilla/5.0 (win32) AppleWebKit/537.36 (KHTML, like Gecko) jsdom/15.2.1',
      'Dart/2.16 (dart:io)',
      'ReactorNetty/0.9.10.RELEASE',
      'Mozilla/5.0 (X11; Linux x86_64; rv:21.0) Gecko/20100101 SlimerJS/0.7',
    ]) {
      for (const network of [NET.home, NET.home6]) expect(at(ua, network).kind, ua).toBe('bot');
    }
  });

  it('calls PowerShell\'s web cmdlets a tool', () => {
    // PowerShell/PowerShell PSUserAgent.cs: "Mozilla/5.0 (<platform>; <OS>; <culture>) PowerShell/<version>" (WindowsPowerShell/ in 5.1).
    expect(at('Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.1682')).toMatchObject({ kind: 'bot', client: { name: 'PowerShell' } });
    expect(at('Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.22631; en-US) PowerShell/7.4.1').kind).toBe('bot');
  });

  it('knows real mail clients that isbot flags, and believes them only from a network people use', () => {
    // matomo-org/device-detector Tests/Parser/Client/fixtures/pim.yml
    const clients: Array<[string, string]> = [
      ['eMClient/9.3.6041.0', 'eM Client'],
      ['WindowsMail/17.5.9600.22013', 'Windows Mail'],
      ['NaverMailApp/2.2.2 (Android 10; SM-G986N)', 'NAVER Mail'],
      ['Yahoo%20Mail/49268 CFNetwork/1121.2.2 Darwin/19.3.0', 'Yahoo Mail'],
    ];
    for (const [ua, name] of clients) {
      const c = at(ua);
      expect(c, ua).toMatchObject({ kind: 'open', client: { name } });
      expect(c.reason).toContain(`Opened in ${name}`);
      // The same user-agent from a rented server is not a person reading mail.
      expect(at(ua, NET.aws).kind, ua).not.toBe('open');
    }
  });

  it('does not call a phone a bot because its model name contains "bot" or "Discovery"', () => {
    // matomo-org/device-detector Tests/fixtures (smartphone, tablet): device models inside the platform part.
    for (const ua of [
      'Mozilla/5.0 (Linux; Android 7.0; C Bot Tab 100) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.157 Safari/537.36',
      'Mozilla/5.0 (Linux; Android 8.1.0; XBot_Senior Build/O11019) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/65.0.3325.109 Mobile Safari/537.36',
      'Mozilla/5.0 (Linux; U; Android 4.2.2; es-es; Discovery2-DG500C Build/JDQ39) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30',
      'Mozilla/5.0 (Linux; Android 5.1; Discovery 102C) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0.3904.62 Safari/537.36',
    ]) {
      expect(at(ua), ua).toMatchObject({ kind: 'open', client: { os: 'Android' } });
    }
    // The class is the model slot, not the word: "bot" elsewhere still decides.
    expect(at('Mozilla/5.0 (Linux; Android 7.0; SM-G892A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/60.0.3112.107 Mobile Safari/537.36 (compatible; ExampleBot/1.0)').kind).toBe('bot');
  });
});

describe('classify: timing windows, exactly at their edges', () => {
  it('presend: armed, or before sentAt; sentAt itself is sent', () => {
    expect(classify(hit(0, NET.home, UA.chromeWin), { state: 'armed', sentAt: null, selfViews: [], prior: [] }).kind).toBe('presend');
    expect(classify(hit(-1, NET.google, UA.gmailProxy), sent()).kind).toBe('presend');
    expect(classify(hit(0, NET.google, UA.gmailProxy), sent()).kind).not.toBe('presend');
  });

  it('too fast: up to and including the window a would-be open is a scanner; one millisecond later it is an open', () => {
    const edge = TIMING.tooFast.ms;
    expect(classify(hit(edge, NET.home, UA.chromeWin), sent()).kind).toBe('scanner');
    expect(classify(hit(edge + 1, NET.home, UA.chromeWin), sent()).kind).toBe('open');
    expect(classify(hit(edge, NET.google, UA.gmailProxy), sent()).kind).toBe('scanner');
    expect(classify(hit(edge + 1, NET.google, UA.gmailProxy), sent()).kind).toBe('open');
    // Machines known by their signature keep their own kind however early.
    expect(classify(hit(1_000, NET.apple, UA.mpp), sent()).kind).toBe('prefetch');
  });

  it('duplicate: same prefix and user-agent within the window, measured from the latest such fetch', () => {
    const edge = TIMING.duplicate.ms;
    const first = prior(60_000, NET.yahoo, UA.yahooProxy);
    expect(classify(hit(60_000 + edge, NET.yahoo, UA.yahooProxy), sent({ prior: [first] })).kind).toBe('duplicate');
    expect(classify(hit(60_000 + edge + 1, NET.yahoo, UA.yahooProxy), sent({ prior: [first] })).kind).toBe('open');
    expect(classify(hit(61_000, NET.yahoo, UA.chromeWin), sent({ prior: [first] })).kind).toBe('open');
    expect(classify(hit(61_000, NET.google, UA.yahooProxy), sent({ prior: [first] })).kind).toBe('bot');
    // A fetch before the send is not something to repeat.
    const draft = prior(-1_000, NET.home, UA.chromeWin, 'presend');
    expect(classify(hit(20_000, NET.home, UA.chromeWin), sent({ prior: [{ ...draft, at: SENT + 15_000, kind: 'open' }] })).kind).toBe('duplicate');
    expect(classify(hit(8_000, NET.home, UA.chromeWin), sent({ prior: [draft] })).kind).toBe('open');
    const reason = classify(hit(62_000, NET.yahoo, UA.yahooProxy), sent({ prior: [first] })).reason;
    expect(reason).toBe('A repeat of the fetch 2 seconds earlier from the same place — counted once.');
  });

  it('self: from the window before a self-view to the window after it, and nothing beyond', () => {
    const view = SENT + 3_600_000;
    const at = (offset: number) => classify(hit(3_600_000 + offset, NET.google, UA.gmailProxy), sent({ selfViews: [view] })).kind;
    expect(at(-TIMING.selfBefore.ms - 1)).toBe('open');
    expect(at(-TIMING.selfBefore.ms)).toBe('self');
    expect(at(0)).toBe('self');
    expect(at(TIMING.selfAfter.ms)).toBe('self');
    expect(at(TIMING.selfAfter.ms + 1)).toBe('open');
    // Any of several views counts; an old one hides nothing.
    expect(classify(hit(7_200_000, NET.home, UA.chromeWin), sent({ selfViews: [SENT + 10_000, SENT + 7_200_000] })).kind).toBe('self');
    expect(classify(hit(7_200_000, NET.home, UA.chromeWin), sent({ selfViews: [SENT + 10_000] })).kind).toBe('open');
  });

  it('self wins over data-centre and too-fast guesses, but not over a known machine', () => {
    expect(classify(hit(3_000, NET.google, UA.gmailProxy), sent({ selfViews: [SENT + 2_000] })).kind).toBe('self');
    expect(classify(hit(600_000, NET.aws, UA.firefoxLinux), sent({ selfViews: [SENT + 600_000] })).kind).toBe('self');
    expect(classify(hit(600_000, NET.apple, UA.mpp), sent({ selfViews: [SENT + 600_000] })).kind).toBe('prefetch');
    expect(classify(hit(600_000, NET.home, UA.curl), sent({ selfViews: [SENT + 600_000] })).kind).toBe('bot');
  });
});

describe('classify: reasons and robustness', () => {
  it('writes every reason as one plain sentence', () => {
    const samples = [
      classify(hit(600_000, NET.google, UA.gmailProxy), sent()),
      classify(hit(600_000, NET.yahoo, UA.yahooProxy), sent()),
      classify(hit(600_000, NET.aws, UA.gmailProxy), sent()),
      classify(hit(600_000, NET.unknown, UA.mpp), sent()),
      classify(hit(600_000, NET.apple, UA.mpp), sent()),
      classify(hit(600_000, NET.google, UA.gmailPrefetch), sent()),
      classify(hit(600_000, NET.microsoft, UA.chromeWin), sent()),
      classify(hit(600_000, NET.aws, UA.chromeWin), sent()),
      classify(hit(600_000, NET.unknown, UA.chromeWin), sent()),
      classify(hit(600, NET.home, UA.chromeWin), sent()),
      classify(hit(600_000, NET.home, UA.chromeWin, { method: 'HEAD' }), sent()),
      classify(hit(600_000, NET.home, null), sent()),
      classify(hit(600_000, NET.home, 'SomethingUnheardOf/1.0'), sent()),
      classify(hit(600_000, NET.home, UA.barracuda), sent()),
      classify(hit(-5, NET.home, UA.chromeWin), sent()),
    ];
    for (const { reason } of samples) {
      expect(reason).toMatch(/^[A-Z"].*[.]$/);
      expect(reason).not.toMatch(/undefined|null|NaN|\[object/);
      expect(reason.length).toBeLessThanOrEqual(160);
      expect(reason.split(/[.!?] [A-Z]/).length, reason).toBe(1);
    }
    expect(samples[9]!.reason).toBe('Fetched less than a second after sending — too soon for anyone to have opened it, so it was an automatic check.');
  });

  it('judges a giant user-agent on its first 512 characters', () => {
    expect(classify(hit(3_600_000, NET.home, `curl/8.5.0 ${'x'.repeat(5_000)}`), sent()).kind).toBe('bot');
    const long = `${UA.chromeWin} ${'y'.repeat(5_000)}`;
    const first = prior(3_600_000, NET.home, `${long}a`);
    expect(classify(hit(3_601_000, NET.home, `${long}b`), sent({ prior: [first] })).kind).toBe('duplicate');
  });

  it('is pure: the same answer twice, inputs untouched', () => {
    const signals = hit(600_000, NET.home, UA.chromeWin);
    const tracker = sent({ prior: [prior(1_000, NET.google, UA.gmailProxy)], selfViews: [SENT + 5] });
    const frozen = JSON.stringify([signals, tracker]);
    const a = classify(signals, tracker);
    const b = classify(signals, tracker);
    expect(b).toEqual(a);
    expect(JSON.stringify([signals, tracker])).toBe(frozen);
  });

  it('returns a valid kind and a reason for any input, never throwing', () => {
    const network = fc.record({
      prefix: fc.string(),
      family: fc.constantFrom(4 as const, 6 as const),
      asn: fc.option(fc.constantFrom(15169, 714, 8075, 14618, 36183, 7922, 0, 4_294_967_295)),
      org: fc.option(fc.string()),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: -1e7, max: 1e9 }),
        fc.option(fc.oneof(fc.string(), fc.constantFrom(...Object.values(UA)))),
        fc.constantFrom('GET' as const, 'HEAD' as const),
        network,
        fc.option(fc.string()),
        fc.array(fc.integer({ min: -1e6, max: 1e9 }), { maxLength: 3 }),
        fc.boolean(),
        (after, ua, method, net, from, views, armed) => {
          const c = classify(
            { at: SENT + after, method, userAgent: ua, headers: { from }, network: net },
            { state: armed ? 'armed' : 'sent', sentAt: armed ? null : SENT, selfViews: views.map((v) => SENT + v), prior: [] },
          );
          expect(HIT_KINDS).toContain(c.kind);
          expect(c.reason.length).toBeGreaterThan(10);
        },
      ),
      { numRuns: 500 },
    );
  });
});
