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

/** Parses a vendored list file; throws with the line number on anything malformed. */
export function parseListFile(text: string, label = 'list'): ParsedList {
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
    if (!parseCidr(line)) throw new Error(`${label}:${i + 1}: "${line}" is not a CIDR`);
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

/** Kept-prefix ranges of one list, flat: [start, end, start, end, …] per family. */
export interface UnitRanges {
  v4: number[];
  v6: number[];
}

/** Scratch results of scanUnits (no allocation per CIDR: ~14k are read at every start). */
let scanFamily: 4 | 6 = 4;
let scanStart = 0;
let scanEnd = 0;
const groups = new Uint16Array(8);

/**
 * Reads the plain CIDR text[from, to) ("a.b.c.d/n" or hex groups with at most
 * one "::", then "/n") straight into the kept prefixes it touches (scanFamily,
 * scanStart, scanEnd). False for anything else; the general parser then decides.
 */
function scanUnits(text: string, from: number, to: number): boolean {
  const slash = text.lastIndexOf('/', to - 1);
  if (slash < from || slash === to - 1 || to - slash > 4) return false;
  let bits = 0;
  for (let i = slash + 1; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
    bits = bits * 10 + (c - 48);
  }
  const colon = text.indexOf(':', from);
  let key: number;
  let unitBits: number;
  if (colon < 0 || colon > slash) {
    if (bits > 32) return false;
    let octet = 0;
    let digits = 0;
    let count = 0;
    key = 0;
    for (let i = from; i <= slash; i++) {
      const c = i < slash ? text.charCodeAt(i) : 46;
      if (c === 46) {
        if (digits === 0 || octet > 255 || count > 3) return false;
        if (count < 3) key = key * 256 + octet;
        count++;
        octet = 0;
        digits = 0;
      } else if (c >= 48 && c <= 57 && digits < 3 && !(digits > 0 && octet === 0)) {
        octet = octet * 10 + (c - 48);
        digits++;
      } else return false;
    }
    if (count !== 4) return false;
    scanFamily = 4;
    unitBits = 24;
  } else {
    if (bits > 128) return false;
    let n = 0;
    let gap = -1;
    let value = 0;
    let digits = 0;
    let i = from;
    if (text.charCodeAt(i) === 58) {
      // Only "::" may lead.
      if (text.charCodeAt(i + 1) !== 58) return false;
      gap = 0;
      i += 2;
    }
    for (; i < slash || (i === slash && (digits > 0 || gap !== n)); i++) {
      const c = i < slash ? text.charCodeAt(i) : 58;
      if (c === 58) {
        if (digits === 0 || n === 8) return false;
        groups[n++] = value;
        value = 0;
        digits = 0;
        if (i === slash) break;
        if (text.charCodeAt(i + 1) === 58) {
          if (gap >= 0) return false;
          gap = n;
          i++;
          if (i + 1 === slash) break; // a trailing "::"
        }
      } else {
        const hex = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
        if (hex < 0 || digits === 4) return false;
        value = value * 16 + hex;
        digits++;
      }
    }
    if (gap < 0 ? n !== 8 : n > 7) return false;
    // The first three groups after expanding "::".
    const at = (g: number) => (gap < 0 || g < gap ? (g < n ? groups[g]! : 0) : g >= 8 - (n - gap) ? groups[gap + g - (8 - (n - gap))]! : 0);
    key = at(0) * 2 ** 32 + at(1) * 2 ** 16 + at(2);
    scanFamily = 6;
    unitBits = 48;
  }
  if (bits >= unitBits) {
    scanStart = key;
    scanEnd = key;
  } else {
    const span = 2 ** (unitBits - bits);
    scanStart = Math.floor(key / span) * span;
    scanEnd = scanStart + span - 1;
  }
  return true;
}

function addUnits(units: UnitRanges, text: string, from: number, to: number, label: string): void {
  if (!scanUnits(text, from, to)) {
    const cidr = parseCidr(text.slice(from, to));
    if (!cidr) throw new Error(`${label}: "${text.slice(from, to)}" is not a CIDR`);
    const r = unitRange(cidr);
    scanFamily = cidr.family;
    scanStart = r.start;
    scanEnd = r.end;
  }
  (scanFamily === 4 ? units.v4 : units.v6).push(scanStart, scanEnd);
}

/** The kept-prefix ranges of a list of CIDR strings. */
export function unitsOf(cidrs: readonly string[], label = 'list'): UnitRanges {
  const units: UnitRanges = { v4: [], v6: [] };
  for (const c of cidrs) addUnits(units, c, 0, c.length, label);
  return units;
}

/**
 * A vendored list file read straight into kept-prefix ranges: the header as
 * parseListFile reads it, the body without a string or an object per line
 * (the loader's path; parseListFile is the checking one).
 */
export function readListUnits(text: string, label = 'list'): { meta: ListMeta; units: UnitRanges } {
  let body = 0;
  while (body < text.length && text.charCodeAt(body) === 35 /* # */) {
    const eol = text.indexOf('\n', body);
    body = eol < 0 ? text.length : eol + 1;
  }
  const { meta } = parseListFile(text.slice(0, body), label);
  const units: UnitRanges = { v4: [], v6: [] };
  let line = 0;
  for (let at = body; at < text.length; ) {
    let eol = text.indexOf('\n', at);
    if (eol < 0) eol = text.length;
    let end = eol;
    if (end > at && text.charCodeAt(end - 1) === 13) end--;
    line++;
    if (end > at) addUnits(units, text, at, end, `${label}: body line ${line}`);
    at = eol + 1;
  }
  return { meta, units };
}

/** Builds the lookup table from lists of CIDRs (at most 32 lists). */
export function buildListTable(lists: ReadonlyArray<{ name: string; cidrs: readonly string[] }>): ListTable {
  return tableOfUnits(lists.map((l) => ({ name: l.name, units: unitsOf(l.cidrs, l.name) })));
}

/** Builds the lookup table from kept-prefix ranges (at most 32 lists). */
export function tableOfUnits(lists: ReadonlyArray<{ name: string; units: UnitRanges }>): ListTable {
  if (lists.length > 32) throw new Error('at most 32 address lists fit in a mask');
  const segments = (family: 4 | 6) => {
    // Events: a position, and the list's bit × 2 (+ 1 when a range starts there, + 0 when
    // one ended just before). Sorted packed in one double each (position × 64 + code), a plain
    // numeric sort — exact while positions stay below 2^47 (all of IPv4; IPv6 below 8000::);
    // past that, by index.
    let total = 0;
    for (const list of lists) total += family === 4 ? list.units.v4.length : list.units.v6.length;
    const at = new Float64Array(total);
    const code = new Uint8Array(total);
    let n = 0;
    lists.forEach((list, bit) => {
      const flat = family === 4 ? list.units.v4 : list.units.v6;
      for (let i = 0; i < flat.length; i += 2) {
        at[n] = flat[i]!;
        code[n++] = bit * 2 + 1;
        at[n] = flat[i + 1]! + 1;
        code[n++] = bit * 2;
      }
    });
    let maxAt = 0;
    for (let i = 0; i < n; i++) if (at[i]! > maxAt) maxAt = at[i]!;
    if (maxAt < 2 ** 47) {
      const packed = new Float64Array(n);
      for (let i = 0; i < n; i++) packed[i] = at[i]! * 64 + code[i]!;
      packed.sort();
      for (let i = 0; i < n; i++) {
        at[i] = Math.floor(packed[i]! / 64);
        code[i] = packed[i]! - at[i]! * 64;
      }
    } else {
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => at[a]! - at[b]!);
      const at0 = at.slice();
      const code0 = code.slice();
      order.forEach((from, to) => {
        at[to] = at0[from]!;
        code[to] = code0[from]!;
      });
    }
    const counts = new Int32Array(32);
    const starts: number[] = [];
    const ends: number[] = [];
    const masks: number[] = [];
    for (let k = 0; k < n; ) {
      const pos = at[k]!;
      for (; k < n && at[k] === pos; k++) {
        const c = code[k]!;
        counts[c >> 1]! += c & 1 ? 1 : -1;
      }
      if (k === n) break;
      let mask = 0;
      for (let b = 0; b < 32; b++) if (counts[b]! > 0) mask |= 1 << b;
      if (mask === 0) continue;
      const next = at[k]!;
      const last = starts.length - 1;
      if (last >= 0 && ends[last] === pos - 1 && masks[last] === mask) ends[last] = next - 1;
      else {
        starts.push(pos);
        ends.push(next - 1);
        masks.push(mask);
      }
    }
    return { starts, ends, masks };
  };
  const v4 = segments(4);
  const v6 = segments(6);
  return {
    names: lists.map((l) => l.name),
    v4Start: Uint32Array.from(v4.starts),
    v4End: Uint32Array.from(v4.ends),
    v4Mask: Uint32Array.from(v4.masks, (m) => m >>> 0),
    v6Start: Float64Array.from(v6.starts),
    v6End: Float64Array.from(v6.ends),
    v6Mask: Uint32Array.from(v6.masks, (m) => m >>> 0),
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
