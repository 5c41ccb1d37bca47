/**
 * IP → autonomous system, from @ip-location-db/asn (CC BY 4.0; ranges
 * `start,end,asn,org`, IPv4 and IPv6 — see its README).
 *
 * The ~515k ranges are converted once into a flat binary file beside
 * node_modules (node_modules/.cache/openping, else the OS temp dir) and then
 * read through its file descriptor, not held: in memory stay only every
 * 64th range start (to find the block a lookup needs), the organisations'
 * name offsets, and a small cache of decoded blocks and names — about 1 MB instead of
 * the 13 MB of arrays and 81k strings the whole table takes (issue 15, item 8:
 * the server must fit a 256 MB machine). A lookup happens once per new /24 or
 * /48 (pixel.ts caches the answer) and costs at most two pread()s of pages the
 * OS keeps cached. The conversion streams the CSV line by line, so even the
 * first start never holds the 33 MB of text.
 *
 * IPv6 ranges are kept by /48: the server only ever looks up the first
 * address of a /48 (SPEC §3 keeps no more), so a range is stored as the /48s
 * whose first address it holds — its start rounded up, its end rounded down,
 * as plain numbers (48 bits are exact in a double; no BigInt per lookup).
 *
 * The file, little-endian: a 64-byte header ("OPASN", format, counts and
 * section offsets), then IPv4 records of 16 bytes (start, end, asn, org as
 * uint32), IPv6 records of 24 bytes (start, end as float64; asn, org as
 * uint32), the organisations' UTF-8 offsets (uint32, one more than there are
 * names) and their UTF-8 text.
 */
import { createReadStream, closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ParsedIp } from './ip.ts';

const CACHE_FORMAT = 4;
const MAGIC = 'OPASN';
const HEADER = 64;
const V4_RECORD = 16;
const V6_RECORD = 24;
/** Ranges per block: one in-memory start per block, one block read per lookup (1 KiB for IPv4, 1.5 KiB for IPv6) and kept as read. */
const BLOCK = 64;
const CACHED_BLOCKS = 512;
const CACHED_ORGS = 4096;

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

/** A typed array that grows as rows stream in. */
class Column<T extends Uint32Array | Float64Array> {
  length = 0;
  constructor(private values: T) {}
  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new (this.values.constructor as new (n: number) => T)(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }
  get(i: number): number {
    return this.values[i]!;
  }
}

async function eachRow(file: string, row: (fields: [string, string, string, string]) => void): Promise<void> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    const fields = splitRow(line);
    if (fields) row(fields);
  }
}

/** The CSV files → the binary image described above. */
async function convert(dir: string): Promise<Buffer> {
  const orgIndex = new Map<string, number>();
  const org = (name: string) => {
    let index = orgIndex.get(name);
    if (index === undefined) orgIndex.set(name, (index = orgIndex.size));
    return index;
  };
  const v4 = { start: new Column(new Uint32Array(1 << 16)), end: new Column(new Uint32Array(1 << 16)), asn: new Column(new Uint32Array(1 << 16)), org: new Column(new Uint32Array(1 << 16)) };
  await eachRow(join(dir, 'asn-ipv4-num.csv'), ([start, end, asn, name]) => {
    v4.start.push(Number(start));
    v4.end.push(Number(end));
    v4.asn.push(Number(asn));
    v4.org.push(org(name));
  });
  const v6 = { start: new Column(new Float64Array(1 << 14)), end: new Column(new Float64Array(1 << 14)), asn: new Column(new Uint32Array(1 << 14)), org: new Column(new Uint32Array(1 << 14)) };
  await eachRow(join(dir, 'asn-ipv6-num.csv'), ([start, end, asn, name]) => {
    // By its /64 first (a few ranges start past a /64's first address), then rounded up to a /48.
    v6.start.push(Number(((BigInt(start) >> 64n) + 0xffffn) >> 16n));
    v6.end.push(Number(BigInt(end) >> 80n));
    v6.asn.push(Number(asn));
    v6.org.push(org(name));
  });
  const names = Buffer.from([...orgIndex.keys()].join(''), 'utf8');
  const offsets = new Uint32Array(orgIndex.size + 1);
  let at = 0;
  let i = 0;
  for (const name of orgIndex.keys()) {
    offsets[i++] = at;
    at += Buffer.byteLength(name, 'utf8');
  }
  offsets[i] = at;

  const n4 = v4.start.length;
  const n6 = v6.start.length;
  const v4At = HEADER;
  const v6At = v4At + n4 * V4_RECORD;
  const offsetsAt = v6At + n6 * V6_RECORD;
  const namesAt = offsetsAt + offsets.length * 4;
  const image = Buffer.alloc(namesAt + names.length);
  image.write(MAGIC, 0, 'latin1');
  [CACHE_FORMAT, n4, n6, orgIndex.size, v4At, v6At, offsetsAt, namesAt, names.length].forEach((v, k) => image.writeUInt32LE(v, 8 + k * 4));
  for (let r = 0; r < n4; r++) {
    const p = v4At + r * V4_RECORD;
    image.writeUInt32LE(v4.start.get(r), p);
    image.writeUInt32LE(v4.end.get(r), p + 4);
    image.writeUInt32LE(v4.asn.get(r), p + 8);
    image.writeUInt32LE(v4.org.get(r), p + 12);
  }
  for (let r = 0; r < n6; r++) {
    const p = v6At + r * V6_RECORD;
    image.writeDoubleLE(v6.start.get(r), p);
    image.writeDoubleLE(v6.end.get(r), p + 8);
    image.writeUInt32LE(v6.asn.get(r), p + 16);
    image.writeUInt32LE(v6.org.get(r), p + 20);
  }
  Buffer.from(offsets.buffer).copy(image, offsetsAt);
  names.copy(image, namesAt);
  return image;
}

/** Where the binary goes: node_modules/.cache (the usual place for derived build data), else the OS temp dir (a read-only install). */
function cachePaths(dir: string): string[] {
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  const size = statSync(join(dir, 'asn-ipv4-num.csv')).size + statSync(join(dir, 'asn-ipv6-num.csv')).size;
  const name = `asn-${version}-${size}-f${CACHE_FORMAT}.bin`;
  return [join(dir, '..', '..', '.cache', 'openping', name), join(tmpdir(), 'openping', name)];
}

/** Where one block's records are: bytes of the slab (or of the in-memory image) from `at`. */
interface Block {
  bytes: Buffer;
  at: number;
}

/** The binary, through a file descriptor or (when no copy could be written anywhere) from memory. */
type Source = { fd: number } | { image: Buffer };

export class AsnTable {
  readonly v4Count: number;
  readonly v6Count: number;
  /** The start of every BLOCK-th range: which block holds the last range starting at or before an address. */
  private readonly v4Index: Uint32Array;
  private readonly v6Index: Float64Array;
  private readonly orgOffsets: Uint32Array;
  private readonly v4At: number;
  private readonly v6At: number;
  private readonly namesAt: number;
  /** Block key → its slot in the slab. */
  private readonly blocks = new Map<number, number>();
  private readonly orgs = new Map<number, string>();
  /**
   * The cached blocks' raw records, one slot each, allocated once and read in
   * place. Decoding each block read into four typed arrays was four small
   * mallocs per new network, freed only at a full GC: churn that fragmented the
   * C heap (issue 15, item 8).
   */
  private readonly slab = Buffer.allocUnsafeSlow(CACHED_BLOCKS * BLOCK * V6_RECORD);

  constructor(private readonly source: Source, private readonly label: string) {
    const header = this.read(0, HEADER);
    const field = (k: number) => header.readUInt32LE(8 + k * 4);
    if (header.toString('latin1', 0, MAGIC.length) !== MAGIC || field(0) !== CACHE_FORMAT) throw new Error(`${label} is not an OpenPing ASN table of format ${CACHE_FORMAT}`);
    [this.v4Count, this.v6Count] = [field(1), field(2)];
    const orgCount = field(3);
    [this.v4At, this.v6At] = [field(4), field(5)];
    const offsetsAt = field(6);
    this.namesAt = field(7);
    const size = 'fd' in source ? fstatSync(source.fd).size : source.image.length;
    if (this.namesAt + field(8) !== size) throw new Error(`${label} is ${size} bytes, its header says ${this.namesAt + field(8)} (truncated?)`);
    this.orgOffsets = new Uint32Array(orgCount + 1);
    const offsets = Buffer.from(this.orgOffsets.buffer);
    const read = this.read(offsetsAt, offsets.length, offsets);
    if (read.buffer !== offsets.buffer) read.copy(offsets);
    this.v4Index = new Uint32Array(Math.ceil(this.v4Count / BLOCK));
    this.v6Index = new Float64Array(Math.ceil(this.v6Count / BLOCK));
    this.readIndex(this.v4At, V4_RECORD, (chunk, at) => chunk.readUInt32LE(at), this.v4Index);
    this.readIndex(this.v6At, V6_RECORD, (chunk, at) => chunk.readDoubleLE(at), this.v6Index);
  }

  /** Every block's first start, read 256 blocks at a time into one buffer (not a read per block: this runs at every start). */
  private readIndex(at: number, size: number, start: (chunk: Buffer, at: number) => number, index: Uint32Array | Float64Array): void {
    const total = family(size) === 4 ? this.v4Count : this.v6Count;
    const scratch = Buffer.allocUnsafe(256 * BLOCK * size);
    for (let b = 0; b < index.length; b += 256) {
      const records = Math.min(256 * BLOCK, total - b * BLOCK);
      const chunk = this.read(at + b * BLOCK * size, records * size, scratch);
      for (let k = 0; k * BLOCK < records; k++) index[b + k] = start(chunk, k * BLOCK * size);
    }
  }

  /** The range holding `x` (an IPv4 address as uint32, or an IPv6 /48 as a number), or null. */
  find(family: 4 | 6, x: number): { asn: number; org: string } | null {
    const b = bisect(family === 4 ? this.v4Index : this.v6Index, x);
    if (b < 0) return null;
    const size = family === 4 ? V4_RECORD : V6_RECORD;
    const count = Math.min(BLOCK, (family === 4 ? this.v4Count : this.v6Count) - b * BLOCK);
    const { bytes, at } = this.block(family, b, size, count);
    // Each record: start, end (uint32 for IPv4, double for IPv6), then asn and org index (uint32).
    const start = (r: number) => (family === 4 ? bytes.readUInt32LE(at + r * size) : bytes.readDoubleLE(at + r * size));
    // The last range in the block starting at or before x (the block's first one does, by the index).
    let lo = 0;
    let hi = count - 1;
    let r = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (start(mid) <= x) {
        r = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const p = at + r * size;
    const end = family === 4 ? bytes.readUInt32LE(p + 4) : bytes.readDoubleLE(p + 8);
    if (x > end) return null;
    return { asn: bytes.readUInt32LE(p + size - 8), org: this.org(bytes.readUInt32LE(p + size - 4)) };
  }

  close(): void {
    if ('fd' in this.source) closeSync(this.source.fd);
  }

  private block(family: 4 | 6, b: number, size: number, count: number): Block {
    const position = (family === 4 ? this.v4At : this.v6At) + b * BLOCK * size;
    if ('image' in this.source) return { bytes: this.source.image, at: position };
    // Keys: IPv4 blocks even, IPv6 blocks odd.
    const key = b * 2 + (family === 4 ? 0 : 1);
    let slot = this.blocks.get(key);
    if (slot === undefined) {
      // A whole-cache reset keeps the bound with no bookkeeping per lookup (as the other caches here do).
      if (this.blocks.size >= CACHED_BLOCKS) this.blocks.clear();
      slot = this.blocks.size;
      const at = slot * BLOCK * V6_RECORD;
      this.read(position, count * size, this.slab.subarray(at, at + count * size));
      this.blocks.set(key, slot);
    }
    return { bytes: this.slab, at: slot * BLOCK * V6_RECORD };
  }

  private org(i: number): string {
    let name = this.orgs.get(i);
    if (name === undefined) {
      const from = this.orgOffsets[i];
      const to = this.orgOffsets[i + 1];
      name = from === undefined || to === undefined ? '' : this.read(this.namesAt + from, to - from).toString('utf8');
      // A whole-cache reset keeps the bound with no bookkeeping per lookup.
      if (this.orgs.size >= CACHED_ORGS) this.orgs.clear();
      this.orgs.set(i, name);
    }
    return name;
  }

  /** `length` bytes at `position`: the image's own bytes when in memory, else read into `into` (or a new buffer). */
  private read(position: number, length: number, into?: Buffer): Buffer {
    if ('image' in this.source) return this.source.image.subarray(position, position + length);
    const out = into ? into.subarray(0, length) : Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.source.fd, out, done, length - done, position + done);
      if (n === 0) throw new Error(`${this.label}: read past the end at byte ${position + done} (truncated?)`);
      done += n;
    }
    return out;
  }
}

const family = (recordSize: number): 4 | 6 => (recordSize === V4_RECORD ? 4 : 6);

function openTable(path: string): AsnTable {
  const fd = openSync(path, 'r');
  try {
    return new AsnTable({ fd }, path);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

export async function loadAsnTable(): Promise<AsnTable> {
  const dir = packageDir();
  const paths = cachePaths(dir);
  for (const path of paths) {
    try {
      return openTable(path);
    } catch {
      // Not converted yet (or unreadable): try the next place, then convert.
    }
  }
  const image = await convert(dir);
  for (const path of paths) {
    try {
      mkdirSync(dirname(path), { recursive: true });
      const temp = `${path}.${process.pid}.tmp`;
      writeFileSync(temp, image);
      renameSync(temp, path);
      return openTable(path);
    } catch {
      // Not writable here; the next place, or memory.
    }
  }
  // Nowhere to write: the image stays in memory (13 MB) — it still works.
  return new AsnTable({ image }, 'the ASN table (in memory)');
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
  if (ip.family === 4) return table.find(4, ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0);
  // The /48 the address is in, as a number: exact for the first address of a /48, which is all the server asks.
  return table.find(6, ((b[0]! << 8) | b[1]!) * 2 ** 32 + (((b[2]! << 24) | (b[3]! << 16) | (b[4]! << 8) | b[5]!) >>> 0));
}
