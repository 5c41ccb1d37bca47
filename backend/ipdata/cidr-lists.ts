/**
 * Published address lists (iCloud Private Relay egress, Google, Microsoft 365,
 * mail-security vendors …) as compact tables, and the text format they are
 * vendored in (backend/classify/data/lists/*.txt, written by
 * `npm run update-data`):
 *
 *   # name: icloud-private-relay
 *   # source: https://mask-api.icloud.com/egress-ip-ranges.csv
 *   # snapshot: …            (where this copy came from, when not the source itself)
 *   # retrieved: 2026-08-11
 *   # licence: …
 *   104.28.100.10/31
 *   …                        (normalised CIDRs: IPv4 then IPv6, ascending, merged)
 *
 * The server keeps only a client's /24 or /48 (SPEC §3), so a table answers
 * for a kept prefix: which lists have any address inside it. Ranges are held
 * in units of that prefix — IPv4 by its upper 24 bits, IPv6 by its upper 48
 * (exact in a double, so no BigInt on the hot path) — as disjoint segments,
 * each with a bit mask of the lists covering it. A lookup is one bisection.
 */
import { parseCidr, type Cidr } from './ip.ts';

export interface ListMeta {
  name: string;
  source: string;
  snapshot: string | null;
  retrieved: string;
  licence: string;
}

export interface ParsedList {
  meta: ListMeta;
  cidrs: string[];
}

const REQUIRED = ['name', 'source', 'retrieved', 'licence'] as const;

/** Parses a vendored list file; throws with the line number on anything malformed (with `validate`, the default). */
export function parseListFile(text: string, label = 'list', options: { validate?: boolean } = {}): ParsedList {
  const validate = options.validate ?? true;
  const fields = new Map<string, string>();
  const cidrs: string[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s*([a-z]+):\s*(.*)$/.exec(line);
      if (m && cidrs.length === 0) fields.set(m[1]!, m[2]!.trim());
      return;
    }
    // The loader skips this: buildListTable parses every CIDR anyway.
    if (validate && !parseCidr(line)) throw new Error(`${label}:${i + 1}: "${line}" is not a CIDR`);
    cidrs.push(line);
  });
  for (const key of REQUIRED) {
    if (!fields.get(key)) throw new Error(`${label}: the header names no ${key} ("# ${key}: …")`);
  }
  return {
    meta: {
      name: fields.get('name')!,
      source: fields.get('source')!,
      snapshot: fields.get('snapshot') ?? null,
      retrieved: fields.get('retrieved')!,
      licence: fields.get('licence')!,
    },
    cidrs,
  };
}

/** First and last address of a CIDR as integers (IPv4: 32 bits, IPv6: 128 bits). */
export function cidrRange(cidr: Cidr): { start: bigint; end: bigint } {
  let value = 0n;
  for (const b of cidr.bytes) value = (value << 8n) | BigInt(b);
  const width = cidr.family === 4 ? 32 : 128;
  const host = (1n << BigInt(width - cidr.bits)) - 1n;
  const start = value & ~host & ((1n << BigInt(width)) - 1n);
  return { start, end: start | host };
}

function formatAddress(family: 4 | 6, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((value >> s) & 0xffffn).toString(16));
  // RFC 5952 §4.2: the longest run of two or more zero groups becomes "::" (the first one on a tie).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/**
 * The fewest CIDRs that cover exactly the addresses of `cidrs`: overlaps and
 * neighbours merged, IPv4 first, each family ascending. Throws on a string
 * that is not a CIDR. This is the form the vendored files keep.
 */
export function normaliseCidrs(cidrs: Iterable<string>): string[] {
  const ranges: Record<4 | 6, Array<{ start: bigint; end: bigint }>> = { 4: [], 6: [] };
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (!cidr) throw new Error(`"${text}" is not a CIDR`);
    ranges[cidr.family].push(cidrRange(cidr));
  }
  const out: string[] = [];
  for (const family of [4, 6] as const) {
    const width = family === 4 ? 32n : 128n;
    const sorted = ranges[family].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    const merged: Array<{ start: bigint; end: bigint }> = [];
    for (const r of sorted) {
      const last = merged[merged.length - 1];
      if (last && r.start <= last.end + 1n) {
        if (r.end > last.end) last.end = r.end;
      } else merged.push({ ...r });
    }
    for (const { start, end } of merged) {
      let at = start;
      while (at <= end) {
        // The largest aligned block that starts at `at` and stays within `end`.
        let size = 0n;
        while (size < width && (at & ((1n << (size + 1n)) - 1n)) === 0n && at + (1n << (size + 1n)) - 1n <= end) size++;
        out.push(`${formatAddress(family, at)}/${width - size}`);
        at += 1n << size;
      }
    }
  }
  return out;
}

export interface ListTable {
  /** The list ids, by bit: bit i of a mask is names[i]. */
  names: readonly string[];
  v4Start: Uint32Array;
  v4End: Uint32Array;
  v4Mask: Uint32Array;
  v6Start: Float64Array;
  v6End: Float64Array;
  v6Mask: Uint32Array;
}

/**
 * A CIDR in the plain forms the vendored files hold ("a.b.c.d/n", "x:y::z/n"),
 * parsed without node:net — ~14k of them are read at every start. Null for
 * anything else (then the general parser decides).
 */
function quickCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const bits = Number(text.slice(slash + 1));
  const addr = text.slice(0, slash);
  if (!Number.isInteger(bits) || bits < 0) return null;
  if (addr.includes(':')) {
    if (addr.includes('.') || bits > 128) return null;
    const halves = addr.split('::');
    if (halves.length > 2) return null;
    const head = halves[0] === '' ? [] : halves[0]!.split(':');
    const tail = halves.length === 2 && halves[1] !== '' ? halves[1]!.split(':') : [];
    const fill = 8 - head.length - tail.length;
    if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
    const groups = [...head, ...Array<string>(fill).fill('0'), ...tail];
    const bytes = new Uint8Array(16);
    for (let i = 0; i < 8; i++) {
      const g = groups[i]!;
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      const v = parseInt(g, 16);
      bytes[i * 2] = v >> 8;
      bytes[i * 2 + 1] = v & 0xff;
    }
    return { family: 6, bytes, bits };
  }
  const parts = addr.split('.');
  if (parts.length !== 4 || bits > 32) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    bytes[i] = Number(p);
  }
  return { family: 4, bytes, bits };
}

/**
 * The kept prefixes a CIDR touches, as numbers: IPv4 by its upper 24 bits,
 * IPv6 by its upper 48. Plain arithmetic (no BigInt): this runs for every
 * listed range at start-up.
 */
function unitRange(cidr: Cidr): { start: number; end: number } {
  const b = cidr.bytes;
  const unitBits = cidr.family === 4 ? 24 : 48;
  const key = cidr.family === 4
    ? (b[0]! << 16) | (b[1]! << 8) | b[2]!
    : ((b[0]! << 8) | b[1]!) * 2 ** 32 + (((b[2]! << 24) | (b[3]! << 16) | (b[4]! << 8) | b[5]!) >>> 0);
  if (cidr.bits >= unitBits) return { start: key, end: key };
  const span = 2 ** (unitBits - cidr.bits);
  const start = Math.floor(key / span) * span;
  return { start, end: start + span - 1 };
}

/** Builds the lookup table from lists of CIDRs (at most 32 lists). */
export function buildListTable(lists: ReadonlyArray<{ name: string; cidrs: readonly string[] }>): ListTable {
  if (lists.length > 32) throw new Error('at most 32 address lists fit in a mask');
  const events: Record<4 | 6, Array<{ at: number; bit: number; delta: 1 | -1 }>> = { 4: [], 6: [] };
  lists.forEach((list, bit) => {
    for (const text of list.cidrs) {
      const cidr = quickCidr(text) ?? parseCidr(text);
      if (!cidr) throw new Error(`${list.name}: "${text}" is not a CIDR`);
      const { start, end } = unitRange(cidr);
      events[cidr.family].push({ at: start, bit, delta: 1 }, { at: end + 1, bit, delta: -1 });
    }
  });
  const segments = (family: 4 | 6) => {
    const list = events[family].sort((a, b) => a.at - b.at);
    const counts = new Int32Array(32);
    const out: Array<{ start: number; end: number; mask: number }> = [];
    let mask = 0;
    for (let i = 0; i < list.length; ) {
      const at = list[i]!.at;
      for (; i < list.length && list[i]!.at === at; i++) counts[list[i]!.bit]! += list[i]!.delta;
      const next = i < list.length ? list[i]!.at : at;
      mask = 0;
      for (let b = 0; b < 32; b++) if (counts[b]! > 0) mask |= 1 << b;
      if (mask === 0 || next === at) continue;
      const last = out[out.length - 1];
      if (last && last.end === at - 1 && last.mask === mask) last.end = next - 1;
      else out.push({ start: at, end: next - 1, mask });
    }
    return out;
  };
  const v4 = segments(4);
  const v6 = segments(6);
  return {
    names: lists.map((l) => l.name),
    v4Start: Uint32Array.from(v4, (s) => s.start),
    v4End: Uint32Array.from(v4, (s) => s.end),
    v4Mask: Uint32Array.from(v4, (s) => s.mask >>> 0),
    v6Start: Float64Array.from(v6, (s) => s.start),
    v6End: Float64Array.from(v6, (s) => s.end),
    v6Mask: Uint32Array.from(v6, (s) => s.mask >>> 0),
  };
}

function find(starts: Uint32Array | Float64Array, ends: Uint32Array | Float64Array, masks: Uint32Array, key: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid]! <= key) lo = mid + 1;
    else hi = mid - 1;
  }
  return hi >= 0 && key <= ends[hi]! ? masks[hi]! : 0;
}

/**
 * The lists with any address in a kept prefix ("a.b.c.0/24" or "x:y:z::/48"
 * as the server stores it), as a mask over `table.names`. A string of
 * another shape (or a longer prefix) is looked up by its /24 or /48; one that
 * is not an address answers 0.
 */
export function listMask(table: ListTable, prefix: string): number {
  if (prefix.includes(':')) {
    const cidr = parseCidr(prefix);
    if (!cidr || cidr.family !== 6) return 0;
    const b = cidr.bytes;
    const key = (((b[0]! << 8) | b[1]!) * 2 ** 32) + (((b[2]! << 24) | (b[3]! << 16) | (b[4]! << 8) | b[5]!) >>> 0);
    return find(table.v6Start, table.v6End, table.v6Mask, key);
  }
  // IPv4: the first three octets, read without a general parser (this runs on every hit).
  let key = 0;
  let octet = 0;
  let dots = 0;
  for (let i = 0; i < prefix.length && dots < 3; i++) {
    const c = prefix.charCodeAt(i);
    if (c === 46) {
      if (octet > 255) return 0;
      key = (key << 8) | octet;
      octet = 0;
      dots++;
    } else if (c >= 48 && c <= 57) octet = octet * 10 + (c - 48);
    else return 0;
  }
  if (dots !== 3) return 0;
  return find(table.v4Start, table.v4End, table.v4Mask, key >>> 0);
}
