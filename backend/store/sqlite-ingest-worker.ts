/**
 * The ingest worker thread (see ./sqlite-ingest.ts): applies logged hits to
 * the SQLite file on its own connection, off the event loop.
 *
 * Its connection commits with synchronous=NORMAL: the log already holds every
 * hit durably, so a commit need not be synced — until a segment is to be
 * deleted: then the WAL is fdatasynced first, which makes every commit before
 * it durable (frames already checkpointed were synced into the database file
 * by the checkpoint itself, https://www.sqlite.org/pragma.html#pragma_synchronous).
 * Automatic checkpoints run here too, inside this thread's commits, so the
 * event loop never copies WAL pages.
 * Foreign keys are off on this connection: the ingester checks each tracker
 * itself, once per batch, inside the write transaction.
 */
import { appendFileSync, closeSync, existsSync, fdatasyncSync, openSync, renameSync } from 'node:fs';
import { basename } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from './sqlite-driver.ts';
import {
  comparePositions,
  corruptPath,
  listSegments,
  quarantinePath,
  readFrames,
  recycleSegment,
  segmentPath,
  type LogPosition,
  type LogRecord,
  type Quarantined,
} from './hitlog.ts';
import { createIngester, INGEST_BATCH, type FromWorker, type ToWorker, type WorkerData } from './sqlite-ingest.ts';
import { threadId } from './thread-priority.ts';

const { path, replay } = workerData as WorkerData;

const port = parentPort!;
const db = openDatabase(path, { timeout: 5000 });
db.pragma('synchronous = NORMAL');
db.pragma('foreign_keys = OFF');
const ingester = createIngester(db);
let position = ingester.position();

const post = (message: FromWorker) => port.postMessage(message);

const fds = new Map<number, number>();
function fdOf(segment: number): number | null {
  let fd = fds.get(segment);
  if (fd === undefined) {
    const file = segmentPath(path, segment);
    if (!existsSync(file)) return null;
    fd = openSync(file, 'r');
    fds.set(segment, fd);
  }
  return fd;
}

/** Makes every commit so far durable, so the log behind it may go. */
function syncDatabase(): void {
  for (const file of [`${path}-wal`, path]) {
    if (!existsSync(file)) continue;
    const fd = openSync(file, 'r+');
    try {
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

/** What was found wrong in a segment not yet retired: damage skipped, records quarantined. */
interface Damage {
  skippedBytes: number;
  stretches: number;
  /** Whole frames read after the first damaged stretch. */
  framesAfter: number;
  quarantined: number;
}
const damaged = new Map<number, Damage>();

/**
 * Applied segments are recycled (./hitlog.ts), once the database holding their
 * hits is durable — except a segment found damaged, which is kept aside as
 * `.corrupt` for a person to look at (never reused, so the damaged bytes stay
 * as they were found) and deleted by the retention job (deleteSetAsideBefore).
 * What was found is known to this thread only: if it dies between finding
 * the damage and retiring the segment, the segment is recycled as usual —
 * the damage was reported when it was found.
 */
function retireSegments(segments: number[]): void {
  if (segments.length === 0) return;
  syncDatabase();
  for (const segment of segments) {
    const fd = fds.get(segment);
    if (fd !== undefined) closeSync(fd);
    fds.delete(segment);
    const damage = damaged.get(segment);
    damaged.delete(segment);
    if (!damage) {
      recycleSegment(path, segment);
      continue;
    }
    const kept = corruptPath(path, segment);
    try {
      renameSync(segmentPath(path, segment), kept);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const what = [
      damage.stretches > 0 ? `skipped ${damage.skippedBytes} bytes of damaged frames in ${damage.stretches} place(s), ${damage.framesAfter} later frames read on` : null,
      damage.quarantined > 0 ? `${damage.quarantined} record(s) quarantined` : null,
    ];
    warn(`hit log segment ${segment} is damaged: ${what.filter(Boolean).join('; ')}; kept as ${basename(kept)} (deleted with the retention period)`);
  }
}

function warn(message: string): void {
  post({ type: 'error', message });
}

/**
 * Records that cannot be applied go to the day's quarantine file, synced
 * before the transaction that moves past them commits (so none is lost; one
 * may be written twice if that commit then fails and is retried).
 */
function quarantine(entries: Array<Quarantined & { segment: number | null }>): void {
  if (entries.length === 0) return;
  const now = Date.now();
  const file = quarantinePath(path, now);
  const lines = entries.map((e) => `${JSON.stringify({ quarantinedAt: now, ...e })}\n`).join('');
  appendFileSync(file, lines);
  const fd = openSync(file, 'r');
  try {
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const bySegment = new Map<number | null, number>();
  for (const e of entries) bySegment.set(e.segment, (bySegment.get(e.segment) ?? 0) + 1);
  for (const [segment, n] of bySegment) {
    warn(`quarantined ${n} records of hit log segment ${segment ?? '(unknown)'} that cannot be applied into ${basename(file)}: ${entries.find((e) => e.segment === segment)!.reason}`);
  }
}

/**
 * Reads from the stored position towards `upTo`, at most INGEST_BATCH records
 * (whole frames). Segments before upTo's are read to their sealed end (or, at
 * start-up, to their last whole frame); the one of upTo to its offset.
 */
function readUpTo(
  upTo: LogPosition,
  sealed: Map<number, number> | null,
): { records: LogRecord[]; reached: LogPosition; finished: number[]; quarantined: Array<Quarantined & { segment: number }> } {
  const records: LogRecord[] = [];
  const finished: number[] = [];
  const quarantined: Array<Quarantined & { segment: number }> = [];
  let at = { ...position };
  while (records.length < INGEST_BATCH && comparePositions(at, upTo) < 0) {
    const fd = fdOf(at.segment);
    const last = at.segment === upTo.segment;
    if (fd === null) {
      if (last) throw new Error(`hit log segment ${at.segment} is missing`);
      finished.push(at.segment);
      at = { segment: at.segment + 1, offset: 0 };
      continue;
    }
    const end = last ? upTo.offset : (sealed?.get(at.segment) ?? null);
    const read = readFrames(fd, at.segment, at.offset, end, INGEST_BATCH - records.length);
    for (const r of read.records) records.push(r);
    noteDamage(at.segment, read);
    for (const q of read.quarantined) quarantined.push({ segment: at.segment, ...q });
    if (!last && (read.done || read.torn)) {
      finished.push(at.segment);
      at = { segment: at.segment + 1, offset: 0 };
      continue;
    }
    at = { segment: at.segment, offset: read.offset };
    if (!read.done) break;
  }
  return { records, reached: at, finished, quarantined };
}

function noteDamage(segment: number, read: ReturnType<typeof readFrames>): void {
  let damage = damaged.get(segment);
  if (damage && damage.stretches > 0) damage.framesAfter += read.frames;
  if (read.skips.length === 0 && read.quarantined.length === 0) return;
  if (!damage) {
    damage = { skippedBytes: 0, stretches: 0, framesAfter: 0, quarantined: 0 };
    damaged.set(segment, damage);
  }
  if (read.skips.length > 0 && damage.stretches === 0) damage.framesAfter += read.frames - read.skips[0]!.framesBefore;
  for (const skip of read.skips) {
    damage.skippedBytes += skip.bytes;
    damage.stretches++;
    // Said at once: a segment being written is retired (and summed up) only up to an hour later.
    warn(`hit log segment ${segment} is damaged at byte ${skip.at}: skipped ${skip.bytes} bytes to the next whole frame; the hits in them are lost`);
  }
  damage.quarantined += read.quarantined.length;
}

/** Records the database refused (a constraint), set aside like the others; their segment is not known here. */
const refused = (entries: Quarantined[]) => quarantine(entries.map((e) => ({ segment: null, ...e })));

function ingest(upTo: LogPosition, sealed: Map<number, number> | null): string[] {
  const { records, reached, finished, quarantined } = readUpTo(upTo, sealed);
  quarantine(quarantined);
  const accounts = ingester.apply(records, reached, refused);
  position = reached;
  retireSegments(finished);
  return accounts;
}

/** Start-up: everything an earlier run logged goes into the database, then the log is cleared. */
function replayLog(): void {
  const segments = listSegments(path);
  const next = Math.max(position.segment, (segments.at(-1) ?? -1) + 1, 1);
  const end: LogPosition = { segment: next, offset: 0 };
  for (;;) {
    const { records, reached, finished, quarantined } = readUpTo(end, null);
    quarantine(quarantined);
    ingester.apply(records, reached, refused);
    position = reached;
    retireSegments(finished);
    if (comparePositions(position, end) >= 0) break;
  }
  // Segments below the stored position were applied by an earlier run.
  retireSegments(segments.filter((s) => s < next));
}

try {
  if (replay) replayLog();
  // Its priority is set from the event loop (./sqlite-ingest.ts), which knows when a read waits.
  post({ type: 'ready', position, tid: threadId() });
} catch (error) {
  post({ type: 'error', message: `ingest worker could not start: ${error instanceof Error ? error.message : String(error)}` });
  throw error;
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'close') {
    try {
      // Everything logged is applied: the segment being written goes too, and the next run starts a new one.
      if (comparePositions(position, message.upTo) >= 0) {
        const next = { segment: position.segment + 1, offset: 0 };
        ingester.apply([], next);
        position = next;
        retireSegments(listSegments(path).filter((s) => s < next.segment));
      }
    } finally {
      for (const fd of fds.values()) closeSync(fd);
      db.close();
      port.close();
    }
    return;
  }
  try {
    const accounts = ingest(message.upTo, new Map(message.sealed));
    post({ type: 'ingested', position, accounts });
  } catch (error) {
    post({ type: 'failed', message: `ingest failed: ${error instanceof Error ? error.message : String(error)}` });
    // Nothing was applied; the event loop asks again a second later (a full disk fails at once, every time).
    setTimeout(() => post({ type: 'retry' }), 1000);
  }
});
