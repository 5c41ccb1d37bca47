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
import { closeSync, existsSync, fdatasyncSync, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import Database from './sqlite-driver.ts';
import { comparePositions, listSegments, readFrames, recycleSegment, segmentPath, type LogPosition, type LogRecord } from './hitlog.ts';
import { createIngester, INGEST_BATCH, type FromWorker, type ToWorker, type WorkerData } from './sqlite-ingest.ts';
import { lowerPriority } from './thread-priority.ts';

const { path, replay } = workerData as WorkerData;

lowerPriority();
const port = parentPort!;
const db = new Database(path, { timeout: 5000 });
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

/** Applied segments are recycled (./hitlog.ts), once the database holding their hits is durable. */
function retireSegments(segments: number[]): void {
  if (segments.length === 0) return;
  syncDatabase();
  for (const segment of segments) {
    const fd = fds.get(segment);
    if (fd !== undefined) closeSync(fd);
    fds.delete(segment);
    recycleSegment(path, segment);
  }
}

/**
 * Reads from the stored position towards `upTo`, at most INGEST_BATCH records
 * (whole frames). Segments before upTo's are read to their sealed end (or, at
 * start-up, to their last whole frame); the one of upTo to its offset.
 */
function readUpTo(upTo: LogPosition, sealed: Map<number, number> | null): { records: LogRecord[]; reached: LogPosition; finished: number[] } {
  const records: LogRecord[] = [];
  const finished: number[] = [];
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
    if (last && read.torn) throw new Error(`hit log segment ${at.segment} is damaged at byte ${read.offset}`);
    if (!last && (read.done || read.torn)) {
      finished.push(at.segment);
      at = { segment: at.segment + 1, offset: 0 };
      continue;
    }
    at = { segment: at.segment, offset: read.offset };
    if (!read.done) break;
  }
  return { records, reached: at, finished };
}

function ingest(upTo: LogPosition, sealed: Map<number, number> | null): string[] {
  const { records, reached, finished } = readUpTo(upTo, sealed);
  const accounts = ingester.apply(records, reached);
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
    const { records, reached, finished } = readUpTo(end, null);
    ingester.apply(records, reached);
    position = reached;
    retireSegments(finished);
    if (comparePositions(position, end) >= 0) break;
  }
  // Segments below the stored position were applied by an earlier run.
  retireSegments(segments.filter((s) => s < next));
}

try {
  if (replay) replayLog();
  post({ type: 'ready', position });
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
    post({ type: 'error', message: `ingest failed: ${error instanceof Error ? error.message : String(error)}` });
    // Nothing was applied; the event loop asks again after its next frame or restart.
    setTimeout(() => post({ type: 'ingested', position, accounts: [] }), 1000);
  }
});
