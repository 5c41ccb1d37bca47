/**
 * The classifier's knowledge, tested as data (STYLE §9): valid patterns,
 * sorted, no duplicates, every entry with a source and the date it was checked.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { NETWORK_PREFIXES, NETWORKS, type NetworkRole } from '../../backend/classify/data/networks.ts';
import { LIST_META, networkFacts } from '../../backend/classify/network.ts';
import { normaliseCidrs, parseListFile } from '../../backend/ipdata/cidr-lists.ts';
import { LIST_SOURCES } from '../../backend/ipdata/list-sources.ts';
import { loadIpData, lookupNetwork } from '../../backend/ipdata/index.ts';
import { parseCidr } from '../../backend/ipdata/ip.ts';
import { TIMING } from '../../backend/classify/data/timing.ts';
import { loadUaCases } from '../fixtures/realworld-ua.ts';
import { isbot } from 'isbot';
import { DEVICE_DESCRIPTORS, UA_SIGNATURES } from '../../backend/classify/data/user-agents.ts';

const ROLES: readonly NetworkRole[] = ['google', 'yahoo', 'fastmail', 'hey', 'proton', 'apple', 'private-relay', 'security', 'hosting'];
const LISTS_DIR = new URL('../../backend/classify/data/lists/', import.meta.url);
const DATE = /^20\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

function expectSourced(entry: { source: string; checked: string }, label: string) {
  expect(entry.source.trim().length, `${label}: source`).toBeGreaterThan(10);
  expect(entry.checked, `${label}: checked`).toMatch(DATE);
  expect(Date.parse(entry.checked), `${label}: checked is not in the future`).toBeLessThanOrEqual(Date.now());
}

describe('networks data', () => {
  it('is sorted by ASN with no ASN listed twice', () => {
    const asns = NETWORKS.map((n) => n.asn);
    expect(asns).toEqual([...asns].sort((a, b) => a - b));
    expect(new Set(asns).size).toBe(asns.length);
  });

  it('gives every entry a valid ASN, an organisation, a known role, a source and a date', () => {
    for (const n of NETWORKS) {
      expect(Number.isInteger(n.asn) && n.asn > 0 && n.asn < 2 ** 32, `AS${n.asn}`).toBe(true);
      expect(n.org.trim(), `AS${n.asn} org`).not.toBe('');
      expect(ROLES, `AS${n.asn} role`).toContain(n.role);
      expectSourced(n, `AS${n.asn}`);
    }
  });

  it('names the vendor and via of every security network, and only of those', () => {
    for (const n of NETWORKS) {
      if (n.role === 'security') {
        expect(n.vendor?.name, `AS${n.asn}`).toBeTruthy();
        expect(n.vendor?.via, `AS${n.asn}`).toMatch(/^[a-z][a-z0-9-]*$/);
      } else {
        expect(n.vendor, `AS${n.asn}`).toBeUndefined();
      }
    }
  });

  it('has every role the signatures rely on (from the AS table, its prefixes or a published list)', () => {
    const present = new Set<NetworkRole | null>([...NETWORKS, ...NETWORK_PREFIXES].map((n) => n.role));
    // Google's own space comes from its published list only (goog.json minus cloud.json).
    present.add(networkFacts({ prefix: '66.249.93.0/24', asn: 15169 }).role);
    for (const s of UA_SIGNATURES) for (const owner of s.owners ?? []) expect(present, `${s.id} owner ${owner}`).toContain(owner);
  });
});

describe('network prefixes data', () => {
  beforeAll(() => loadIpData(), 60_000);

  it('is sorted by ASN then CIDR, with no CIDR twice', () => {
    const keys = NETWORK_PREFIXES.map((p) => `${String(p.asn).padStart(10, '0')} ${p.cidr}`);
    expect(keys).toEqual([...keys].sort());
    expect(new Set(NETWORK_PREFIXES.map((p) => p.cidr)).size).toBe(NETWORK_PREFIXES.length);
  });

  it('gives valid, normalised CIDRs inside their AS (per the offline data), with a role, a source and a date', () => {
    for (const p of NETWORK_PREFIXES) {
      const cidr = parseCidr(p.cidr);
      expect(cidr, p.cidr).not.toBeNull();
      expect(normaliseCidrs([p.cidr]), p.cidr).toEqual([p.cidr]);
      expect(lookupNetwork(p.cidr.split('/')[0]!)?.asn, p.cidr).toBe(p.asn);
      expect(ROLES).toContain(p.role);
      if (p.role === 'security') expect(p.vendor?.via, p.cidr).toMatch(/^[a-z][a-z0-9-]*$/);
      expectSourced(p, p.cidr);
    }
  });
});

describe('published address lists (backend/classify/data/lists)', () => {
  const files = readdirSync(LISTS_DIR).filter((f) => !f.startsWith('.'));

  it('has one file per list source and no other', () => {
    expect(files.sort()).toEqual(LIST_SOURCES.map((s) => `${s.name}.txt`).sort());
    expect(LIST_SOURCES.map((s) => s.name)).toEqual(LIST_SOURCES.map((s) => s.name).sort());
  });

  it('parses every file, each naming itself, its source, its date and its licence', () => {
    for (const file of files) {
      const list = parseListFile(readFileSync(new URL(file, LISTS_DIR), 'utf8'), file);
      const source = LIST_SOURCES.find((s) => `${s.name}.txt` === file)!;
      expect(list.meta.name, file).toBe(source.name);
      expect(list.meta.source, file).toBe(source.url);
      expect(list.meta.source, file).toMatch(/^https:\/\//);
      expect(list.meta.licence.length, file).toBeGreaterThan(5);
      expect(list.meta.retrieved, file).toMatch(DATE);
      expect(Date.parse(list.meta.retrieved), `${file}: retrieved is not in the future`).toBeLessThanOrEqual(Date.now());
      expect(list.cidrs.length, file).toBeGreaterThan(0);
    }
  });

  it('keeps every file sorted, deduplicated and merged (exactly what normalising it gives)', () => {
    for (const file of files) {
      const { cidrs } = parseListFile(readFileSync(new URL(file, LISTS_DIR), 'utf8'), file);
      expect(normaliseCidrs(cidrs), file).toEqual(cidrs);
    }
  });

  it('is what the classifier loaded', () => {
    expect(LIST_META.map((m) => m.name)).toEqual(LIST_SOURCES.map((s) => s.name));
  });
});

describe('user-agent signatures data', () => {
  it('is sorted by id with no id twice', () => {
    const ids = UA_SIGNATURES.map((s) => s.id);
    expect(ids).toEqual([...ids].sort());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9][a-z0-9.-]*$/);
  });

  it('has no pattern twice and every pattern compiles', () => {
    const patterns = UA_SIGNATURES.map((s) => s.pattern);
    expect(new Set(patterns).size).toBe(patterns.length);
    for (const s of UA_SIGNATURES) expect(() => new RegExp(s.pattern), s.id).not.toThrow();
  });

  it('has no capturing group in any pattern (the engine joins them into one regex, one group each)', () => {
    for (const s of UA_SIGNATURES) expect(new RegExp(`${s.pattern}|`).exec('')!.length - 1, s.id).toBe(0);
  });

  it('matches each example with its own signature and no other, so the order of the list does not matter', () => {
    const compiled = UA_SIGNATURES.map((s) => ({ id: s.id, re: new RegExp(s.pattern) }));
    for (const s of UA_SIGNATURES) {
      expect(s.examples.length, s.id).toBeGreaterThan(0);
      for (const example of s.examples) {
        expect(compiled.filter((c) => c.re.test(example)).map((c) => c.id), example).toEqual([s.id]);
      }
    }
  });

  it('does not mistake ordinary browsers for any signature', () => {
    const browsers = [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
      'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
      'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36',
    ];
    for (const ua of browsers) {
      expect(UA_SIGNATURES.filter((s) => new RegExp(s.pattern).test(ua)).map((s) => s.id), ua).toEqual([]);
    }
  });

  it('gives every signature a role, a client name, a source and a date; proxies and prefetchers an owner and a via', () => {
    for (const s of UA_SIGNATURES) {
      expect(['proxy', 'prefetch', 'mail-client', 'scanner', 'tool'], s.id).toContain(s.role);
      expect(s.client.name.trim(), s.id).not.toBe('');
      expectSourced(s, s.id);
      if (s.role === 'proxy' || s.role === 'prefetch') {
        // A proxy whose operator publishes no ranges has no owners, and its source says so.
        if (s.role === 'prefetch' || s.owners !== undefined) expect(s.owners?.length, `${s.id} owners`).toBeGreaterThan(0);
        else expect(s.source, `${s.id}: why it has no owners`).toMatch(/publishes no ranges/);
        expect(s.via, `${s.id} via`).toMatch(/^[a-z][a-z0-9-]*$/);
      }
    }
  });

  it('knows every intermediary SPEC §3 names', () => {
    const vias = new Set(UA_SIGNATURES.map((s) => s.via));
    for (const via of ['gmail-proxy', 'yahoo-proxy', 'apple-mpp', 'gmail-prefetch']) expect(vias).toContain(via);
  });
});

describe('device descriptors data', () => {
  const blank = (ua: string) => DEVICE_DESCRIPTORS.reduce((text, d) => text.replace(new RegExp(d.pattern, 'gi'), d.replacement), ua);

  it('has ids in order, each pattern compiling, each with a source and a date', () => {
    const ids = DEVICE_DESCRIPTORS.map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const d of DEVICE_DESCRIPTORS) {
      expect(() => new RegExp(d.pattern, 'gi'), d.id).not.toThrow();
      expectSourced(d, d.id);
    }
  });

  it('matches each of its examples, which isbot flags as they are and not once the device parts are blanked', () => {
    for (const d of DEVICE_DESCRIPTORS) {
      expect(d.examples.length, d.id).toBeGreaterThan(0);
      for (const example of d.examples) {
        expect(new RegExp(d.pattern, 'i').test(example), `${d.id}: ${example}`).toBe(true);
        expect(isbot(example), `isbot flags ${example}`).toBe(true);
        expect(isbot(blank(example)), `not once blanked: ${blank(example)}`).toBe(false);
      }
    }
  });

  it('finds its needle (the quick pre-test) in every real user-agent its pattern matches', () => {
    for (const d of DEVICE_DESCRIPTORS) {
      const pattern = new RegExp(d.pattern, 'i');
      const needle = new RegExp(d.needle, 'i');
      for (const { ua } of [...d.examples.map((ua) => ({ ua })), ...loadUaCases()]) {
        if (pattern.test(ua)) expect(needle.test(ua), `${d.id}: ${ua}`).toBe(true);
      }
    }
  });

  it('leaves a crawler\'s own words outside the device parts for isbot to read', () => {
    // omrilotan/isbot fixtures/crawlers.yml and matomo-org/device-detector Tests/fixtures/bots.yml
    for (const crawler of [
      'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/41.0.2272.96 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
      'Mozilla/5.0 (X11; U; Linux Core i7-4980HQ; de; rv:32.0; compatible; JobboerseBot; http://www.jobboerse.com/bot.htm) Gecko/20100101 Firefox/38.0',
    ]) {
      expect(isbot(blank(crawler)), crawler).toBe(true);
    }
  });
});

describe('timing data', () => {
  it('gives every rule a positive window of at most a minute, a reason, a source and a date', () => {
    for (const [name, rule] of Object.entries(TIMING)) {
      expect(Number.isInteger(rule.ms) && rule.ms > 0 && rule.ms <= 60_000, name).toBe(true);
      expect(rule.why.trim().length, name).toBeGreaterThan(10);
      expectSourced(rule, name);
    }
  });
});
