/**
 * The hit log of the SQLite store: an append-only file that makes pixel hits
 * durable before they reach SQLite.
 *
 * Why: answering a pixel only after its hit is durable used to mean an SQLite
 * commit (B-tree inserts into the table and four indexes, ~6 page writes) plus
 * a WAL fsync for every batch, all on the event loop — ~9 µs per hit, half of
 * the pixel route's CPU (profile of 2026-11-27, `npm run bench pixel.bench`).
 * Appending a batch to a log is one positioned write into the page cache and
 * one fdatasync on libuv's thread pool; a worker thread then moves the logged
 * hits into SQLite in large transactions (./sqlite-ingest.ts), when a core is
 * free. This is the classic
 * write-ahead log design: the log is the durable record, the database its
 * applied form, and a restart applies whatever the log holds beyond the
 * position the database has recorded.
 *
 * Layout: numbered segment files next to the database (`<db>-hits.00000001`, …),
 * each a sequence of frames: 4-byte little-endian payload length, 4-byte
 * CRC-32 of the payload, then the payload — the JSON texts of the batch's
 * records joined by commas, which the reader parses as one JSON array by
 * wrapping it in `[` `]`.
 * A frame is written with one positioned write and synced before anyone is
 * answered; a crash can only leave a torn frame at a segment's end, which the
 * reader recognises (length beyond the end or a CRC mismatch) and ignores —
 * nobody was answered for it. After a failed write or sync the segment is
 * sealed at its last durable end and appending goes on in a new segment, so
 * nothing durable ever follows a torn frame within one segment (or, if the
 * segment held nothing durable yet, in the same file, emptied). A frame
 * damaged later, on disk, is skipped to the next whole frame (readFrames),
 * and its segment kept aside as `.corrupt`.
 *
 * Segment files are recycled: an applied segment is renamed to a free file
 * (`<db>-hits.free.N`, at most FREE_FILES kept) and a new segment takes one,
 * writing over the old bytes. Overwriting blocks a file already has makes
 * fdatasync a data flush only; appending also commits the file's new size
 * and blocks through the filesystem journal — twice the time and the kernel
 * CPU per frame (12 KB frames on this machine's ext4, 2026-11-27: 103 µs and
 * ~40 µs system time per write + fdatasync, against 190 µs and ~65 µs).
 * Stale frames of an earlier use are told apart by the checksum, which is
 * seeded with the segment number. So that no hit outlives the retention
 * period in a log file, a segment is retired after SEGMENT_MAX_AGE_MS even if
 * not full, and a free file older than that is deleted, not reused.
 */
import { closeSync, fdatasync, fstatSync, ftruncateSync, openSync, readdirSync, readFileSync, readSync, renameSync, statfsSync, statSync, unlinkSync, write, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import type BetterSqlite3 from 'better-sqlite3';
import Database from './sqlite-driver.ts';
import type { Geo, HitKind, HitSignals, StoredLabel } from './types.ts';

export interface LogPosition {
  segment: number;
  /** Byte offset in the segment just after the last frame covered. */
  offset: number;
}

export function comparePositions(a: LogPosition, b: LogPosition): number {
  return a.segment - b.segment || a.offset - b.offset;
}

/** A stored hit: [0, id, account, tracker, kind, via, reason, client, geo, signals]. */
export type HitRecord = [0, string, string, string, HitKind, string | null, string, StoredLabel['client'], Geo | null, HitSignals];
/** A fetch counted but not stored (flood cap): [1, tracker, account]. */
export type DropRecord = [1, string, string];
export type LogRecord = HitRecord | DropRecord;

/**
 * The JSON text of a stored hit's record, built by hand because it runs for
 * every pixel on the event loop: ~0.3 µs against ~0.9 µs for JSON.stringify
 * (2026-11-27, node 20). JSON.parse of it gives exactly what JSON.parse of
 * JSON.stringify(record) gives, and it is ASCII only: every character past
 * U+007F is written as a \u escape (RFC 8259 §7). The reasons carry an em dash,
 * and one such character would make V8 hold the record, the frame joined from
 * it and the copy into the file as two-byte strings (perf, 2026-11-27:
 * String::WriteToFlat<uint16_t> and Utf8Length ~3% of the event loop); ASCII
 * text goes into the frame's buffer as a plain byte copy. Strings go through
 * JSON.stringify unless made only of characters that need no escaping;
 * objects shared by many hits (frozen: a network's info and geo, see
 * pixel.ts NetworkCache) and the few texts that repeat (reasons, kinds) are
 * encoded once. Anything not of the expected shape falls back to
 * JSON.stringify, escaped the same way.
 */
export function encodeHitRecord(
  id: string,
  account: string,
  tracker: string,
  classification: StoredLabel,
  geo: Geo | null,
  signals: HitSignals,
): string {
  const c = classification;
  return (
    `[0,${str(id)},${str(account)},${str(tracker)},${str(c.kind)},${str(c.via)},${str(c.reason)},` +
    `${c.client === null ? 'null' : asciiJson(c.client)},${shared(geo)},${signalsJson(signals)}]`
  );
}

const PLAIN = /^[A-Za-z0-9 _.,:;/()+=*?!@#$%&'[\]{}|~^<>-]*$/;
const NON_ASCII = /[\u0080-\uffff]/g;
const escapeChar = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** JSON.stringify(value) in ASCII: a surrogate pair becomes two escapes, which JSON.parse joins again. */
export function asciiJson(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return 'null';
  const escapedText = text.replace(NON_ASCII, escapeChar);
  // V8 builds replace()'s result in its subject's two-byte form even when every character is ASCII now:
  // a copy through Latin-1 gives the one-byte string the frame can take as a plain copy.
  return escapedText === text ? text : Buffer.from(escapedText, 'latin1').toString('latin1');
}

/** Texts that needed escaping, by value: reasons and the like repeat from a small set. */
const escaped = new Map<string, string>();
const ESCAPED_MAX = 1024;

function str(value: string | null | undefined): string {
  if (value === null || value === undefined) return 'null';
  if (PLAIN.test(value)) return `"${value}"`;
  let text = escaped.get(value);
  if (text === undefined) {
    text = asciiJson(value);
    // Only short texts are kept: a long one is most likely a one-off header value.
    if (value.length <= 200) {
      if (escaped.size >= ESCAPED_MAX) escaped.clear();
      escaped.set(value, text);
    }
  }
  return text;
}

const sharedTexts = new WeakMap<object, string>();
function shared(value: object | null): string {
  if (value === null) return 'null';
  if (!Object.isFrozen(value)) return asciiJson(value);
  let text = sharedTexts.get(value);
  if (text === undefined) {
    text = asciiJson(value);
    sharedTexts.set(value, text);
  }
  return text;
}

const SIGNAL_KEYS = ['at', 'method', 'userAgent', 'headers', 'network'];
function signalsJson(signals: HitSignals): string {
  let i = 0;
  for (const key in signals) {
    if (key !== SIGNAL_KEYS[i++]) return asciiJson(signals);
  }
  const { at, headers } = signals;
  if (i !== SIGNAL_KEYS.length || !Number.isFinite(at) || typeof headers !== 'object' || headers === null) return asciiJson(signals);
  let h = '';
  for (const key in headers) {
    const value = headers[key as keyof typeof headers];
    if (value === undefined) continue;
    h += `${h === '' ? '' : ','}${str(key)}:${str(value)}`;
  }
  return `{"at":${at},"method":${str(signals.method)},"userAgent":${str(signals.userAgent)},"headers":{${h}},"network":${shared(signals.network)}}`;
}

const FRAME_HEADER = 8;
/** A new segment starts once the current one is this large; an applied segment is recycled whole. */
export const SEGMENT_BYTES = 16 * 1024 * 1024;
/** See the file comment. */
export const SEGMENT_MAX_AGE_MS = 3_600_000;
export const FREE_FILES = 2;
/** A spare file is prepared only while the disk has room for this many segments. */
const SPARE_MIN_FREE_SEGMENTS = 4;
/** A segment is left with this much room, so a frame rarely runs past a recycled file's end (it would only append). */
const FRAME_SLACK = 256 * 1024;

export function segmentPath(dbPath: string, segment: number): string {
  return `${dbPath}-hits.${String(segment).padStart(8, '0')}`;
}

function freePath(dbPath: string, n: number): string {
  return `${dbPath}-hits.free.${n}`;
}

/** Free files (applied segments kept for reuse), oldest first. */
export function listFree(dbPath: string): string[] {
  const prefix = `${basename(dbPath)}-hits.free.`;
  return readdirSync(dirname(dbPath))
    .filter((name) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)))
    .sort((a, b) => Number(a.slice(prefix.length)) - Number(b.slice(prefix.length)))
    .map((name) => join(dirname(dbPath), name));
}

/**
 * An applied segment becomes a free file if fewer than FREE_FILES are kept,
 * and is deleted otherwise. (The name change need not be durable: after a
 * crash an old segment under its own name is simply applied already.)
 */
export function recycleSegment(dbPath: string, segment: number): void {
  const file = segmentPath(dbPath, segment);
  try {
    if (listFree(dbPath).length < FREE_FILES) renameSync(file, freePath(dbPath, segment));
    else unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** The checksum of a frame of this segment: a frame left from an earlier use of the file does not match. */
function frameChecksum(payload: Buffer, segment: number): number {
  return crc32(payload, segmentSeed(segment));
}

let seedOf = { segment: -1, crc: 0 };
/** The CRC-32 of the segment number's 4 bytes (little-endian), the seed of its frames' checksums. */
function segmentSeed(segment: number): number {
  if (seedOf.segment !== segment) {
    const seed = Buffer.alloc(4);
    seed.writeUInt32LE(segment >>> 0, 0);
    seedOf = { segment, crc: crc32(seed) };
  }
  return seedOf.crc;
}

/** Segment numbers present next to the database, ascending. */
export function listSegments(dbPath: string): number[] {
  const prefix = `${basename(dbPath)}-hits.`;
  const found: number[] = [];
  for (const name of readdirSync(dirname(dbPath))) {
    if (!name.startsWith(prefix)) continue;
    const digits = name.slice(prefix.length);
    if (/^\d{8,}$/.test(digits)) found.push(Number(digits));
  }
  return found.sort((a, b) => a - b);
}

/**
 * One process owns a database's hit log: it replays and deletes segments, so a
 * second one would take the first one's log away under it. The owner holds a
 * lock the kernel releases when the process ends however it ends (kill -9, an
 * OOM kill, a host crash), never a stored process id: in a container the
 * server is PID 1 on every start, so a pid left in a file by a killed server
 * names the new server itself and looked held for good (issue 13).
 *
 * The lock is SQLite's own: `<db>-hits.lock` is opened as a small SQLite
 * database in `locking_mode = EXCLUSIVE` and an exclusive transaction taken
 * once, which SQLite then holds until the connection closes
 * (https://www.sqlite.org/pragma.html#pragma_locking_mode) — a POSIX advisory
 * lock (fcntl F_SETLK) on the file, which the kernel drops with the process
 * (man 2 fcntl). SQLite also tracks its locks per file within a process
 * (unixInodeInfo in os_unix.c), so a second store in the same process, or in
 * a worker thread, is refused too — where plain fcntl locks, owned by the
 * process, would not see it. Why not a package: flock through `fs-ext` or
 * `os-lock` means one more native addon to build for each Node version (the
 * rebuild trouble of issue 13 §10), and `proper-lockfile` is a directory with
 * a staleness timeout, which a killed server leaves behind for that long;
 * better-sqlite3 is already here, in the version for the running Node
 * (./sqlite-driver.ts).
 *
 * The file is never deleted, only left unlocked: deleting it while a starting
 * server has it open would let two servers each lock a different file.
 */
export class HitLogLock {
  private constructor(private db: BetterSqlite3.Database) {}

  /** The lock, or null when another live process (or another store in this one) holds it. */
  static acquire(dbPath: string): HitLogLock | null {
    const file = `${dbPath}-hits.lock`;
    const cannot = (error: unknown) => new Error(`Cannot take the hit log lock ${file}: ${error instanceof Error ? error.message : String(error)}.`);
    for (let attempt = 0; ; attempt++) {
      let db: BetterSqlite3.Database;
      try {
        db = new Database(file, { timeout: 0 });
      } catch (error) {
        throw cannot(error);
      }
      try {
        db.pragma('locking_mode = EXCLUSIVE');
        // No journal file beside it, ever (nothing in it needs rolling back).
        db.pragma('journal_mode = OFF');
        db.exec('BEGIN EXCLUSIVE; COMMIT');
        return new HitLogLock(db);
      } catch (error) {
        db.close();
        const code = (error as { code?: string }).code;
        if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return null;
        // Earlier versions wrote their process id into this file; such a file holds no lock.
        if (code === 'SQLITE_NOTADB' && attempt === 0 && statSync(file).size < 32 && /^\d+\s*$/.test(readFileSync(file, 'latin1'))) {
          unlinkSync(file);
          continue;
        }
        throw cannot(error);
      }
    }
  }

  release(): void {
    this.db.close();
  }
}

/** A frame or record with a right checksum that is not what the log holds: set aside, never applied. */
export interface Quarantined {
  reason: string;
  /** The record as parsed, or the frame's text when it was not JSON. */
  record?: unknown;
  text?: string;
}

export interface ReadResult {
  records: LogRecord[];
  /** Offset after the last whole frame read (or after damage skipped up to `end`). */
  offset: number;
  /** True when reading stopped at a torn frame with no whole frame after it (a crash mid-write), before the file's end. */
  torn: boolean;
  /** True when every frame up to `end` was read (false: stopped at maxRecords or a torn frame). */
  done: boolean;
  /** Whole frames read. */
  frames: number;
  /** Damaged stretches skipped to reach a later whole frame: where, how long, and how many frames were read before it. */
  skips: Array<{ at: number; bytes: number; framesBefore: number }>;
  quarantined: Quarantined[];
}

const READ_CHUNK = 4 * 1024 * 1024;
/** How much of a damaged stretch is read at once while looking for the next whole frame. */
const SCAN_WINDOW = 1024 * 1024;
const ZEROS = Buffer.alloc(256);

/**
 * Reads whole frames from `from` up to `end` (the file's size when null),
 * stopping early once `maxRecords` records are read.
 *
 * A frame that is not whole (a length past the end, a checksum that does not
 * match) is damage when a whole frame follows it, and the reader goes on from
 * that frame: a flipped byte or a bad length costs the hits of its own frame,
 * not those of every later one. Below a given `end` every byte was written as
 * frames and synced, so damage is skipped up to `end` even when no whole
 * frame follows. With `end` null (start-up, reading a segment to its last
 * whole frame) a frame followed by no whole frame is the torn tail a crash
 * leaves (nobody was answered for it) and reading stops there. A whole frame
 * is recognised by its checksum, seeded with the segment number, so a frame
 * left from an earlier use of a recycled file never passes for one.
 *
 * A whole frame whose text is not JSON, or a record that is not a record of
 * the log (checkRecord), goes to `quarantined` instead of stopping anything.
 */
export function readFrames(fd: number, segment: number, from: number, end: number | null, maxRecords = Number.POSITIVE_INFINITY): ReadResult {
  const limit = end ?? fstatSync(fd).size;
  const result: ReadResult = { records: [], offset: from, torn: false, done: false, frames: 0, skips: [], quarantined: [] };
  const header = Buffer.alloc(FRAME_HEADER);
  while (result.offset < limit && result.records.length < maxRecords) {
    const offset = result.offset;
    const payload = wholeFrame(fd, segment, offset, limit, header);
    if (payload === null) {
      const next = nextWholeFrame(fd, segment, offset + 1, limit);
      if (next === null && end === null) {
        result.torn = true;
        return result;
      }
      const to = next ?? limit;
      result.skips.push({ at: offset, bytes: to - offset, framesBefore: result.frames });
      result.offset = to;
      continue;
    }
    result.frames++;
    result.offset = offset + FRAME_HEADER + payload.length;
    let parsed: unknown[];
    try {
      parsed = JSON.parse(`[${payload.toString('utf8')}]`) as unknown[];
    } catch {
      result.quarantined.push({ reason: 'the frame is not JSON', text: payload.toString('utf8') });
      continue;
    }
    for (const record of parsed) {
      const wrong = checkRecord(record);
      if (wrong === null) result.records.push(record as LogRecord);
      else result.quarantined.push({ reason: wrong, record });
    }
  }
  result.done = result.offset >= limit;
  return result;
}

/** The payload of the whole frame at `offset`, or null when there is none there. */
function wholeFrame(fd: number, segment: number, offset: number, limit: number, header: Buffer): Buffer | null {
  if (limit - offset < FRAME_HEADER || readSync(fd, header, 0, FRAME_HEADER, offset) < FRAME_HEADER) return null;
  const length = header.readUInt32LE(0);
  // Zero: the unwritten part of a segment (or a frame torn before its header).
  if (length === 0 || offset + FRAME_HEADER + length > limit) return null;
  const payload = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, payload, got, Math.min(READ_CHUNK, length - got), offset + FRAME_HEADER + got);
    if (n === 0) return null;
    got += n;
  }
  return frameChecksum(payload, segment) === header.readUInt32LE(4) ? payload : null;
}

/**
 * The offset of the first whole frame at or after `from` (below `limit`), or
 * null. Each offset is tried in turn, in windows of SCAN_WINDOW bytes; most
 * fail at once on the length's high byte (JSON text read as a length is
 * beyond 500 MB; zeros are 0), so the checksum is computed only where a
 * frame header could be.
 */
function nextWholeFrame(fd: number, segment: number, from: number, limit: number): number | null {
  const window = Buffer.allocUnsafe(Math.min(SCAN_WINDOW, limit - from));
  const header = Buffer.alloc(FRAME_HEADER);
  // The high byte of any length that fits before `limit`.
  const highest = (limit - from) >>> 24;
  for (let start = from; start + FRAME_HEADER < limit; start += window.length - FRAME_HEADER) {
    const got = readSync(fd, window, 0, Math.min(window.length, limit - start), start);
    if (got <= FRAME_HEADER) return null;
    for (let at = 0; at + FRAME_HEADER <= got; at++) {
      if (window[at + 3]! > highest) continue;
      const length = window.readUInt32LE(at);
      if (length === 0) {
        // A run of zeros (a zero-filled spare's unwritten part, a zeroed block) holds no frame:
        // go on from the last offset whose length would take in the run's first non-zero byte.
        let next = at + 4;
        while (next + ZEROS.length <= got && window.compare(ZEROS, 0, ZEROS.length, next, next + ZEROS.length) === 0) next += ZEROS.length;
        while (next < got && window[next] === 0) next++;
        at = next - 4;
        continue;
      }
      if (start + at + FRAME_HEADER + length > limit) continue;
      if (at + FRAME_HEADER + length <= got) {
        const payload = window.subarray(at + FRAME_HEADER, at + FRAME_HEADER + length);
        if (frameChecksum(payload, segment) === window.readUInt32LE(at + 4)) return start + at;
      } else if (wholeFrame(fd, segment, start + at, limit, header) !== null) {
        return start + at;
      }
    }
    if (start + got >= limit) return null;
  }
  return null;
}

const isText = (v: unknown): v is string => typeof v === 'string';
const isTextOrNull = (v: unknown) => v === null || typeof v === 'string';
const isObjectOrNull = (v: unknown) => v === null || (typeof v === 'object' && !Array.isArray(v));

/**
 * Null when `record` is a record the ingester can apply (HitRecord,
 * DropRecord), else why not. Only this process writes the log, so anything
 * else is damage that happened to keep a right checksum, or a file put there
 * by hand: it is quarantined rather than stopping start-up (issue 13).
 */
export function checkRecord(record: unknown): string | null {
  if (!Array.isArray(record)) return 'not a record (an array)';
  if (record[0] === 1) return record.length === 3 && isText(record[1]) && isText(record[2]) ? null : 'a drop record of the wrong shape';
  if (record[0] !== 0) return 'a record of an unknown type';
  if (record.length !== 10) return 'a hit record of the wrong length';
  const [, id, account, tracker, kind, via, reason, client, geo, signals] = record as unknown[];
  if (!isText(id) || !isText(account) || !isText(tracker) || !isText(kind) || !isTextOrNull(via) || !isText(reason)) return 'a hit record with a wrong field';
  if (!isObjectOrNull(client) || !isObjectOrNull(geo) || signals === null || !isObjectOrNull(signals)) return 'a hit record with a wrong field';
  const { at, network } = signals as { at?: unknown; network?: unknown };
  if (typeof at !== 'number' || !Number.isFinite(at) || network === null || !isObjectOrNull(network)) return 'a hit record with wrong signals';
  const { prefix, asn, org } = network as { prefix?: unknown; asn?: unknown; org?: unknown };
  if (!isText(prefix) || !(asn === null || typeof asn === 'number') || !isTextOrNull(org)) return 'a hit record with a wrong network';
  return null;
}

/** Where a damaged segment is kept aside (./sqlite-ingest-worker.ts), instead of being recycled. */
export function corruptPath(dbPath: string, segment: number): string {
  return `${segmentPath(dbPath, segment)}.corrupt`;
}

/** Where records that cannot be applied are set aside, one file per UTC day, as JSON lines. */
export function quarantinePath(dbPath: string, now = Date.now()): string {
  return `${dbPath}-hits.quarantine.${new Date(now).toISOString().slice(0, 10)}`;
}

/**
 * Retention for what was set aside (damaged segments, quarantined records):
 * a file last written before `cutoff` holds only hits from before it, since a
 * hit is logged when it arrives and never rewritten. A damaged segment that
 * was a recycled file may also hold frames of the file's earlier use, at most
 * SEGMENT_MAX_AGE_MS older than its own first frame, which is itself at most
 * SEGMENT_MAX_AGE_MS older than its last write: so such files go that much
 * earlier, and no hit in them outlives the retention period.
 * (A quarantined record is dated by when it was set aside; a hit replayed
 * long after it arrived can be older than that.)
 */
export function deleteSetAsideBefore(dbPath: string, cutoff: number): number {
  const prefix = `${basename(dbPath)}-hits.`;
  let deleted = 0;
  for (const name of readdirSync(dirname(dbPath))) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    const margin = /^\d{8,}\.corrupt$/.test(rest) ? 2 * SEGMENT_MAX_AGE_MS : /^quarantine\.\d{4}-\d{2}-\d{2}$/.test(rest) ? 0 : null;
    if (margin === null) continue;
    const file = join(dirname(dbPath), name);
    try {
      if (statSync(file).mtimeMs < cutoff + margin) {
        unlinkSync(file);
        deleted++;
      }
    } catch {
      // Gone meanwhile.
    }
  }
  return deleted;
}

interface Frame {
  segment: number;
  /** Where the frame starts and ends in its segment. */
  start: number;
  end: number;
  waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }>;
}

/** Frames being synced at once: a request waits for one sync, not for the one before it to end first. */
const FRAMES_IN_FLIGHT = 2;

/**
 * The writing side (event loop). Records appended meanwhile wait for the next
 * frame: one frame, one write and one fdatasync per group, however many
 * requests arrived meanwhile. The write is synchronous (it only copies into
 * the page cache), the fdatasync runs on the thread pool; up to
 * FRAMES_IN_FLIGHT frames are syncing at once. Since an fdatasync covers every
 * write made before it began, a frame is durable once its own sync — or a
 * later frame's — has finished; `durable` only ever moves forward, in order.
 */
export class HitLog {
  private fd: number;
  private offset = 0;
  private pending: string[] = [];
  private waiting: Frame['waiters'] = [];
  private inFlight: Frame[] = [];
  /** Set after a failed write or sync: the next frame goes to a new segment. */
  private broken = false;
  private openedAt = Date.now();
  private segmentBytes: number;
  private maxAgeMs: number;
  private preparing = false;
  /** The directory entry of a new segment must be durable before its first frame counts. */
  private dirSyncPending = false;
  private flushers: Array<() => void> = [];
  durable: LogPosition;
  /** Segments left behind, each with its last durable end; the ingester reads them no further. */
  readonly sealed = new Map<number, number>();

  constructor(
    private dbPath: string,
    private segment: number,
    /** Called on the event loop after each frame is durable. */
    private onDurable: (position: LogPosition) => void,
    /** Smaller in tests, to see segments change. */
    { segmentBytes = SEGMENT_BYTES, maxAgeMs = SEGMENT_MAX_AGE_MS }: { segmentBytes?: number; maxAgeMs?: number } = {},
  ) {
    this.segmentBytes = segmentBytes;
    this.maxAgeMs = maxAgeMs;
    this.fd = this.openSegment(segment);
    this.dirSyncPending = true;
    this.durable = { segment, offset: 0 };
  }

  /** Queues one record (its JSON text); sync() makes it durable. */
  append(json: string): void {
    this.pending.push(json);
  }

  /** Resolves once everything appended so far is durable; rejects if its frame failed. */
  sync(): Promise<void> {
    if (this.pending.length === 0) {
      const last = this.inFlight.at(-1);
      if (!last) return Promise.resolve();
      return new Promise((resolve, reject) => last.waiters.push({ resolve, reject }));
    }
    const promise = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.startFrames();
    return promise;
  }

  /** Resolves once every frame begun or queued so far has settled (durable or failed). */
  flush(): Promise<void> {
    if (this.inFlight.length === 0 && this.pending.length === 0) return Promise.resolve();
    if (this.pending.length > 0) void this.sync().catch(() => undefined);
    return new Promise((resolve) => this.flushers.push(resolve));
  }

  forgetSealed(below: number): void {
    for (const segment of this.sealed.keys()) if (segment < below) this.sealed.delete(segment);
  }

  private startFrames(): void {
    while (this.pending.length > 0 && this.inFlight.length < FRAMES_IN_FLIGHT) {
      if (this.broken || this.offset >= this.segmentBytes - Math.min(FRAME_SLACK, this.segmentBytes >> 4) || (this.offset > 0 && Date.now() - this.openedAt > this.maxAgeMs)) {
        // A new segment only once the old one's frames have settled (its end is then known).
        if (this.inFlight.length > 0) return;
        try {
          if (!this.restartEmpty()) this.rotate();
        } catch (error) {
          // No segment to write to (no descriptors or space left): these hits fail, the next group tries again.
          this.fail(this.takeGroup(), new Error(`Hit log: cannot start a new segment: ${error instanceof Error ? error.message : String(error)}`));
          continue;
        }
      }
      this.writeFrame();
    }
  }

  private takeGroup(): { records: string[]; waiters: Frame['waiters'] } {
    const group = { records: this.pending, waiters: this.waiting };
    this.pending = [];
    this.waiting = [];
    return group;
  }

  private fail(group: { waiters: Frame['waiters'] }, error: unknown): void {
    for (const w of group.waiters) w.reject(error);
    this.settled();
  }

  private writeFrame(): void {
    const group = this.takeGroup();
    const text = group.records.join(',');
    const length = Buffer.byteLength(text, 'utf8');
    const bytes = Buffer.allocUnsafe(FRAME_HEADER + length);
    // One byte per character: ASCII (as encodeHitRecord writes), whose UTF-8 is its Latin-1, a plain copy.
    bytes.write(text, FRAME_HEADER, length === text.length ? 'latin1' : 'utf8');
    bytes.writeUInt32LE(length, 0);
    bytes.writeUInt32LE(frameChecksum(bytes.subarray(FRAME_HEADER), this.segment), 4);
    const frame: Frame = { segment: this.segment, start: this.offset, end: this.offset + bytes.length, waiters: group.waiters };
    try {
      // Into the page cache only; the durable part is the fdatasync below.
      const written = writeSync(this.fd, bytes, 0, bytes.length, frame.start);
      if (written !== bytes.length) throw new Error('short write');
    } catch (error) {
      this.broken = true;
      this.fail(frame, new Error(`Hit log write failed: ${error instanceof Error ? error.message : String(error)}`));
      return;
    }
    this.offset = frame.end;
    this.inFlight.push(frame);
    const fd = this.fd;
    const syncDir = this.dirSyncPending;
    this.dirSyncPending = false;
    fdatasync(fd, (error) => {
      if (error) return this.frameFailed(frame, new Error(`Hit log sync failed: ${error.message}`));
      if (!syncDir) return this.frameDurable(frame);
      // A new file's name is durable only once its folder is synced (man 2 fsync).
      let dir: number;
      try {
        dir = openSync(dirname(this.dbPath), 'r');
      } catch (dirError) {
        return this.frameFailed(frame, dirError);
      }
      fdatasync(dir, (dirError) => {
        closeSync(dir);
        if (dirError) this.frameFailed(frame, new Error(`Hit log folder sync failed: ${dirError.message}`));
        else this.frameDurable(frame);
      });
    });
  }

  /** This frame and every earlier one still in flight are durable (their writes preceded this sync). */
  private frameDurable(frame: Frame): void {
    const index = this.inFlight.indexOf(frame);
    if (index < 0) return;
    const done = this.inFlight.splice(0, index + 1);
    for (const f of done) for (const w of f.waiters) w.resolve();
    const reached = { segment: frame.segment, offset: frame.end };
    if (comparePositions(reached, this.durable) > 0) this.durable = reached;
    this.onDurable(this.durable);
    this.settled();
  }

  /**
   * After a failed sync the kernel may have dropped the frame's pages, so a
   * later frame's successful sync proves nothing for it: every frame from this
   * one on fails, and the segment is sealed at its last durable end.
   */
  private frameFailed(frame: Frame, error: unknown): void {
    const index = this.inFlight.indexOf(frame);
    if (index < 0) return;
    this.broken = true;
    const failed = this.inFlight.splice(index);
    for (const f of failed) for (const w of f.waiters) w.reject(error);
    this.settled();
  }

  private settled(): void {
    this.startFrames();
    if (this.inFlight.length === 0 && this.pending.length === 0) {
      const flushers = this.flushers;
      this.flushers = [];
      for (const f of flushers) f();
    }
  }

  /**
   * After a failure in a segment that holds nothing durable, writing starts
   * over in the same file, emptied, rather than in a new one: on a full disk
   * every group of hits fails, and each would otherwise leave a segment file
   * behind (which the worker, failing too, cannot retire). Emptied, the file
   * keeps no frame of the failed groups that a reader could take for one.
   */
  private restartEmpty(): boolean {
    if (!this.broken || this.durable.segment !== this.segment || this.durable.offset !== 0) return false;
    try {
      ftruncateSync(this.fd, 0);
    } catch {
      return false;
    }
    this.offset = 0;
    this.broken = false;
    this.openedAt = Date.now();
    // The failed first frame may not have made the file's name durable.
    this.dirSyncPending = true;
    return true;
  }

  private rotate(): void {
    const fd = this.openSegment(this.segment + 1);
    // Sealed at what is durable: after a failure the bytes beyond may be anything.
    this.sealed.set(this.segment, this.durable.segment === this.segment ? this.durable.offset : 0);
    closeSync(this.fd);
    this.segment += 1;
    this.offset = 0;
    this.fd = fd;
    this.openedAt = Date.now();
    this.dirSyncPending = true;
    this.broken = false;
    // Nothing of the new segment is needed for the old one to be applied (and recycled).
    this.durable = { segment: this.segment, offset: 0 };
    this.onDurable(this.durable);
  }

  /** A free file renamed to the segment's name (its blocks are reused), else a new file, and a spare is prepared for next time. */
  private openSegment(segment: number): number {
    const target = segmentPath(this.dbPath, segment);
    for (const free of listFree(this.dbPath)) {
      try {
        if (Date.now() - statSync(free).mtimeMs > this.maxAgeMs) {
          unlinkSync(free);
          continue;
        }
        renameSync(free, target);
        return openSync(target, 'r+');
      } catch {
        // Gone meanwhile (the ingest worker keeps at most FREE_FILES): try the next one.
      }
    }
    const fd = openSync(target, 'w');
    this.prepareSpare();
    return fd;
  }

  /**
   * Writes a zero-filled segment-sized file in the background and offers it
   * as a free file, so the next segment overwrites instead of appending.
   * Off the event loop (thread pool), one at a time; a failure only means the
   * next segment appends.
   */
  private prepareSpare(): void {
    if (this.preparing || this.segmentBytes < 1 << 20) return;
    // On a nearly full disk the spare would take the last room the log and the database need, if only
    // until it fails and is deleted (seen on a small filesystem: hits failed while it was being written).
    try {
      const fs = statfsSync(dirname(this.dbPath));
      if (fs.bavail * fs.bsize < SPARE_MIN_FREE_SEGMENTS * this.segmentBytes) return;
    } catch {
      return;
    }
    this.preparing = true;
    const spare = `${this.dbPath}-hits.spare`;
    const chunk = Buffer.alloc(1 << 20);
    const done = (fd: number | null, ok: boolean) => {
      if (fd !== null) closeSync(fd);
      try {
        if (ok && listFree(this.dbPath).length < FREE_FILES) renameSync(spare, freePath(this.dbPath, 0));
        else unlinkSync(spare);
      } catch {
        // Left for the next start's clean-up.
      }
      this.preparing = false;
    };
    let fd: number;
    try {
      fd = openSync(spare, 'w');
    } catch {
      this.preparing = false;
      return;
    }
    const fill = (at: number) => {
      if (at >= this.segmentBytes) {
        fdatasync(fd, (error) => done(fd, !error));
        return;
      }
      write(fd, chunk, 0, chunk.length, at, (error) => (error ? done(fd, false) : fill(at + chunk.length)));
    };
    fill(0);
  }

  /**
   * For the retention job: a segment holding hits older than SEGMENT_MAX_AGE_MS
   * is retired even when no frame comes to do it, and old free files go.
   */
  retireOld(): void {
    for (const free of listFree(this.dbPath)) {
      try {
        if (Date.now() - statSync(free).mtimeMs > this.maxAgeMs) unlinkSync(free);
      } catch {
        // Taken or removed meanwhile.
      }
    }
    if (this.offset > 0 && this.inFlight.length === 0 && this.pending.length === 0 && Date.now() - this.openedAt > this.maxAgeMs) {
      try {
        this.rotate();
      } catch {
        this.broken = true;
      }
    }
  }

  /** After flush(): no frame is in flight. */
  close(): void {
    closeSync(this.fd);
  }
}
