// Worker thread of the SQLite store (./sqlite.ts): it owns the connection that
// commits pixel hits, so the fsync of each group commit (~0.3–1 ms, a third of
// the main thread's time in a 2026-11 profile) runs beside the HTTP work
// instead of blocking it. Plain JavaScript so it starts the same under node,
// tsx and vitest (a .ts worker would need a loader in every one of them).
//
// Durability: this connection commits with synchronous=NORMAL (the WAL frames
// are written, not yet synced), then fsyncs the WAL file itself and answers a
// batch only after an fsync that started after its commit has finished. That
// is the guarantee of synchronous=FULL — the WAL fsynced after the commit's
// frames were written (https://www.sqlite.org/wal.html,
// https://www.sqlite.org/pragma.html#pragma_synchronous) — with two gains:
// batches that queued up while the thread was busy share one transaction, and
// the fsync runs on libuv's thread pool, so the next batches commit while the
// disk syncs instead of waiting for it (A/B on the busy 2-core box, 2026-11:
// ~10.5k vs ~8k hits/s, medians of 4 runs each).
//
// Protocol: { id, rows, floodCap } → { id, outcomes } | { id, error }.
// rows: [hitId, account, tracker, at, kind, via, reason, client, prefix, asn, org, geo, signals]
// outcomes: a string, one char per row: s(tored) | d(ropped) | u(nknown).
import { closeSync, fstatSync, fsync, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const HOUR = 3_600_000;
const db = new Database(workerData.path, { timeout: 5000 });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('foreign_keys = ON');

const floodWindow = db.prepare('SELECT account, window_hour, window_count FROM trackers WHERE id = ?');
const countStored = db.prepare('UPDATE trackers SET window_hour = ?, window_count = ? WHERE id = ?');
const countDropped = db.prepare('UPDATE trackers SET dropped = dropped + 1 WHERE id = ?');
const insertHit = db.prepare(
  `INSERT INTO hits (id, account, tracker, at, kind, via, reason, client, prefix, asn, org, geo, signals)
   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
);

function recordRows(rows, floodCap) {
  let outcomes = '';
  // Trackers seen in this batch: their window, kept current without re-reading.
  const windows = new Map();
  for (const row of rows) {
    const tracker = row[2];
    let window = windows.get(tracker);
    if (window === undefined) {
      window = floodWindow.get(tracker) ?? null;
      windows.set(tracker, window);
    }
    if (window === null || window.account !== row[1]) {
      outcomes += 'u';
      continue;
    }
    const hour = Math.floor(row[3] / HOUR);
    if (window.window_hour !== hour) {
      window.window_hour = hour;
      window.window_count = 0;
    }
    if (window.window_count >= floodCap) {
      countDropped.run(tracker);
      outcomes += 'd';
      continue;
    }
    window.window_count++;
    countStored.run(hour, window.window_count, tracker);
    insertHit.run(row);
    outcomes += 's';
  }
  return outcomes;
}

/** Every batch that arrived since the last turn, in one transaction: one commit, one fsync. */
const recordAll = db.transaction((messages) => messages.map((m) => recordRows(m.rows, m.floodCap)));

const walPath = `${workerData.path}-wal`;
let walFd = null;
/** Batches received, not yet committed. */
let received = [];
let scheduled = false;
let closing = false;

function walDescriptor() {
  // Re-open if the WAL file was replaced (unlinked): syncing a dead inode would prove nothing.
  if (walFd !== null && fstatSync(walFd).nlink === 0) {
    closeSync(walFd);
    walFd = null;
  }
  walFd ??= openSync(walPath, 'r+');
  return walFd;
}

let syncing = 0;

function finishIfClosing() {
  if (!closing || syncing > 0 || received.length > 0 || scheduled) return;
  if (walFd !== null) closeSync(walFd);
  db.close();
  parentPort.close();
}

function commitSoon() {
  if (scheduled) return;
  scheduled = true;
  setImmediate(() => {
    scheduled = false;
    const messages = received;
    received = [];
    if (messages.length > 0) {
      let outcomes = null;
      let fd = null;
      try {
        outcomes = recordAll.immediate(messages);
        fd = walDescriptor();
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        for (const m of messages) parentPort.postMessage({ id: m.id, error: text });
      }
      if (outcomes !== null) {
        syncing++;
        fsync(fd, (error) => {
          syncing--;
          messages.forEach((m, i) =>
            parentPort.postMessage(error ? { id: m.id, error: `WAL sync failed: ${error.message}` } : { id: m.id, outcomes: outcomes[i] }),
          );
          finishIfClosing();
        });
      }
    }
    finishIfClosing();
  });
}

parentPort.on('message', (message) => {
  if (message === 'close') closing = true;
  else received.push(message);
  commitSoon();
});
