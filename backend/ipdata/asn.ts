/**
 * IP → autonomous system, from @ip-location-db/asn (CC BY 4.0; ranges
 * `start,end,asn,org`, IPv4 and IPv6 — see its README). The ~500k ranges live
 * in typed arrays searched by bisection. Parsing the CSV takes about a second,
 * so the arrays are cached once as a v8-serialised file beside node_modules
 * and later starts just read that.
 *
 * IPv6 ranges are kept by /48: the server only ever looks up the first
 * address of a /48 (SPEC §3 keeps no more), so a range is stored as the /48s
 * whose first address it holds — its start rounded up, its end rounded down,
 * as plain numbers (48 bits are exact in a double; no BigInt per lookup).
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { ParsedIp } from './ip.ts';

export interface AsnTable {
  v4Start: Uint32Array;
  v4End: Uint32Array;
  v4Asn: Uint32Array;
  v4Org: Uint32Array;
  /** First /48 whose first address is in the range (the start rounded up to a /48). */
  v6Start: Float64Array;
  /** Last /48 whose first address is in the range. */
  v6End: Float64Array;
  v6Asn: Uint32Array;
  v6Org: Uint32Array;
  orgs: string[];
}

const CACHE_FORMAT = 3;
const require = createRequire(import.meta.url);

function packageDir(): string {
  return dirname(require.resolve('@ip-location-db/asn/package.json'));
}

/** `a,b,asn,org` where org may be a quoted CSV field. */
function splitRow(line: string): [string, string, string, string] | null {
  const c1 = line.indexOf(',');
  const c2 = line.indexOf(',', c1 + 1);
  const c3 = line.indexOf(',', c2 + 1);
  if (c1 < 0 || c2 < 0 || c3 < 0) return null;
  let org = line.slice(c3 + 1);
  if (org.startsWith('"')) org = org.slice(1, org.endsWith('"') ? -1 : undefined).replaceAll('""', '"');
  return [line.slice(0, c1), line.slice(c1 + 1, c2), line.slice(c2 + 1, c3), org];
}

function parse(dir: string): AsnTable {
  const orgs: string[] = [];
  const orgIndex = new Map<string, number>();
  const org = (name: string) => {
    let index = orgIndex.get(name);
    if (index === undefined) {
      index = orgs.length;
      orgs.push(name);
      orgIndex.set(name, index);
    }
    return index;
  };
  const rows = (file: string) =>
    readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .map(splitRow)
      .filter((r) => r !== null);

  const v4 = rows('asn-ipv4-num.csv');
  const v4Start = new Uint32Array(v4.length);
  const v4End = new Uint32Array(v4.length);
  const v4Asn = new Uint32Array(v4.length);
  const v4Org = new Uint32Array(v4.length);
  v4.forEach(([start, end, asn, name], i) => {
    v4Start[i] = Number(start);
    v4End[i] = Number(end);
    v4Asn[i] = Number(asn);
    v4Org[i] = org(name);
  });

  const v6 = rows('asn-ipv6-num.csv');
  const v6Start = new Float64Array(v6.length);
  const v6End = new Float64Array(v6.length);
  const v6Asn = new Uint32Array(v6.length);
  const v6Org = new Uint32Array(v6.length);
  v6.forEach(([start, end, asn, name], i) => {
    // By its /64 first (a few ranges start past a /64's first address), then rounded up to a /48.
    v6Start[i] = Number(((BigInt(start) >> 64n) + 0xffffn) >> 16n);
    v6End[i] = Number(BigInt(end) >> 80n);
    v6Asn[i] = Number(asn);
    v6Org[i] = org(name);
  });
  return { v4Start, v4End, v4Asn, v4Org, v6Start, v6End, v6Asn, v6Org, orgs };
}

/** Where the cache goes: node_modules/.cache (the usual place for derived build data), else the OS temp dir is not used — we just parse. */
function cachePath(dir: string): string {
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  const size = statSync(join(dir, 'asn-ipv4-num.csv')).size + statSync(join(dir, 'asn-ipv6-num.csv')).size;
  return join(dir, '..', '..', '.cache', 'openping', `asn-${version}-${size}-f${CACHE_FORMAT}.v8`);
}

export function loadAsnTable(): AsnTable {
  const dir = packageDir();
  const cache = cachePath(dir);
  try {
    return deserialize(readFileSync(cache)) as AsnTable;
  } catch {
    // No cache yet (or unreadable): parse, then try to leave one for next time.
  }
  const table = parse(dir);
  try {
    mkdirSync(dirname(cache), { recursive: true });
    const temp = `${cache}.${process.pid}.tmp`;
    writeFileSync(temp, serialize(table));
    renameSync(temp, cache);
  } catch {
    // A read-only install still works, it only starts slower.
  }
  return table;
}

/** Index of the last range starting at or before `x`, or -1. */
function bisect(starts: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid]! <= x) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

export function lookupAsn(table: AsnTable, ip: ParsedIp): { asn: number; org: string } | null {
  const b = ip.bytes;
  if (ip.family === 4) {
    const x = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    const i = bisect(table.v4Start, x);
    if (i < 0 || x > table.v4End[i]!) return null;
    return { asn: table.v4Asn[i]!, org: table.v4Org[i] === undefined ? '' : table.orgs[table.v4Org[i]!]! };
  }
  // The /48 the address is in, as a number: exact for the first address of a /48, which is all the server asks.
  const x = ((b[0]! << 8) | b[1]!) * 2 ** 32 + (((b[2]! << 24) | (b[3]! << 16) | (b[4]! << 8) | b[5]!) >>> 0);
  const i = bisect(table.v6Start, x);
  if (i < 0 || x > table.v6End[i]!) return null;
  return { asn: table.v6Asn[i]!, org: table.orgs[table.v6Org[i]!]! };
}
