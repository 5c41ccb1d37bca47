/**
 * parseIp's quick path for plain dotted quads (backend/ipdata/ip.ts) answers
 * exactly as Node's own parser decides, on addresses and near-addresses.
 */
import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIp } from '../../backend/ipdata/ip.ts';

function reference(text: string): string | null {
  const t = text.trim();
  return isIP(t) === 4 ? t.split('.').map(Number).join('.') : null;
}

describe('parseIp', () => {
  it('reads IPv4 as node:net does, including what it refuses', () => {
    const octet = fc.oneof(fc.integer({ min: 0, max: 255 }).map(String), fc.constantFrom('256', '999', '01', '00', '007', '', '1a', ' 1'));
    const near = fc.tuple(fc.array(octet, { minLength: 2, maxLength: 6 }), fc.constantFrom('', ' ', '\t')).map(([parts, pad]) => `${pad}${parts.join('.')}${pad}`);
    fc.assert(fc.property(near, (text) => {
      const p = parseIp(text);
      const got = p && p.family === 4 ? [...p.bytes].join('.') : null;
      expect(got, JSON.stringify(text)).toBe(reference(text));
    }), { numRuns: 2000 });
  });

  it('reads IPv6 as node:net and the general path do, including what they refuse', () => {
    const group = fc.oneof(fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)), fc.constantFrom('0', '00000', 'g', '', 'FFFF', 'fe80', '1.2.3.4'));
    const near = fc.array(group, { minLength: 1, maxLength: 10 }).chain((gs) =>
      fc.integer({ min: -1, max: gs.length }).map((gap) => {
        if (gap < 0) return gs.join(':');
        return `${gs.slice(0, gap).join(':')}::${gs.slice(gap).join(':')}`;
      }));
    const general = (text: string) => {
      const family = isIP(text);
      if (family !== 6) return null;
      // The general path: what parseIp answered before its quick paths (bracket/zone handling aside).
      return text;
    };
    fc.assert(fc.property(fc.oneof(near, fc.constantFrom('::', '::1', '1::', ':1::', '1:::2', '::ffff:1.2.3.4', '::ffff:102:304', '0:0:0:0:0:ffff:102:304', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8::')), (text) => {
      const p = parseIp(text);
      if (general(text) === null) expect(p === null || p.family === 4, JSON.stringify(text)).toBe(true);
      else {
        expect(p, JSON.stringify(text)).not.toBeNull();
        if (p!.family === 6) {
          const groups: string[] = [];
          for (let i = 0; i < 16; i += 2) groups.push(((p!.bytes[i]! << 8) | p!.bytes[i + 1]!).toString(16));
          // Same address as Node's own canonical reading of it.
          expect(new URL(`http://[${groups.join(':')}]/`).hostname, JSON.stringify(text)).toBe(new URL(`http://[${text}]/`).hostname);
        }
      }
    }), { numRuns: 3000 });
  });

  it('still reads IPv6, mapped IPv4 and bracketed forms', () => {
    expect(parseIp('::ffff:192.0.2.1')).toEqual({ family: 4, bytes: Uint8Array.from([192, 0, 2, 1]) });
    expect(parseIp('[2001:db8::1]')?.family).toBe(6);
    expect(parseIp('fe80::1%eth0')?.family).toBe(6);
    expect(parseIp('not an address')).toBeNull();
  });
});
