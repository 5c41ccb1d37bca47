/**
 * No address inside a kept header reaches the disk (issue 13 finding 8): a
 * table of every notation in every place a header puts a host, generated
 * addresses in random notations, host names that must survive, and a grep of
 * the real SQLite files (database, WAL, hit log) a server wrote.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isIP, connect } from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cutHeader, sanitizeHeader, type KeptHeader } from '../../backend/sanitize.ts';
import { newAccount, putTracker, startTestServer, trackerId } from './helpers.ts';

const MASK = '[address]';

/** 10.41.42.43 in every IPv4 notation inet_aton (and so WHATWG's URL parser) reads. */
const V4 = {
  dotted: '10.41.42.43',
  trailingDot: '10.41.42.43.',
  hex: '0x0a.0x29.0x2a.0x2b',
  hexUpper: '0X0A.0X29.0X2A.0X2B',
  octal: '012.051.052.053',
  mixed: '10.0x29.052.43',
  threeParts: '10.41.10795',
  twoParts: '10.2697771',
  integer: '170535467',
  hexInteger: '0x0a292a2b',
  octalInteger: '01212225053',
  paddedOctal: '0012.0051.0052.0053',
};
const V6 = {
  compressed: '2001:db8::5',
  full: '2001:0db8:0000:0000:0000:0000:0000:0005',
  uncompressed: '2001:db8:0:0:0:0:0:5',
  upper: '2001:DB8::5',
  loopback: '::1',
  unspecified: '::',
  mapped: '::ffff:10.41.42.43',
  mappedHex: '::ffff:0a29:2a2b',
  zone: 'fe80::1%eth0',
};
/** Loose in text only these are unmistakably addresses (see sanitize.ts); a plain 10.2697771 reads as a version. */
const LOOSE_V4 = ['dotted', 'hex', 'hexUpper', 'octal', 'mixed', 'hexInteger', 'octalInteger', 'paddedOctal'] as const;

/** Tokens of the output that are an address by node:net, or the notation itself. */
function addressLike(output: string, notation: string): string[] {
  return output
    .split(/[^0-9A-Za-z.:%_-]+/)
    .filter((t) => t !== '' && (isIP(t.replace(/%.*$/, '')) !== 0 || t.toLowerCase() === notation.toLowerCase() || t.toLowerCase() === notation.toLowerCase().replace(/\.$/, '')));
}

function expectMasked(name: KeptHeader, input: string, expected: string | null, notation: string): void {
  const out = sanitizeHeader(name, input);
  expect(out, `${name}: ${input}`).toBe(expected);
  if (out !== null) expect(addressLike(out, notation), `${name}: ${input}`).toEqual([]);
}

describe('every notation, in every place a header holds a host', () => {
  it('IPv4 as a host: Referer, Via, From (literal and not), a URL in any header, with userinfo and port', () => {
    for (const [kind, a] of Object.entries(V4)) {
      expectMasked('referer', `http://${a}:8080/mail/u/0/#inbox`, `http://${MASK}:8080`, a);
      expectMasked('referer', `https://user:secret@${a}/x`, `https://${MASK}`, a);
      expectMasked('via', `1.1 ${a}`, `1.1 ${MASK}`, a);
      expectMasked('via', `1.0 fred, 1.1 ${a}:3128 (squid/3.5.27)`, `1.0 fred, 1.1 ${MASK}:3128 (squid/3.5.27)`, a);
      expectMasked('from', `bob@${a}`, `bob@${MASK}`, a);
      expectMasked('user-agent', `Bot/1.0 (+http://ops@${a}:81/bot.html)`, `Bot/1.0 (+http://${MASK}:81/bot.html)`, a);
      expectMasked('accept', `text/html; src=https://${a}/`, `text/html; src=https://${MASK}/`, a);
      if (!kind.startsWith('trailing')) expectMasked('from', `Bob <bob@[${a}]>`, `Bob <bob@${MASK}>`, a);
    }
  });

  it('IPv6 as a host: bracketed in URLs, in Via with and without brackets, as a mail domain literal', () => {
    for (const [kind, a] of Object.entries(V6)) {
      const inUrl = kind === 'zone' ? a.replace('%', '%25') : a;
      // WHATWG's parser refuses zone ids in URLs: such a Referer is dropped whole.
      expectMasked('referer', `http://[${inUrl}]:8080/x`, kind === 'zone' ? null : `http://${MASK}:8080`, a);
      expectMasked('via', `1.1 [${a}]:8080`, `1.1 ${MASK}:8080`, a);
      expectMasked('via', `1.1 ${a}`, `1.1 ${MASK}`, a);
      expectMasked('from', `bob@[IPv6:${a}]`, `bob@${MASK}`, a);
      expectMasked('user-agent', `Bot/2 (+http://[${inUrl}]/x)`, `Bot/2 (+http://${MASK}/x)`, a);
    }
  });

  it('loose in text: four-part and hex/octal IPv4 forms and every IPv6 form; versions stay', () => {
    for (const kind of LOOSE_V4) {
      const a = V4[kind];
      expectMasked('user-agent', `Scanner/3.2 (node ${a}; probe)`, `Scanner/3.2 (node ${MASK}; probe)`, a);
      expectMasked('via', `1.1 proxy.example (cache ${a})`, `1.1 proxy.example (cache ${MASK})`, a);
    }
    for (const a of Object.values(V6)) {
      expectMasked('user-agent', `Scanner/3.2 (node ${a}; probe)`, `Scanner/3.2 (node ${MASK}; probe)`, a);
      expectMasked('user-agent', `Scanner/3.2 (at [${a}]:443)`, `Scanner/3.2 (at ${MASK}:443)`, a);
    }
    // The reports' own examples (issue 13).
    expect(sanitizeHeader('referer', 'http://10.61.62.63:8080')).toBe(`http://${MASK}:8080`);
    expect(sanitizeHeader('referer', 'http://[2001:db8::5]')).toBe(`http://${MASK}`);
    expect(sanitizeHeader('from', 'bob@[10.71.72.73]')).toBe(`bob@${MASK}`);
    expect(sanitizeHeader('via', '1.1 0x0a.0x29.0x2a.0x2b')).toBe(`1.1 ${MASK}`);
    expect(sanitizeHeader('via', '1.1 167772215')).toBe(`1.1 ${MASK}`);
  });

  it('a value cut to length loses the word the cut falls in, so no piece of an address passes for a version', () => {
    const value = `${'Mozilla/5.0 '.repeat(40)}node 10.41.42.43 end`;
    const at = value.indexOf('10.41.42.43') + 8;
    const cut = cutHeader(value, at);
    expect(cut.length).toBeLessThanOrEqual(at);
    expect(cut).not.toContain('10.41');
    expect(cut.endsWith('node ')).toBe(true);
    expect(cutHeader('short', 512)).toBe('short');
  });

  it('host names that spell an address are masked whole', () => {
    expect(sanitizeHeader('referer', 'https://10.41.42.43.nip.io/x')).toBe(`https://${MASK}`);
    expect(sanitizeHeader('via', '1.1 ec2-10-41-42-43.compute-1.amazonaws.com')).toBe(`1.1 ${MASK}`);
    expect(sanitizeHeader('from', 'root@host-10-41-42-43.isp.example')).toBe(`root@${MASK}`);
  });

  it('keeps names, versions and everything else a classifier reads', () => {
    const kept: Array<[KeptHeader, string]> = [
      ['user-agent', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'],
      ['user-agent', 'Mozilla/5.0 (Linux; Android 13; SM-A515F) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.109 Mobile Safari/537.36'],
      ['user-agent', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1'],
      ['user-agent', 'Instagram 269.0.0.18.75 Android (30/11; 420dpi; 1080x2129; samsung; SM-A515F; a51; exynos9611; en_US; 443413218)'],
      ['user-agent', 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)'],
      ['user-agent', 'YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html'],
      ['user-agent', 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'],
      ['user-agent', 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)'],
      ['accept', 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8'],
      ['accept-language', 'en-US,en;q=0.9,de;q=0.8'],
      ['accept-encoding', 'gzip, deflate, br, zstd'],
      ['via', '1.1 google'],
      ['via', '1.0 fred, 1.1 p.example.net (Apache/1.1)'],
      ['via', 'HTTP/1.1 proxy_1:80'],
      ['from', 'googlebot(at)googlebot.com'],
      ['from', 'crawler@example.com'],
      ['referer', 'https://mail.google.com'],
      ['referer', 'http://localhost:3000'],
    ];
    for (const [name, value] of kept) expect(sanitizeHeader(name, value), value).toBe(value);
    expect(sanitizeHeader('referer', 'https://mail.google.com/mail/u/0/#inbox/FMfcgz')).toBe('https://mail.google.com');
    expect(sanitizeHeader('user-agent', null)).toBeNull();
  });
});

// ── generated ────────────────────────────────────────────────────────────────

interface Rendered {
  text: string;
  /** Whether loose in text it is unmistakably an address (sanitize.ts's rule for free text). */
  loose: boolean;
}

const byte = fc.integer({ min: 0, max: 255 });
/** One IPv4 address in a random inet_aton notation: 1–4 parts, each decimal, 0x-hex (any case, padded) or 0-octal. */
const ipv4: fc.Arbitrary<Rendered> = fc
  .tuple(fc.tuple(byte, byte, byte, byte), fc.integer({ min: 1, max: 4 }), fc.array(fc.constantFrom('dec', 'hex', 'HEX', 'oct', 'pad'), { minLength: 4, maxLength: 4 }), fc.boolean())
  .map(([bytes, count, radixes, trailingDot]) => {
    const value = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
    // The last part carries the remaining bytes (inet_aton: a.b.c → c is 16 bits, a.b → b is 24).
    const parts: number[] = [];
    for (let i = 0; i < count - 1; i++) parts.push(bytes[i]!);
    parts.push(count === 1 ? value : value % 2 ** (8 * (5 - count)));
    let unusual = false;
    const text = parts
      .map((n, i) => {
        const radix = radixes[i]!;
        if (radix === 'dec' || (radix === 'oct' && n === 0)) return String(n);
        unusual = true;
        if (radix === 'hex') return `0x${n.toString(16)}`;
        if (radix === 'HEX') return `0X${n.toString(16).toUpperCase()}`;
        if (radix === 'pad') return `0x00${n.toString(16)}`;
        return `0${n.toString(8)}`;
      })
      .join('.');
    return { text: text + (trailingDot ? '.' : ''), loose: count === 4 || unusual };
  });

/** One IPv6 address in a random text form: any run of zero groups compressed, case, leading zeros, an IPv4 tail, a zone id. */
const ipv6: fc.Arbitrary<Rendered> = fc
  .tuple(
    fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }),
    fc.nat(),
    fc.nat(),
    fc.boolean(),
    fc.boolean(),
    fc.boolean(),
    fc.option(fc.constantFrom('eth0', '1', 'en0'), { nil: undefined }),
  )
  .map(([groups, from, length, upper, padded, v4tail, zone]) => {
    let words = groups.map((g) => (padded ? g.toString(16).padStart(4, '0') : g.toString(16)));
    if (v4tail) words = [...words.slice(0, 6), `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`];
    const slots = words.length;
    const start = from % slots;
    const end = start + (length % (slots - start + 1));
    let text = end - start >= 1 ? `${words.slice(0, start).join(':')}::${words.slice(end).join(':')}` : words.join(':');
    if (upper) text = text.toUpperCase();
    return { text: zone ? `${text}%${zone}` : text, loose: true };
  })
  .filter((r) => isIP(r.text.replace(/%.*$/, '')) === 6);

// Labels that are names, not spelled addresses (`a-0-0-0-0` spells 0.0.0.0 and is masked on purpose).
const label = fc.stringMatching(/^[a-z][a-z0-9]{0,6}(?:-[a-z][a-z0-9]{0,4})?$/);
const hostName = fc.tuple(fc.array(label, { minLength: 1, maxLength: 3 }), fc.constantFrom('com', 'net', 'example', 'io', 'de')).map(([labels, tld]) => [...labels, tld].join('.'));

/** [header, template]: `{}` is where the host goes; `host` says whether the grammar puts a host there. */
const PLACES: Array<{ name: KeptHeader; template: string; host: boolean; v6: 'bracket' | 'bare' | 'literal' }> = [
  { name: 'referer', template: 'http://{}:8080/mail/u/0', host: true, v6: 'bracket' },
  { name: 'via', template: '1.1 {}', host: true, v6: 'bare' },
  { name: 'via', template: '1.0 fred, 1.1 {}:3128 (squid/3.5.27)', host: true, v6: 'bracket' },
  { name: 'from', template: 'bob@{}', host: true, v6: 'literal' },
  { name: 'user-agent', template: 'Bot/1.0 (+http://ops:pw@{}:81/bot.html)', host: true, v6: 'bracket' },
  { name: 'user-agent', template: 'Scanner/3.2 (node {}; probe)', host: false, v6: 'bare' },
  { name: 'via', template: '1.1 proxy.example (cache {})', host: false, v6: 'bare' },
  { name: 'accept-language', template: 'en;q=0.9, x-src={}', host: false, v6: 'bare' },
];

function expectedOf(place: (typeof PLACES)[number], inserted: string): string {
  const out = place.template.replace('{}', inserted);
  // A Referer is kept as its origin; userinfo is dropped from any URL.
  if (place.name === 'referer') return out.replace('/mail/u/0', '');
  return out.replace('ops:pw@', '');
}

describe('generated addresses in random notations, embedded in headers', () => {
  it('never survive, wherever they stand', () => {
    fc.assert(
      fc.property(fc.oneof(ipv4, ipv6), fc.constantFrom(...PLACES), (address, place) => {
        const v6 = address.text.includes(':');
        if (!place.host && !address.loose) return;
        // Zone ids are not valid in URLs (the Referer would be dropped); in a URL they are %25-escaped.
        if (v6 && place.name === 'referer' && address.text.includes('%')) return;
        let inserted = address.text;
        if (v6 && place.v6 === 'bracket') inserted = `[${address.text.replace('%', place.template.includes('://') ? '%25' : '%')}]`;
        if (v6 && place.v6 === 'literal') inserted = `[IPv6:${address.text}]`;
        if (!v6 && place.v6 === 'literal' && !address.text.endsWith('.') && address.text.split('.').length === 4) inserted = `[${address.text}]`;
        const input = place.template.replace('{}', inserted);
        const out = sanitizeHeader(place.name, input);
        expect(out, input).toBe(expectedOf(place, MASK));
        expect(addressLike(out!, address.text), input).toEqual([]);
      }),
      { numRuns: 3000 },
    );
  });

  it('leave host names as they are', () => {
    fc.assert(
      fc.property(hostName, fc.constantFrom(...PLACES), (name, place) => {
        const input = place.template.replace('{}', name);
        expect(sanitizeHeader(place.name, input), input).toBe(expectedOf(place, name));
      }),
      { numRuns: 1000 },
    );
  });
});

// ── on disk ──────────────────────────────────────────────────────────────────

describe('the files a server writes', () => {
  it('hold none of the raw forms, from pixels read by the fast path and by node:http alike', async () => {
    const s = await startTestServer({ accountsPerHour: 1000 });
    try {
      const acc = await newAccount(s.url);
      const tracker = trackerId();
      await putTracker(s.url, acc, tracker);
      const path = `/p/${acc.account}/${tracker}.gif`;
      const raw = [
        '10.61.62.63',
        '2001:db8::5',
        '10.71.72.73',
        '0x0a.0x29.0x2a.0x2b',
        '167772215',
        '012.051.052.053',
        'fe80::1d%eth0',
        '::ffff:10.81.82.83',
        '10.91.92.93',
        '2001:db8:0:0:0:0:0:77',
      ];
      const headers = [
        `Referer: http://10.61.62.63:8080/mail/u/0`,
        `Via: 1.1 0x0a.0x29.0x2a.0x2b, 1.1 167772215 (cache ::ffff:10.81.82.83), 1.1 proxy.example.net`,
        `From: bob@[10.71.72.73]`,
        `User-Agent: Scanner/3.2 (+http://ops@012.051.052.053/bot; node fe80::1d%eth0; 10.91.92.93) seen-at-host.example.org`,
        `Accept-Language: en, x-src=2001:db8:0:0:0:0:0:77`,
      ].join('\r\n');
      const send = (request: string) =>
        new Promise<string>((resolve, reject) => {
          const { port } = new URL(s.url);
          const socket = connect(Number(port), '127.0.0.1');
          let data = '';
          socket.on('data', (chunk: Buffer) => {
            data += chunk.toString('latin1');
            if (data.includes('GIF89a')) {
              socket.destroy();
              resolve(data);
            }
          });
          socket.on('error', reject);
          socket.write(request);
        });
      // HTTP/1.1: the fast path; HTTP/1.0: handed over to node:http (fastpath.ts).
      await send(`GET ${path} HTTP/1.1\r\nHost: x\r\n${headers}\r\n\r\n`);
      await send(`GET ${path} HTTP/1.0\r\nHost: x\r\n${headers.replace('Referer: http://10.61.62.63:8080', 'Referer: http://[2001:db8::5]')}\r\n\r\n`);
      const hits = await s.server.store.trackerHits(acc.account, tracker);
      expect(hits).toHaveLength(2);
      // Everything on disk: the database, its WAL and the hit log segments.
      await s.server.close();
      const files = readdirSync(s.dir).map((f) => join(s.dir, f));
      const text = files.map((f) => readFileSync(f).toString('latin1')).join('\n');
      expect(files.length).toBeGreaterThan(0);
      // The grep reads the stored signals at all: the names in them are there.
      expect(text).toContain('proxy.example.net');
      expect(text).toContain('seen-at-host.example.org');
      for (const form of raw) expect(text.includes(form), `${form} on disk`).toBe(false);
      expect(text).not.toMatch(/\b10\.(?:61|71|81|91)\.\d+\.\d+/);
    } finally {
      await s.stop();
    }
  });
});
