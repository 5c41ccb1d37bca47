/**
 * The floor under any durable pixel server on this machine, for pixel.bench.ts
 * to measure beside OpenPing and bare node:http: the least a server can do
 * and still answer only after a hit is durable, and then also keep each hit as
 * an SQLite row the way OpenPing's default store does.
 *
 * It reads requests off raw sockets (a request is whatever ends in a blank
 * line; nothing is parsed, checked or classified), appends one record per
 * request — the bytes of an OpenPing hit record for wrk's request — to a
 * preallocated log, fdatasyncs it with group commit (up to two syncs in
 * flight, as backend/store/hitlog.ts), and answers with prebuilt bytes. With
 * FLOOR_SQLITE=1 a worker thread at OpenPing's ingest priority
 * (backend/store/thread-priority.ts) applies the answered hits to a real
 * OpenPing database through the real ingester (backend/store/sqlite-ingest.ts:
 * one `hits` row per hit, its indexes, the tracker's window), at most once a
 * second while requests keep coming and 20 ms after they stop, as
 * IngestWorker does — but from records built in memory, with no log to read
 * back and no JSON to parse.
 *
 * Run: FLOOR_DB=<path> [FLOOR_SQLITE=1] node --import tsx tests/bench/durable-floor.ts
 * Prints `port=N` once listening; FLOOR_DB names the database (with FLOOR_SQLITE)
 * and the folder of the log either way.
 */
import { closeSync, fdatasync, fsyncSync, openSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import Database from '../../backend/store/sqlite-driver.ts';
import { classify } from '../../backend/classify/index.ts';
import { encodeHitRecord, type HitRecord } from '../../backend/store/hitlog.ts';
import { createIngester, INGEST_BATCH } from '../../backend/store/sqlite-ingest.ts';
import { openSqliteStore } from '../../backend/store/sqlite.ts';
import { lowerPriority } from '../../backend/store/thread-priority.ts';
import type { HitSignals } from '../../backend/store/types.ts';

const ACCOUNT = 'FloorAccount000000000A';
const TRACKERS = Array.from({ length: 50 }, (_, i) => `FloorTracker${String(i).padStart(10, '0')}`);
const LOG_BYTES = 64 * 1024 * 1024;
const SYNCS_IN_FLIGHT = 2;

function signalsAt(at: number): HitSignals {
  return {
    at,
    method: 'GET',
    userAgent: null,
    headers: { accept: null, acceptLanguage: null, acceptEncoding: null, referer: null, via: null, from: null },
    network: { prefix: '127.0.0.0/24', family: 4, asn: null, org: null },
  };
}

/** How the real classifier labels wrk's request (no User-Agent, loopback network); once, as the floor classifies nothing. */
const WRK_HIT = classify(signalsAt(0), { state: 'sent', sentAt: null, selfViews: [], prior: [] });

/** A hit as OpenPing records wrk's request. */
function hit(n: number, at: number): HitRecord {
  const c = WRK_HIT;
  return [0, `${at.toString(36).padStart(9, '0')}${String(n).padStart(8, '0')}`, ACCOUNT, TRACKERS[n % TRACKERS.length]!, c.kind, c.via, c.reason, c.client, null, signalsAt(at)];
}

if (!isMainThread) {
  lowerPriority();
  const db = new Database((workerData as { path: string }).path, { timeout: 5000 });
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = OFF');
  const ingester = createIngester(db);
  let n = 0;
  parentPort!.on('message', (count: number) => {
    for (let done = 0; done < count; done += INGEST_BATCH) {
      const at = Date.now();
      const records = Array.from({ length: Math.min(INGEST_BATCH, count - done) }, () => hit(n++, at));
      ingester.apply(records, null);
    }
    parentPort!.postMessage(count);
  });
} else {
  const path = process.env.FLOOR_DB;
  if (!path) throw new Error('durable-floor: set FLOOR_DB to a database path in a scratch folder.');
  let worker: Worker | null = null;
  if (process.env.FLOOR_SQLITE === '1') {
    const store = await openSqliteStore(path);
    await store.createAccount({ id: ACCOUNT, tokenHash: 'floor', createdAt: Date.now() });
    for (const id of TRACKERS) await store.putTracker({ account: ACCOUNT, tracker: id, state: 'sent', sentAt: null, now: Date.now() });
    await store.close();
    // Worker threads do not inherit the --import hooks, so this file is loaded again through tsx's API.
    const self = JSON.stringify(import.meta.url);
    worker = new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${self}); })`, { eval: true, workerData: { path } });
  }

  const gif = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');
  const answer = Buffer.concat([
    Buffer.from(
      'HTTP/1.1 200 OK\r\nContent-Type: image/gif\r\nContent-Length: 43\r\nCache-Control: no-cache, no-store, must-revalidate, max-age=0\r\n' +
        `Pragma: no-cache\r\nExpires: 0\r\nDate: ${new Date().toUTCString()}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n`,
      'latin1',
    ),
    gif,
  ]);
  const r = hit(0, Date.now());
  const record = Buffer.from(`${encodeHitRecord(r[1], r[2], r[3], { kind: r[4], via: r[5], reason: r[6], client: r[7] }, r[8], r[9])},`, 'latin1');

  // Preallocated and synced, so a sync flushes data only, as the hit log's recycled segments do.
  const logPath = join(dirname(path), 'floor.log');
  const fd = openSync(logPath, 'w+');
  writeSync(fd, Buffer.alloc(LOG_BYTES));
  fsyncSync(fd);
  let offset = 0;
  let pending: Array<import('node:net').Socket> = [];
  let scheduled = false;
  let inFlight = 0;

  // Applying, as IngestWorker.kick: at most once a second while hits keep coming, 20 ms after the last.
  let unapplied = 0;
  let applying = false;
  let lastHit = 0;
  let waitingSince: number | null = null;
  worker?.on('message', () => {
    applying = false;
  });
  setInterval(() => {
    if (!worker || applying || unapplied === 0) return;
    const now = performance.now();
    if (now - lastHit < 20 && now - (waitingSince ?? now) < 1000) return;
    applying = true;
    waitingSince = null;
    worker.postMessage(unapplied);
    unapplied = 0;
  }, 5).unref();

  const flush = () => {
    scheduled = false;
    while (pending.length > 0 && inFlight < SYNCS_IN_FLIGHT) {
      const group = pending;
      pending = [];
      const bytes = Buffer.allocUnsafe(group.length * record.length);
      for (let i = 0; i < group.length; i++) record.copy(bytes, i * record.length);
      if (offset + bytes.length > LOG_BYTES) offset = 0;
      writeSync(fd, bytes, 0, bytes.length, offset);
      offset += bytes.length;
      inFlight++;
      fdatasync(fd, (error) => {
        if (error) throw error;
        inFlight--;
        unapplied += group.length;
        lastHit = performance.now();
        waitingSince ??= lastHit;
        for (const socket of group) if (!socket.destroyed) socket.write(answer);
        flush();
      });
    }
  };

  const server = createServer({ noDelay: true }, (socket) => {
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      for (let end = text.indexOf('\r\n\r\n'); end >= 0; end = text.indexOf('\r\n\r\n')) {
        text = text.slice(end + 4);
        pending.push(socket);
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      }
    });
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    console.log(`port=${typeof address === 'object' && address ? address.port : 0}`);
  });
  process.on('SIGTERM', () => {
    closeSync(fd);
    process.exit(0);
  });
}
