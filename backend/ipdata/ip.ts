/**
 * Address parsing and prefixes. The server keeps only the /24 (IPv4) or /48
 * (IPv6) network of a client (SPEC §3); everything here works on that.
 */
import { isIP } from 'node:net';

export interface ParsedIp {
  family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
}

/**
 * A plain dotted quad ("203.0.113.7": four decimal octets, no leading zeros),
 * read without net.isIP and split — most addresses are this, and this runs
 * for every pixel hit. Anything else: null, and the general path decides.
 */
function plainIpv4(text: string): ParsedIp | null {
  if (text.length < 7 || text.length > 15) return null;
  const bytes = new Uint8Array(4);
  let octet = 0;
  let digits = 0;
  let index = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || octet > 255 || index > 3) return null;
      bytes[index++] = octet;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return null; // a leading zero
      octet = octet * 10 + (c - 48);
      if (++digits > 3) return null;
    } else return null;
  }
  return index === 4 ? { family: 4, bytes } : null;
}

/**
 * Plain IPv6 — hex groups and at most one "::", nothing else (no zone, no
 * brackets, no embedded IPv4) — read without net.isIP. Null for anything
 * else, and the general path decides. IPv4-mapped addresses need the embedded
 * form or the general path's check, so the result is only for family 6 when
 * the first ten bytes are not all zero.
 */
function plainIpv6(text: string): ParsedIp | null {
  if (text.length < 2 || text.length > 39) return null;
  const bytes = new Uint8Array(16);
  const groups: number[] = [];
  let gap = -1;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 58;
    if (c === 58) {
      if (digits > 0) {
        groups.push(value);
        value = 0;
        digits = 0;
        if (i === text.length) break;
        if (text.charCodeAt(i + 1) === 58) {
          if (gap >= 0) return null;
          gap = groups.length;
          i++;
          if (i + 1 === text.length) break;
        } else if (i + 1 === text.length) return null; // a trailing single ":"
      } else if (i === 0 && text.charCodeAt(1) === 58) {
        gap = 0;
        i++;
        if (i + 1 === text.length) break;
      } else return null;
    } else {
      const hex = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (hex < 0 || ++digits > 4) return null;
      value = value * 16 + hex;
    }
  }
  if (gap < 0 ? groups.length !== 8 : groups.length > 7) return null;
  const tail = gap < 0 ? 0 : groups.length - gap;
  for (let g = 0; g < groups.length; g++) {
    const at = gap >= 0 && g >= gap ? 8 - tail + (g - gap) : g;
    bytes[at * 2] = groups[g]! >> 8;
    bytes[at * 2 + 1] = groups[g]! & 0xff;
  }
  for (let k = 0; k < 10; k++) if (bytes[k] !== 0) return { family: 6, bytes };
  return null;
}

/** Parses an address as Node reports it or a forwarding header carries it; IPv4-mapped IPv6 becomes IPv4. */
export function parseIp(input: string): ParsedIp | null {
  const quick = plainIpv4(input) ?? plainIpv6(input);
  if (quick) return quick;
  let text = input.trim();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const family = isIP(text);
  if (family === 4) return { family: 4, bytes: Uint8Array.from(text.split('.').map(Number)) };
  if (family !== 6) return null;
  const bytes = parseIpv6(text);
  // ::ffff:a.b.c.d (RFC 4291 §2.5.5.2) is an IPv4 client on a dual-stack socket.
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return { family: 4, bytes: bytes.slice(12) };
  }
  return { family: 6, bytes };
}

/** `text` is already known to be valid IPv6 (net.isIP). */
function parseIpv6(text: string): Uint8Array {
  const bytes = new Uint8Array(16);
  let tail = text;
  let v4: number[] = [];
  const lastColon = tail.lastIndexOf(':');
  if (tail.includes('.', lastColon)) {
    v4 = tail.slice(lastColon + 1).split('.').map(Number);
    tail = `${tail.slice(0, lastColon + 1)}0:0`;
  }
  const [head = '', rest] = tail.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = [...headGroups, ...Array(8 - headGroups.length - restGroups.length).fill('0'), ...restGroups];
  groups.forEach((g: string, i: number) => {
    const value = parseInt(g, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  });
  if (v4.length === 4) bytes.set(v4, 12);
  return bytes;
}

export const PREFIX_BITS = { 4: 24, 6: 48 } as const;

/** The network the server may keep: "a.b.c.0/24" or "x:y:z::/48". */
export function networkPrefix(ip: ParsedIp): string {
  const b = ip.bytes;
  if (ip.family === 4) return `${b[0]}.${b[1]}.${b[2]}.0/24`;
  const groups = [0, 1, 2].map((i) => ((b[i * 2]! << 8) | b[i * 2 + 1]!).toString(16));
  return `${groups.join(':')}::/48`;
}

/** The first address of the kept network, as bytes (what ASN and geo are derived from). */
export function networkBase(ip: ParsedIp): ParsedIp {
  const bytes = new Uint8Array(ip.bytes.length);
  bytes.set(ip.bytes.subarray(0, ip.family === 4 ? 3 : 6));
  return { family: ip.family, bytes };
}

export function formatIp(ip: ParsedIp): string {
  if (ip.family === 4) return ip.bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip.bytes[i]! << 8) | ip.bytes[i + 1]!).toString(16));
  return groups.join(':');
}

export interface Cidr {
  family: 4 | 6;
  bytes: Uint8Array;
  bits: number;
}

/** "10.0.0.0/8", "2001:db8::/32" or a single address. Null when malformed. */
export function parseCidr(text: string): Cidr | null {
  const [addr = '', bitsText, extra] = text.trim().split('/');
  if (extra !== undefined) return null;
  const ip = parseIp(addr);
  if (!ip) return null;
  const max = ip.family === 4 ? 32 : 128;
  // A mapped address with an IPv6 length: "::ffff:10.0.0.0/104" means 10.0.0.0/8.
  let bits = bitsText === undefined ? max : /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
  if (ip.family === 4 && isIP(addr) === 6 && bitsText !== undefined) bits -= 96;
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return null;
  return { family: ip.family, bytes: ip.bytes, bits };
}

export function cidrContains(cidr: Cidr, ip: ParsedIp): boolean {
  if (cidr.family !== ip.family) return false;
  let bits = cidr.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((cidr.bytes[i]! & mask) !== (ip.bytes[i]! & mask)) return false;
  }
  return true;
}
