/**
 * The address-list table (backend/ipdata/cidr-lists.ts): normalising CIDRs,
 * and answering for a kept /24 or /48 which lists have any address in it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { buildListTable, cidrRange, listMask, normaliseCidrs, parseListFile, readListUnits, unitsOf } from '../../backend/ipdata/cidr-lists.ts';
import { parseCidr } from '../../backend/ipdata/ip.ts';

describe('normaliseCidrs', () => {
  it('merges overlaps and neighbours into the fewest aligned blocks, IPv4 first, ascending', () => {
    expect(normaliseCidrs(['10.0.0.2/31', '10.0.0.0/31', '2001:db8::/33', '2001:db8:8000::/33', '10.0.0.4/30', '10.0.0.1/32'])).toEqual([
      '10.0.0.0/29', '2001:db8::/32',
    ]);
    expect(normaliseCidrs(['10.0.0.1/24'])).toEqual(['10.0.0.0/24']);
    expect(normaliseCidrs(['10.0.0.1'])).toEqual(['10.0.0.1/32']);
    expect(normaliseCidrs(['10.0.1.0/24', '10.0.2.0/24'])).toEqual(['10.0.1.0/24', '10.0.2.0/24']);
    expect(normaliseCidrs(['::/0', '::1/128'])).toEqual(['::/0']);
    expect(normaliseCidrs(['2a01:111:f400:0:0:0:0:0/48'])).toEqual(['2a01:111:f400::/48']);
    expect(() => normaliseCidrs(['10.0.0.0/33'])).toThrow(/not a CIDR/);
  });

  it('is idempotent and keeps exactly the same addresses (property)', () => {
    const v4 = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 20, max: 32 }))
      .map(([c, d, bits]) => `10.1.${c}.${d}/${bits}`);
    fc.assert(fc.property(fc.array(v4, { maxLength: 30 }), (cidrs) => {
      const once = normaliseCidrs(cidrs);
      expect(normaliseCidrs(once)).toEqual(once);
      const covered = (list: string[], host: number) => list.some((c) => {
        const [addr, bits] = c.split('/');
        const n = addr!.split('.').reduce((a, o) => a * 256 + Number(o), 0);
        const size = 2 ** (32 - Number(bits));
        const x = 10 * 2 ** 24 + 1 * 2 ** 16 + host;
        return x >= Math.floor(n / size) * size && x < Math.floor(n / size) * size + size;
      });
      for (let host = 0; host < 65536; host += 97) expect(covered(once, host)).toBe(covered(cidrs, host));
    }), { numRuns: 50 });
  });
});

describe('listMask', () => {
  const table = buildListTable([
    { name: 'relay', cidrs: ['172.224.226.32/31', '2a02:26f7:b000:4000::/64'] },
    { name: 'all', cidrs: ['34.0.0.0/15', '2001:4860::/32'] },
    { name: 'cloud', cidrs: ['34.0.0.0/15', '2001:4860:4864::/47'] },
  ]);

  it('answers for a kept prefix that holds any listed address, IPv4 and IPv6', () => {
    expect(listMask(table, '172.224.226.0/24')).toBe(1);
    expect(listMask(table, '172.224.227.0/24')).toBe(0);
    expect(listMask(table, '2a02:26f7:b000::/48')).toBe(1);
    expect(listMask(table, '2a02:26f7:b001::/48')).toBe(0);
    expect(listMask(table, '34.1.255.0/24')).toBe(2 | 4);
    expect(listMask(table, '34.2.0.0/24')).toBe(0);
    expect(listMask(table, '2001:4860:4865::/48')).toBe(2 | 4);
    expect(listMask(table, '2001:4860:4866::/48')).toBe(2);
    expect(listMask(table, '2001:4860:ffff::/48')).toBe(2);
    expect(listMask(table, '2001:4861::/48')).toBe(0);
  });

  it('orders ranges high in the IPv6 space too (past 8000::, where packed sorting stops being exact)', () => {
    const high = buildListTable([
      { name: 'ula', cidrs: ['fd00::/8', '2001:db8::/32'] },
      { name: 'multicast', cidrs: ['ff02::/16', 'fd12:3456::/32'] },
    ]);
    expect(listMask(high, 'fd12:3456:1::/48')).toBe(1 | 2);
    expect(listMask(high, 'fd00:1::/48')).toBe(1);
    expect(listMask(high, 'ff02:1::/48')).toBe(2);
    expect(listMask(high, 'ff03::/48')).toBe(0);
    expect(listMask(high, '2001:db8:1::/48')).toBe(1);
  });

  it('answers 0 for what is not a prefix', () => {
    for (const text of ['', 'garbage', '300.1.2.0/24', '1.2/24', '::zz/48', '1.2.3']) expect(listMask(table, text), text).toBe(0);
  });
});

describe('parseListFile', () => {
  const header = '# name: x\n# source: https://example.org/x\n# retrieved: 2026-12-07\n# licence: CC0\n';
  it('reads the header and the CIDRs', () => {
    expect(parseListFile(`${header}10.0.0.0/8\n\n2001:db8::/32\n`)).toEqual({
      meta: { name: 'x', source: 'https://example.org/x', snapshot: null, retrieved: '2026-12-07', licence: 'CC0' },
      cidrs: ['10.0.0.0/8', '2001:db8::/32'],
    });
  });
  it('says which line is wrong and which header field is missing', () => {
    expect(() => parseListFile(`${header}10.0.0.0/8\nnope\n`, 'x.txt')).toThrow('x.txt:6: "nope" is not a CIDR');
    expect(() => parseListFile('# name: x\n10.0.0.0/8\n', 'x.txt')).toThrow(/names no source/);
  });
});

describe('the loader\'s CIDR scanner', () => {
  /** The kept prefixes a CIDR touches, by the general parser and BigInt arithmetic. */
  function reference(text: string): [number, number, number] | null {
    const cidr = parseCidr(text);
    if (!cidr) return null;
    const { start, end } = cidrRange(cidr);
    const shift = cidr.family === 4 ? 8n : 80n;
    return [cidr.family, Number(start >> shift), Number(end >> shift)];
  }
  function scanned(text: string): [number, number, number] | null {
    try {
      const u = unitsOf([text]);
      return u.v4.length > 0 ? [4, u.v4[0]!, u.v4[1]!] : [6, u.v6[0]!, u.v6[1]!];
    } catch {
      return null;
    }
  }

  it('reads every CIDR form as the general parser does (property), and refuses what it refuses', () => {
    const group = fc.oneof(fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)), fc.constantFrom('', 'g', '12345', 'ABCD'));
    const v6 = fc.tuple(fc.array(group, { minLength: 1, maxLength: 9 }), fc.integer({ min: -1, max: 9 }), fc.integer({ min: 0, max: 130 }))
      .map(([gs, gap, bits]) => `${gap < 0 || gap > gs.length ? gs.join(':') : `${gs.slice(0, gap).join(':')}::${gs.slice(gap).join(':')}`}/${bits}`);
    const octet = fc.oneof(fc.integer({ min: 0, max: 255 }).map(String), fc.constantFrom('256', '01', '', 'x'));
    const v4 = fc.tuple(fc.array(octet, { minLength: 3, maxLength: 5 }), fc.integer({ min: 0, max: 34 })).map(([os, bits]) => `${os.join('.')}/${bits}`);
    fc.assert(fc.property(fc.oneof(v4, v6), (text) => {
      expect(scanned(text), text).toEqual(reference(text));
    }), { numRuns: 5000 });
    for (const text of ['::/0', '::ffff:1.2.3.4/120', '1::2::3/8', ':1::/8', '1:2:3:4:5:6:7:8::/64', '10.0.0.0/8', '10.0.0.0']) {
      expect(scanned(text), text).toEqual(reference(text));
    }
  });

  it('reads a vendored file to the same ranges as its parsed CIDRs', () => {
    const text = readFileSync(new URL('../../backend/classify/data/lists/microsoft-365.txt', import.meta.url), 'utf8');
    const { meta, units } = readListUnits(text, 'microsoft-365.txt');
    expect(meta.name).toBe('microsoft-365');
    expect(units).toEqual(unitsOf(parseListFile(text).cidrs));
    expect(() => readListUnits(`${text}nope\n`, 'x.txt')).toThrow(/x\.txt: body line \d+: "nope" is not a CIDR/);
  });
});

describe('the table against a plain reading of the lists (property)', () => {
  it('answers for every kept prefix exactly which lists have an address in it', () => {
    // Small IPv4 and IPv6 neighbourhoods so that lists overlap, touch and nest often.
    const v4 = fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 18, max: 32 }))
      .map(([c, d, bits]) => normaliseCidrs([`10.0.${c}.${d}/${bits}`])[0]!);
    const v6 = fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 42, max: 64 }))
      .map(([c, d, bits]) => normaliseCidrs([`2001:db8:${c.toString(16)}:${d.toString(16)}::/${bits}`])[0]!);
    const lists = fc.array(fc.array(fc.oneof(v4, v6), { maxLength: 8 }), { minLength: 1, maxLength: 5 });
    fc.assert(fc.property(lists, (cidrsByList) => {
      const table = buildListTable(cidrsByList.map((cidrs, i) => ({ name: `l${i}`, cidrs })));
      const probe = (prefix: string, kept: [bigint, bigint]) => {
        let expected = 0;
        cidrsByList.forEach((cidrs, i) => {
          for (const c of cidrs) {
            const cidr = parseCidr(c)!;
            if ((cidr.family === 4) !== !prefix.includes(':')) continue;
            const { start, end } = cidrRange(cidr);
            if (start <= kept[1] && end >= kept[0]) expected |= 1 << i;
          }
        });
        expect(listMask(table, prefix), prefix).toBe(expected);
      };
      for (let c = 0; c < 16; c++) {
        const base = (10n << 24n) | (BigInt(c) << 8n);
        probe(`10.0.${c}.0/24`, [base, base | 0xffn]);
        const base6 = (0x20010db8n << 96n) | (BigInt(c) << 80n);
        probe(`2001:db8:${c.toString(16)}::/48`, [base6, base6 | ((1n << 80n) - 1n)]);
      }
    }), { numRuns: 300 });
  });
});
