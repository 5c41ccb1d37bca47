/**
 * A MaxMind DB (.mmdb) reader that reads the file as it goes instead of
 * holding it: the search tree and the data section are read through the file
 * descriptor in 4 KiB pages, of which a small LRU stays in memory.
 *
 * Why not `maxmind`/`mmdb-lib`: both decode from one Buffer holding the whole
 * file (mmdb-lib's Reader refuses anything but a Buffer), and the GeoLite2 city
 * files are 45 MB — a third of the server's memory budget (issue 15, item 8)
 * spent on data a server looks at once per new /24. Node has no mmap of its
 * own, and no maintained mmap package builds without a compiler on Node 20 and
 * 24. The OS page cache keeps the hot pages anyway, so a lookup costs a few
 * pread()s of cached pages.
 *
 * The format is the MaxMind DB File Format Specification 2.0
 * (https://maxmind.github.io/MaxMind-DB/): a binary search tree of
 * `node_count` nodes, each two records of `record_size` bits; a record below
 * node_count is the next node, equal to it "not found", above it a pointer into
 * the data section (which starts 16 bytes after the tree); the metadata map
 * follows the marker "\xAB\xCD\xEFMaxMind.com" near the end of the file.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const PAGE = 4096;
const METADATA_MARKER = Buffer.from('abcdef4d61784d696e642e636f6d', 'hex');
/** The spec bounds the metadata section at 128 KiB. */
const METADATA_MAX = 128 * 1024;
const DATA_SEPARATOR = 16;

export type MmdbValue = string | number | bigint | boolean | Buffer | MmdbValue[] | { [key: string]: MmdbValue };

export interface MmdbMetadata {
  nodeCount: number;
  recordSize: 24 | 28 | 32;
  ipVersion: 4 | 6;
  databaseType: string;
  buildEpoch: number;
}

export interface MmdbFileOptions {
  /** Pages (4 KiB) kept in memory, most recently used first out last; default 256 (1 MiB). */
  cachedPages?: number;
  /** Decoded records kept by their data offset (many networks share one); default 1024. */
  cachedRecords?: number;
}

export class MmdbFile {
  readonly metadata: MmdbMetadata;
  private fd: number | null;
  private readonly size: number;
  /**
   * The cached pages, one slot each, allocated once: a page read evicts the least
   * recently used one into its slot. A Buffer per page read cost the C heap:
   * 10,000 lookups of new networks read ~100,000 pages, each a 4 KiB malloc freed
   * only at the next full GC, and glibc kept the fragmented high-water mark
   * (issue 15, item 8).
   */
  private readonly slab: Buffer;
  /** Page index → its slot in the slab, least recently used first. */
  private readonly pages = new Map<number, number>();
  /** Slots never used yet start here. */
  private unused = 0;
  private readonly records = new Map<number, MmdbValue>();
  private readonly maxPages: number;
  private readonly maxRecords: number;
  private readonly nodeBytes: number;
  private readonly dataStart: number;
  private readonly ipv4Start: number;

  constructor(
    private readonly path: string,
    options: MmdbFileOptions = {},
  ) {
    this.maxPages = Math.max(4, options.cachedPages ?? 256);
    this.maxRecords = Math.max(0, options.cachedRecords ?? 1024);
    // Untouched (allocUnsafeSlow does not zero), the slab's pages are not resident until read into.
    this.slab = Buffer.allocUnsafeSlow(this.maxPages * PAGE);
    this.fd = openSync(path, 'r');
    try {
      this.size = fstatSync(this.fd).size;
      this.metadata = this.readMetadata();
    } catch (error) {
      this.close();
      throw error;
    }
    this.nodeBytes = this.metadata.recordSize / 4;
    this.dataStart = this.metadata.nodeCount * this.nodeBytes + DATA_SEPARATOR;
    if (this.dataStart > this.size) throw new Error(`${path}: the search tree runs past the end of the file (truncated?)`);
    // IPv4 in an IPv6 tree sits under ::/96 (the spec's "IPv4 addresses in an IPv6 tree").
    let node = 0;
    if (this.metadata.ipVersion === 6) for (let i = 0; i < 96 && node < this.metadata.nodeCount; i++) node = this.record(node, 0);
    this.ipv4Start = node;
  }

  /** The record for an address (4 or 16 bytes, network order), or null when the database has none. */
  lookup(address: Uint8Array): MmdbValue | null {
    const { nodeCount, ipVersion } = this.metadata;
    if (address.length === 16 && ipVersion === 4) return null;
    let node = address.length === 4 ? this.ipv4Start : 0;
    const bits = address.length * 8;
    for (let depth = 0; depth < bits && node < nodeCount; depth++) {
      node = this.record(node, (address[depth >> 3]! >> (7 - (depth & 7))) & 1);
    }
    if (node <= nodeCount) return null;
    const offset = node - nodeCount - DATA_SEPARATOR;
    let value = this.records.get(offset);
    if (value === undefined) {
      value = this.decode({ at: this.dataStart + offset }, this.dataStart);
      // A whole-cache reset keeps the bound with no bookkeeping per lookup.
      if (this.records.size >= this.maxRecords) this.records.clear();
      if (this.maxRecords > 0) this.records.set(offset, value);
    }
    return value;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.pages.clear();
    this.records.clear();
  }

  /** Record 0 (left) or 1 (right) of a node. */
  private record(node: number, side: 0 | 1 | number): number {
    const b = this.bytes(node * this.nodeBytes, this.nodeBytes);
    switch (this.metadata.recordSize) {
      case 24:
        return side ? (b[3]! << 16) | (b[4]! << 8) | b[5]! : (b[0]! << 16) | (b[1]! << 8) | b[2]!;
      case 28:
        // The middle byte's high nibble belongs to the left record, its low nibble to the right one.
        return side
          ? ((b[3]! & 0x0f) * 2 ** 24) + ((b[4]! << 16) | (b[5]! << 8) | b[6]!)
          : ((b[3]! >> 4) * 2 ** 24) + ((b[0]! << 16) | (b[1]! << 8) | b[2]!);
      default:
        return side ? b.readUInt32BE(4) : b.readUInt32BE(0);
    }
  }

  private readMetadata(): MmdbMetadata {
    const length = Math.min(this.size, METADATA_MAX);
    const tail = Buffer.alloc(length);
    this.readAt(tail, this.size - length);
    const marker = tail.lastIndexOf(METADATA_MARKER);
    if (marker < 0) throw new Error(`${this.path} is not a MaxMind DB file (no metadata marker)`);
    const start = this.size - length + marker + METADATA_MARKER.length;
    const meta = this.decode({ at: start }, start) as Record<string, MmdbValue>;
    const nodeCount = Number(meta.node_count);
    const recordSize = Number(meta.record_size);
    const ipVersion = Number(meta.ip_version);
    if (!Number.isSafeInteger(nodeCount) || nodeCount <= 0) throw new Error(`${this.path}: metadata has no node_count`);
    if (recordSize !== 24 && recordSize !== 28 && recordSize !== 32) throw new Error(`${this.path}: record_size ${recordSize} is not 24, 28 or 32`);
    if (ipVersion !== 4 && ipVersion !== 6) throw new Error(`${this.path}: ip_version ${ipVersion} is not 4 or 6`);
    return { nodeCount, recordSize, ipVersion, databaseType: String(meta.database_type ?? ''), buildEpoch: Number(meta.build_epoch ?? 0) };
  }

  /** One value of the data section at `cursor.at` (moved past it); pointers count from `base`. */
  private decode(cursor: { at: number }, base: number): MmdbValue {
    const ctrl = this.bytes(cursor.at++, 1)[0]!;
    let type = ctrl >> 5;
    if (type === 1) {
      // Pointer: 3 value bits in the control byte, then 1–4 bytes; the value it points at is decoded in place.
      const size = (ctrl >> 3) & 3;
      const b = this.bytes(cursor.at, size + 1);
      const low = ctrl & 7;
      const target =
        size === 0
          ? (low << 8) | b[0]!
          : size === 1
            ? ((low << 16) | (b[0]! << 8) | b[1]!) + 2048
            : size === 2
              ? low * 2 ** 24 + ((b[0]! << 16) | (b[1]! << 8) | b[2]!) + 526336
              : b.readUInt32BE(0);
      cursor.at += size + 1;
      return this.decode({ at: base + target }, base);
    }
    if (type === 0) type = 7 + this.bytes(cursor.at++, 1)[0]!;
    let size = ctrl & 0x1f;
    if (size >= 29) {
      const extra = size - 28;
      const b = this.bytes(cursor.at, extra);
      cursor.at += extra;
      size = extra === 1 ? 29 + b[0]! : extra === 2 ? 285 + b.readUInt16BE(0) : 65821 + ((b[0]! << 16) | (b[1]! << 8) | b[2]!);
    }
    switch (type) {
      case 2: {
        const text = this.bytes(cursor.at, size).toString('utf8');
        cursor.at += size;
        return text;
      }
      case 3:
      case 15: {
        const b = this.bytes(cursor.at, size);
        cursor.at += size;
        return type === 3 ? b.readDoubleBE(0) : b.readFloatBE(0);
      }
      case 4: {
        const copy = Buffer.from(this.bytes(cursor.at, size));
        cursor.at += size;
        return copy;
      }
      case 5:
      case 6:
      case 8:
      case 9:
      case 10: {
        // Unsigned big-endian of `size` bytes (int32 is the same, then sign-extended).
        let value = 0n;
        const b = this.bytes(cursor.at, size);
        for (const byte of b) value = (value << 8n) | BigInt(byte);
        cursor.at += size;
        if (type === 8) return Number(BigInt.asIntN(32, value));
        return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
      }
      case 7: {
        const map: { [key: string]: MmdbValue } = {};
        for (let i = 0; i < size; i++) {
          const key = this.decode(cursor, base);
          map[String(key)] = this.decode(cursor, base);
        }
        return map;
      }
      case 11: {
        const list: MmdbValue[] = [];
        for (let i = 0; i < size; i++) list.push(this.decode(cursor, base));
        return list;
      }
      case 14:
        return size !== 0;
      default:
        throw new Error(`${this.path}: unknown data type ${type} at byte ${cursor.at - 1} (corrupt file?)`);
    }
  }

  /**
   * `length` bytes at `position`: a view into a cached page, or a copy when they
   * cross pages. A view is valid until the next read: use it before reading on.
   */
  private bytes(position: number, length: number): Buffer {
    const index = Math.floor(position / PAGE);
    const within = position - index * PAGE;
    if (within + length <= PAGE) {
      const at = this.page(index) + within;
      return this.slab.subarray(at, at + length);
    }
    const out = Buffer.alloc(length);
    for (let done = 0; done < length; ) {
      const at = position + done;
      const from = this.page(Math.floor(at / PAGE)) + (at % PAGE);
      const n = Math.min(length - done, PAGE - (at % PAGE));
      this.slab.copy(out, done, from, from + n);
      done += n;
    }
    return out;
  }

  /** The slab offset of a page, read into the least recently used slot if it is not cached. */
  private page(index: number): number {
    let slot = this.pages.get(index);
    if (slot !== undefined) {
      // Most recently used last: a Map keeps insertion order, so the first key is the eviction candidate.
      this.pages.delete(index);
      this.pages.set(index, slot);
      return slot * PAGE;
    }
    if (this.unused < this.maxPages) slot = this.unused++;
    else {
      const [oldest, freed] = this.pages.entries().next().value!;
      this.pages.delete(oldest);
      slot = freed;
    }
    const page = this.slab.subarray(slot * PAGE, (slot + 1) * PAGE);
    try {
      const read = this.readAt(page, index * PAGE);
      if (read < PAGE) page.fill(0, read);
    } catch (error) {
      // The slot stays in the cache under a key no page has, so it is reused, not lost.
      this.pages.set(-1 - slot, slot);
      throw error;
    }
    this.pages.set(index, slot);
    return slot * PAGE;
  }

  private readAt(into: Buffer, position: number): number {
    if (this.fd === null) throw new Error(`${this.path}: the reader is closed`);
    if (position >= this.size) throw new Error(`${this.path}: read past the end of the file at byte ${position} (truncated or corrupt)`);
    let done = 0;
    while (done < into.length && position + done < this.size) {
      const n = readSync(this.fd, into, done, into.length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }
}
