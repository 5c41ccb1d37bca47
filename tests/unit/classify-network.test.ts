/**
 * The network side of issue 14: hits whose meaning depends on who runs the
 * network, decided from the operators' published lists (backend/classify/data/lists)
 * and the AS table. Addresses go through the server's own lookup
 * (lookupNetwork: the kept /24 or /48 and its AS in @ip-location-db/asn), as
 * at ingest; each is taken from the published range named beside it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { classify } from '../../backend/classify/index.ts';
import { networkFacts } from '../../backend/classify/network.ts';
import type { HitSignals, TrackerContext } from '../../backend/classify/types.ts';
import { loadIpData, lookupNetwork } from '../../backend/ipdata/index.ts';
import { UA } from '../fixtures/classify-corpus.ts';

const SENT = Date.UTC(2026, 11, 1, 9);
const HOUR = 3_600_000;

const CHROME_WIN = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
/** fastmail.com/policies/bots: the image proxy's user agent ends in "FastmailUA/1.0". */
const FASTMAIL = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.5993.117 Safari/537.36 FastmailUA/1.0';
/** hey.com/image-proxy: "hey.com/imageproxy" before an ordinary Chrome user agent. */
const HEY = 'hey.com/imageproxy Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36';

function at(ip: string, ua: string | null, after = HOUR): HitSignals {
  const network = lookupNetwork(ip);
  if (!network) throw new Error(`${ip} is not an address`);
  return { at: SENT + after, method: 'GET', userAgent: ua, headers: {}, network };
}
const sent: TrackerContext = { state: 'sent', sentAt: SENT, selfViews: [], prior: [] };

beforeAll(() => loadIpData(), 60_000);

describe('Apple Mail Privacy Protection through iCloud Private Relay', () => {
  it('is a prefetch via apple-mpp from a relay prefix Akamai AS20940 announces', () => {
    // 172.224.244.0/24: in Apple's egress list; AS20940 (Akamai's general network) in the ASN data.
    const hit = at('172.224.244.8', UA.mpp, 2 * 60_000);
    expect(hit.network.asn).toBe(20940);
    expect(classify(hit, sent)).toMatchObject({ kind: 'prefetch', via: 'apple-mpp' });
  });

  it('is a prefetch from Apple\'s small ranges that no AS announces', () => {
    // 192.12.74.0/24: Apple's (MISP "apple" list), with no AS in the offline data.
    const hit = at('192.12.74.10', UA.mpp, 2 * 60_000);
    expect(hit.network.asn).toBeNull();
    expect(classify(hit, sent)).toMatchObject({ kind: 'prefetch', via: 'apple-mpp' });
  });

  it('is not believed from elsewhere on Akamai AS20940 (its CDN), nor is AS20940 hosting', () => {
    // 2.16.0.0/24: Akamai AS20940, not in the egress list.
    const hit = at('2.16.0.10', UA.mpp, 2 * 60_000);
    expect(hit.network.asn).toBe(20940);
    expect(classify(hit, sent).kind).toBe('bot');
    expect(classify(at('2.16.0.10', CHROME_WIN), sent).kind).toBe('open');
  });

  it('lets a person browsing through Private Relay open the message', () => {
    expect(classify(at('172.224.244.8', UA.safariIphone), sent).kind).toBe('open');
  });
});

describe('security gateways with a browser user agent', () => {
  it.each([
    ['Microsoft 365 on AS8068 (endpoint list)', '13.107.128.10', 'microsoft-defender', /Microsoft/],
    ['Microsoft 365 on AS8075 (endpoint list)', '52.112.10.10', 'microsoft-defender', /Microsoft/],
    ['Microsoft AS8069, outside the endpoint list', '20.33.8.10', 'microsoft-defender', /Microsoft/],
    ['Proofpoint AS52129 (its support page\'s ranges)', '91.209.104.10', 'proofpoint', /Proofpoint/],
    ['Mimecast UK AS39588', '62.140.7.10', 'mimecast', /^Mimecast's e-mail security gateway checked this message/],
    ['Mimecast South Africa AS37235', '41.74.193.10', 'mimecast', /Mimecast/],
  ])('%s is a scanner named by vendor', (_label, ip, via, reason) => {
    const c = classify(at(ip, CHROME_WIN), sent);
    expect(c).toMatchObject({ kind: 'scanner', via });
    expect(c.reason).toMatch(reason);
  });
});

describe('mail providers\' image proxies', () => {
  it('Fastmail\'s proxy from Fastmail\'s network is an open via fastmail-proxy, named Fastmail', () => {
    for (const ip of ['103.168.172.10', '66.111.4.10', '64.147.123.10']) {
      const c = classify(at(ip, FASTMAIL), sent);
      expect(c, ip).toMatchObject({ kind: 'open', via: 'fastmail-proxy', client: { name: 'Fastmail' } });
      expect(c.reason).toMatch(/Fastmail/);
      expect(c.reason).not.toMatch(/Chrome/);
    }
  });

  it('Fastmail\'s user agent from a cloud server is an imitation', () => {
    // 3.80.10.0/24: AWS EC2 (AS14618).
    expect(classify(at('3.80.10.10', FASTMAIL), sent).kind).toBe('bot');
  });

  it('HEY\'s proxy is an open via hey-proxy (HEY publishes no ranges; its own network and ordinary networks are believed)', () => {
    for (const ip of ['204.62.114.10', '73.162.10.10']) {
      const c = classify(at(ip, HEY), sent);
      expect(c, ip).toMatchObject({ kind: 'open', via: 'hey-proxy', client: { name: 'HEY' } });
      expect(c.reason).toMatch(/HEY/);
    }
    // Not from rented servers, nor from a mail-security vendor's network.
    expect(classify(at('3.80.10.10', HEY), sent).kind).toBe('bot');
    expect(classify(at('62.140.7.10', HEY), sent).kind).toBe('bot');
  });

  it('Proton Mail\'s proxy pre-loads on delivery: a prefetch via proton-proxy, never an open', () => {
    for (const ua of [CHROME_WIN, 'Mozilla/5.0', 'Go-http-client/1.1', null]) {
      const c = classify(at('185.70.42.10', ua, 30_000), sent);
      expect(c, String(ua)).toMatchObject({ kind: 'prefetch', via: 'proton-proxy' });
      expect(c.reason).toMatch(/Proton/);
    }
  });
});

describe('Gmail\'s image proxy', () => {
  it('is an imitation from Google Cloud customers\' space, though AS15169 announces it', () => {
    const hit = at('34.0.0.10', UA.gmailProxy);
    expect(hit.network.asn).toBe(15169);
    const c = classify(hit, sent);
    expect(c.kind).toBe('bot');
    expect(c.reason).toMatch(/Google Cloud/);
  });

  it('is an open from Google\'s own space (goog.json minus cloud.json)', () => {
    expect(classify(at('66.249.93.10', UA.gmailProxy), sent)).toMatchObject({ kind: 'open', via: 'gmail-proxy' });
    expect(classify(at('2001:4860:4864:5::1', UA.gmailProxy), sent)).toMatchObject({ kind: 'open', via: 'gmail-proxy' });
  });
});

describe('Outlook and the bare "Mozilla/5.0" (warmbly/warmbly #564)', () => {
  it('from Microsoft\'s mail servers is Microsoft\'s check of the message, not Apple and not a person', () => {
    const c = classify(at('40.92.18.10', UA.mpp, 60_000), sent);
    expect(c).toMatchObject({ kind: 'scanner', via: 'microsoft-defender' });
    expect(c.reason).toMatch(/Microsoft/);
    expect(c.reason).not.toMatch(/Privacy Protection|a script/);
  });
});

describe('networkFacts', () => {
  it('answers from the lists first, then the AS table', () => {
    expect(networkFacts({ prefix: '172.224.244.0/24', asn: 20940 })).toMatchObject({ role: 'private-relay', list: 'icloud-private-relay' });
    expect(networkFacts({ prefix: '34.0.0.0/24', asn: 15169 })).toMatchObject({ role: 'hosting', hosting: true, list: 'google-cloud' });
    expect(networkFacts({ prefix: '66.249.93.0/24', asn: 15169 })).toMatchObject({ role: 'google', hosting: false, list: 'google' });
    expect(networkFacts({ prefix: '2a01:111:f400::/48', asn: 8075 })).toMatchObject({ role: 'security', vendor: { via: 'microsoft-defender' } });
    expect(networkFacts({ prefix: '20.42.10.0/24', asn: 8075 })).toMatchObject({ role: 'hosting', hosting: true, list: null });
    expect(networkFacts({ prefix: '62.140.7.0/24', asn: 39588 })).toMatchObject({ role: 'security', vendor: { name: 'Mimecast' } });
    expect(networkFacts({ prefix: '73.162.10.0/24', asn: 7922 })).toEqual({ role: null, vendor: null, hosting: false, list: null, operator: null });
    expect(networkFacts({ prefix: 'not a prefix', asn: null }).role).toBeNull();
  });
});
