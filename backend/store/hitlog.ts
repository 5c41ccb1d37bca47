/**
 * The hit log of the SQLite store: an append-only file that makes pixel hits
 * durable before they reach SQLite.
 *
 * Why: answering a pixel only after its hit is durable used to mean an SQLite
 * commit (B-tree inserts into the table and four indexes, ~6 page writes) plus
 * a WAL fsync for every batch, all on the event loop — ~9 µs per hit, half of
 * the pixel route's CPU (profile of 2026-11-27, `npm run bench pixel.bench`).
 * Appending a batch to a log is one pwrite and one fdatasync, both on libuv's
 * thread pool; a worker thread then moves the logged hits into SQLite in large
 * transactions (./sqlite-ingest.ts) on the other core. This is the classic
 * write-ahead log design: the log is the durable record, the database its
 * applied form, and a restart applies whatever the log holds beyond the
 * position the database has recorded.
 *
 * Layout: numbered segment files next to the database (`<db>-hits.00000001`, …),
 * each a sequence of frames: 4-byte little-endian payload length, 4-byte
 * CRC-32 of the payload, then the payload — the JSON texts of the batch's
 * records joined by commas (JSON text never holds a raw comma outside a value
 * boundary that matters here: the reader wraps the payload in `[` `]`).
 * A frame is written with one positioned write and synced before anyone is
 * answered; a crash can only leave a torn frame at a segment's end, which the
 * reader recognises (length beyond the end or a CRC mismatch) and ignores —
 * nobody was answered for it. After a failed write or sync the segment is
 * sealed at its last durable end and appending goes on in a new segment, so
 * nothing durable ever follows a torn frame within one segment.
 */
import { closeSync, fdatasync, fstatSync, openSync, readdirSync, readSync, write } from 'node:fs';
import { basename, dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Classification, Geo, HitKind, HitSignals } from './types.ts';

export interface LogPosition {
  segment: number;
  /** Byte offset in the segment just after the last frame covered. */
  offset: number;
}

export function comparePositions(a: LogPosition, b: LogPosition): number {
  return a.segment - b.segment || a.offset - b.offset;
}

/** A stored hit: [0, id, account, tracker, kind, via, reason, client, geo, signals]. */
export type HitRecord = [0, string, string, string, HitKind, string | null, string, Classification['client'], Geo | null, HitSignals];
/** A fetch counted but not stored (flood cap): [1, tracker, account]. */
export type DropRecord = [1, string, string];
export type LogRecord = HitRecord | DropRecord;

const FRAME_HEADER = 8;
/** A new segment starts once the current one is this large; an ingested segment is deleted whole. */
export const SEGMENT_BYTES = 16 * 1024 * 1024;

export function segmentPath(dbPath: string, segment: number): string {
  return `${dbPath}-hits.${String(segment).padStart(8, '0')}`;
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

export interface ReadResult {
  records: LogRecord[];
  /** Offset after the last whole frame read. */
  offset: number;
  /** True when reading stopped at a torn or corrupt frame before `end`. */
  torn: boolean;
  /** True when every frame up to `end` was read (false: stopped at maxRecords or a torn frame). */
  done: boolean;
}

const READ_CHUNK = 4 * 1024 * 1024;

/**
 * Reads whole frames from `from` up to `end` (the file's size when null),
 * stopping early once `maxRecords` records are read or at a torn frame.
 */
export function readFrames(fd: number, from: number, end: number | null, maxRecords = Number.POSITIVE_INFINITY): ReadResult {
  const limit = end ?? fstatSync(fd).size;
  const records: LogRecord[] = [];
  let offset = from;
  const header = Buffer.alloc(FRAME_HEADER);
  while (offset < limit && records.length < maxRecords) {
    if (limit - offset < FRAME_HEADER || readSync(fd, header, 0, FRAME_HEADER, offset) < FRAME_HEADER) return { records, offset, torn: true, done: false };
    const length = header.readUInt32LE(0);
    const checksum = header.readUInt32LE(4);
    if (length === 0 || offset + FRAME_HEADER + length > limit) return { records, offset, torn: true, done: false };
    const payload = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, payload, got, Math.min(READ_CHUNK, length - got), offset + FRAME_HEADER + got);
      if (n === 0) return { records, offset, torn: true, done: false };
      got += n;
    }
    if (crc32(payload) !== checksum) return { records, offset, torn: true, done: false };
    let parsed: unknown;
    try {
      parsed = JSON.parse(`[${payload.toString('utf8')}]`);
    } catch {
      return { records, offset, torn: true, done: false };
    }
    for (const record of parsed as LogRecord[]) records.push(record);
    offset += FRAME_HEADER + length;
  }
  return { records, offset, torn: false, done: offset >= limit };
}

interface Cycle {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function cycle(): Cycle {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A failed cycle's promise may have no waiter left (flush() only observes it).
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * The writing side (event loop). Records appended while a frame is being
 * written and synced wait for the next frame: one frame, one write and one
 * fdatasync per cycle, however many requests arrived meanwhile.
 */
export class HitLog {
  private fd: number;
  private offset = 0;
  private pending: string[] = [];
  private next: Cycle | null = null;
  private running: Promise<void> | null = null;
  /** Set after a failed write: the next frame goes to a new segment. */
  private broken = false;
  /** The directory entry of a new segment must be durable before its first frame counts. */
  private dirSyncPending = false;
  durable: LogPosition;
  /** Segments left behind, each with its last durable end; the ingester reads them no further. */
  readonly sealed = new Map<number, number>();

  constructor(
    private dbPath: string,
    private segment: number,
    /** Called on the event loop after each frame is durable. */
    private onDurable: (position: LogPosition) => void,
  ) {
    this.fd = openSync(segmentPath(dbPath, segment), 'w');
    this.dirSyncPending = true;
    this.durable = { segment, offset: 0 };
  }

  /** Queues one record (its JSON text); sync() makes it durable. */
  append(json: string): void {
    this.pending.push(json);
  }

  /** Resolves once everything appended so far is durable; rejects if its frame failed. */
  sync(): Promise<void> {
    if (this.pending.length === 0 && !this.next) return this.running ?? Promise.resolve();
    this.next ??= cycle();
    const waiting = this.next.promise;
    if (!this.running) this.start();
    return waiting;
  }

  /** Resolves once every frame begun or queued so far has settled (durable or failed). */
  async flush(): Promise<void> {
    while (this.running || this.next || this.pending.length > 0) {
      await this.sync().catch(() => undefined);
    }
  }

  forgetSealed(below: number): void {
    for (const segment of this.sealed.keys()) if (segment < below) this.sealed.delete(segment);
  }

  private start(): void {
    const current = this.next!;
    this.next = null;
    const records = this.pending;
    this.pending = [];
    if (this.broken || this.offset >= SEGMENT_BYTES) {
      try {
        this.rotate();
      } catch (error) {
        // No segment to write to (e.g. no file descriptors or space left): these hits fail, the next frame tries again.
        this.broken = true;
        current.reject(new Error(`Hit log: cannot start a new segment: ${error instanceof Error ? error.message : String(error)}`));
        this.settled();
        return;
      }
    }
    const payload = Buffer.from(records.join(','), 'utf8');
    const frame = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
    frame.writeUInt32LE(payload.length, 0);
    frame.writeUInt32LE(crc32(payload), 4);
    payload.copy(frame, FRAME_HEADER);
    const fd = this.fd;
    const at = this.offset;
    const syncDir = this.dirSyncPending;
    this.running = new Promise<void>((resolve, reject) => {
      write(fd, frame, 0, frame.length, at, (error, written) => {
        if (error || written !== frame.length) {
          reject(new Error(`Hit log write failed: ${error?.message ?? 'short write'}`));
          return;
        }
        fdatasync(fd, (syncError) => {
          if (syncError) {
            reject(new Error(`Hit log sync failed: ${syncError.message}`));
            return;
          }
          if (!syncDir) {
            resolve();
            return;
          }
          // A new file's name is durable only once its folder is synced (man 2 fsync).
          let dir: number;
          try {
            dir = openSync(dirname(this.dbPath), 'r');
          } catch (dirError) {
            reject(dirError);
            return;
          }
          fdatasync(dir, (dirError) => {
            closeSync(dir);
            if (dirError) reject(new Error(`Hit log folder sync failed: ${dirError.message}`));
            else resolve();
          });
        });
      });
    });
    this.running.then(
      () => {
        if (this.fd === fd) {
          this.offset = at + frame.length;
          if (syncDir) this.dirSyncPending = false;
          this.durable = { segment: this.segment, offset: this.offset };
        }
        this.settled();
        current.resolve();
        this.onDurable(this.durable);
      },
      (error: unknown) => {
        this.broken = true;
        this.settled();
        current.reject(error);
      },
    );
  }

  private settled(): void {
    this.running = null;
    if (this.next) this.start();
  }

  private rotate(): void {
    const fd = openSync(segmentPath(this.dbPath, this.segment + 1), 'w');
    this.sealed.set(this.segment, this.offset);
    closeSync(this.fd);
    this.segment += 1;
    this.offset = 0;
    this.fd = fd;
    this.dirSyncPending = true;
    this.broken = false;
  }

  /** After flush(): no frame is in flight. */
  close(): void {
    closeSync(this.fd);
  }
}
