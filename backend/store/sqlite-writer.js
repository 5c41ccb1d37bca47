// Worker thread of the SQLite store (./sqlite.ts): it owns the connection that
// commits pixel hits, so the fsync of each group commit (~0.3–1 ms, a third of
// the main thread's time in a 2026-11 profile) runs beside the HTTP work
// instead of blocking it. Plain JavaScript so it starts the same under node,
// tsx and vitest (a .ts worker would need a loader in every one of them).
//
// Protocol: { id, rows, floodCap } → { id, outcomes } | { id, error }.
// rows: [hitId, account, tracker, at, kind, via, reason, client, prefix, asn, org, geo, signals]
// outcomes: a string, one char per row: s(tored) | d(ropped) | u(nknown).
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const HOUR = 3_600_000;
const db = new Database(workerData.path, { timeout: 5000 });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('foreign_keys = ON');

const floodWindow = db.prepare('SELECT account, window_hour, window_count FROM trackers WHERE id = ?');
const countStored = db.prepare('UPDATE trackers SET window_hour = ?, window_count = ? WHERE id = ?');
const countDropped = db.prepare('UPDATE trackers SET dropped = dropped + 1 WHERE id = ?');
const insertHit = db.prepare(
  `INSERT INTO hits (id, account, tracker, at, kind, via, reason, client, prefix, asn, org, geo, signals)
   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
);

const record = db.transaction((rows, floodCap) => {
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
});

parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    parentPort.postMessage({ id: message.id, outcomes: record.immediate(message.rows, message.floodCap) });
  } catch (error) {
    parentPort.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) });
  }
});
