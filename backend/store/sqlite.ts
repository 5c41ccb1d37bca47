/**
 * The embedded default store: one SQLite file through better-sqlite3, WAL mode.
 *
 * Durability: the main connection uses WAL + synchronous=FULL, so a
 * transaction is on disk when commit returns (https://www.sqlite.org/pragma.html#pragma_synchronous:
 * "In WAL mode when synchronous is NORMAL … transactions committed … might roll
 * back following a power loss"). Pixel hits use a second connection that
 * commits without syncing and then fsyncs the WAL off the event loop before
 * answering (WalSync below); the server batches hits (group commit) so one
 * commit and one fsync serve many.
 *
 * The events feed position is the hits table's AUTOINCREMENT rowid (`seq`):
 * SQLite never reuses such a rowid (https://www.sqlite.org/autoinc.html), and
 * writers are serialised by the WAL write lock, so rowids commit in order and a
 * cursor never skips. A relabel
 * re-inserts the row under a new seq, which moves the hit to the feed's end.
 */
import { closeSync, fdatasync, fstatSync, mkdirSync, openSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { HitKind } from '../classify/types.ts';
import {
  DEFAULT_FLOOD_CAP_PER_HOUR,
  InvalidCursorError,
  type EventsPage,
  type FeedListener,
  type Hit,
  type NewHit,
  type Page,
  type RecordOutcome,
  type Relabel,
  type Store,
  type StoreOptions,
  type StoredHit,
  type TrackerRecord,
  type TrackerState,
} from './types.ts';

const HOUR = 3_600_000;

/** Each entry migrates from version i to i+1; PRAGMA user_version holds the version. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE trackers (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('armed', 'sent')),
    sent_at INTEGER,
    created_at INTEGER NOT NULL,
    dropped INTEGER NOT NULL DEFAULT 0,
    window_hour INTEGER NOT NULL DEFAULT 0,
    window_count INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;
  CREATE INDEX trackers_account ON trackers(account);

  CREATE TABLE self_views (
    tracker TEXT NOT NULL REFERENCES trackers(id) ON DELETE CASCADE,
    at INTEGER NOT NULL
  );
  CREATE INDEX self_views_tracker ON self_views(tracker, at);

  CREATE TABLE hits (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL,
    tracker TEXT NOT NULL REFERENCES trackers(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    via TEXT,
    reason TEXT NOT NULL,
    client TEXT,
    prefix TEXT NOT NULL,
    asn INTEGER,
    org TEXT,
    geo TEXT,
    signals TEXT NOT NULL
  );
  CREATE INDEX hits_account_seq ON hits(account, seq);
  CREATE INDEX hits_tracker_at ON hits(tracker, at);
  CREATE INDEX hits_at ON hits(at);

  CREATE TABLE rate_limits (
    key TEXT NOT NULL,
    window INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (key, window)
  ) WITHOUT ROWID;
  `,
];

interface HitRow {
  seq: number;
  id: string;
  account: string;
  tracker: string;
  at: number;
  kind: string;
  via: string | null;
  reason: string;
  client: string | null;
  prefix: string;
  asn: number | null;
  org: string | null;
  geo: string | null;
  signals: string;
}

interface TrackerRow {
  id: string;
  account: string;
  state: TrackerState;
  sent_at: number | null;
  created_at: number;
  dropped: number;
}

interface FloodWindow {
  account: string;
  window_hour: number;
  window_count: number;
  /** Dropped in this batch, added to the tracker's count at its end. */
  dropped: number;
}

/**
 * The pixel hands the same frozen geo object to every hit from one network
 * (see pixel.ts NetworkCache), so its JSON text is made once per network.
 */
const geoTexts = new WeakMap<object, string>();
function geoText(geo: NewHit['geo']): string | null {
  if (geo === null) return null;
  let text = geoTexts.get(geo);
  if (text === undefined) {
    text = JSON.stringify(geo);
    if (Object.isFrozen(geo)) geoTexts.set(geo, text);
  }
  return text;
}

const HIT_COLUMNS = 'seq, id, account, tracker, at, kind, via, reason, client, prefix, asn, org, geo, signals';
const CURSOR = /^(0|[1-9][0-9]{0,14})$/;

/**
 * geo and client repeat across hits (same network, same mail client); parsing
 * each once saves ~1 ms per 500-event feed page. The shared objects are frozen.
 */
const parsed = new Map<string, unknown>();
function parseShared<T>(text: string | null): T | null {
  if (text === null) return null;
  let value = parsed.get(text);
  if (value === undefined) {
    if (parsed.size >= 4096) parsed.clear();
    value = Object.freeze(JSON.parse(text));
    parsed.set(text, value);
  }
  return value as T;
}

function toHit(row: HitRow): Hit {
  return {
    id: row.id,
    tracker: row.tracker,
    at: row.at,
    kind: row.kind as HitKind,
    via: row.via,
    reason: row.reason,
    network: { prefix: row.prefix, asn: row.asn, org: row.org },
    geo: parseShared<Hit['geo']>(row.geo),
    client: parseShared<Hit['client']>(row.client),
  };
}

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(`The database ${db.name} has schema version ${version}, newer than this server (${MIGRATIONS.length}).`);
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}

/**
 * Creates the database's folder one level at a time. Not mkdirSync's
 * `recursive`: on a path like /proc/x (where mkdir answers ENOENT although the
 * parent exists) Node 20's recursive mkdir loops forever and start-up hangs.
 */
function ensureFolder(folder: string): void {
  const missing: string[] = [];
  let current = resolve(folder);
  for (;;) {
    let exists = true;
    try {
      if (!statSync(current).isDirectory()) {
        throw new Error(`Cannot use ${current} as the database folder: it is not a folder; set OPENPING_DB to a file path in a writable folder.`);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      exists = false;
    }
    if (exists) break;
    missing.unshift(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const dir of missing) {
    try {
      mkdirSync(dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      throw new Error(`Cannot create the database folder ${dir} (${code ?? 'error'}); set OPENPING_DB to a file path in a writable folder.`);
    }
  }
}

export async function openSqliteStore(path: string, options: StoreOptions = {}): Promise<Store> {
  const floodCap = options.floodCapPerHour ?? DEFAULT_FLOOD_CAP_PER_HOUR;
  if (path !== ':memory:') ensureFolder(dirname(path));
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: 5000 });
  } catch (error) {
    throw new Error(`Cannot open the SQLite database ${path}: ${error instanceof Error ? error.message : String(error)}.`);
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  migrate(db);
  // Pixel hits get their own connection: synchronous=NORMAL, then an explicit
  // fsync of the WAL off the event loop before anyone is answered (see syncWal).
  const inMemory = path === ':memory:';
  const hitsDb = inMemory ? db : new Database(path, { timeout: 5000 });
  if (!inMemory) {
    hitsDb.pragma('synchronous = NORMAL');
    hitsDb.pragma('foreign_keys = ON');
  }
  // Checkpoints move off the event loop (see Checkpointer) unless the database is in memory.
  const checkpointer = inMemory ? null : new Checkpointer(path, [db, hitsDb]);

  // Named statements (STYLE §7), prepared once.
  const sql = {
    insertAccount: db.prepare('INSERT INTO accounts (id, token_hash, created_at) VALUES (?, ?, ?)'),
    accountByHash: db.prepare<[string], { id: string }>('SELECT id FROM accounts WHERE token_hash = ?'),
    deleteAccount: db.prepare('DELETE FROM accounts WHERE id = ?'),
    trackerById: db.prepare<[string], TrackerRow>(
      'SELECT id, account, state, sent_at, created_at, dropped FROM trackers WHERE id = ?',
    ),
    insertTracker: db.prepare('INSERT INTO trackers (id, account, state, sent_at, created_at) VALUES (?, ?, ?, ?, ?)'),
    sendTracker: db.prepare("UPDATE trackers SET state = 'sent', sent_at = ? WHERE id = ? AND state = 'armed'"),
    deleteTracker: db.prepare('DELETE FROM trackers WHERE id = ? AND account = ?'),
    selfViews: db.prepare<[string], { at: number }>('SELECT at FROM self_views WHERE tracker = ? ORDER BY at'),
    insertSelfView: db.prepare('INSERT INTO self_views (tracker, at) VALUES (?, ?)'),
    priorHits: db.prepare<[string, number], { at: number; prefix: string; user_agent: string | null; kind: string }>(
      `SELECT at, prefix, json_extract(signals, '$.userAgent') AS user_agent, kind
         FROM hits WHERE tracker = ? ORDER BY at DESC, seq DESC LIMIT ?`,
    ),
    floodWindow: hitsDb.prepare<[string], { account: string; window_hour: number; window_count: number }>(
      'SELECT account, window_hour, window_count FROM trackers WHERE id = ?',
    ),
    countWindow: hitsDb.prepare('UPDATE trackers SET window_hour = ?, window_count = ?, dropped = dropped + ? WHERE id = ?'),
    insertHit: hitsDb.prepare(
      `INSERT INTO hits (id, account, tracker, at, kind, via, reason, client, prefix, asn, org, geo, signals)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    trackerHits: db.prepare<[string], HitRow>(`SELECT ${HIT_COLUMNS} FROM hits WHERE tracker = ? ORDER BY at, id`),
    events: db.prepare<[string, number, number], HitRow>(
      `SELECT ${HIT_COLUMNS} FROM hits WHERE account = ? AND seq > ? ORDER BY seq LIMIT ?`,
    ),
    /** The highest feed position ever handed out (AUTOINCREMENT never reuses one). */
    feedHead: db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'hits'"),
    hitById: db.prepare<[string, string], HitRow>(`SELECT ${HIT_COLUMNS} FROM hits WHERE id = ? AND account = ?`),
    deleteHitById: db.prepare('DELETE FROM hits WHERE id = ?'),
    reinsertHit: db.prepare(
      `INSERT INTO hits (id, account, tracker, at, kind, via, reason, client, prefix, asn, org, geo, signals)
       VALUES (@id, @account, @tracker, @at, @kind, @via, @reason, @client, @prefix, @asn, @org, @geo, @signals)`,
    ),
    listTrackers: db.prepare<[string, number], TrackerRow>(
      'SELECT id, account, state, sent_at, created_at, dropped FROM trackers WHERE id > ? ORDER BY id LIMIT ?',
    ),
    // Batches keep each write transaction short, so pixels keep flowing while old hits go.
    deleteOldHits: db.prepare('DELETE FROM hits WHERE seq IN (SELECT seq FROM hits WHERE at < ? LIMIT 5000)'),
    deleteOldRates: db.prepare('DELETE FROM rate_limits WHERE ends_at < ?'),
    countRate: db.prepare<[string, number, number], { count: number }>(
      `INSERT INTO rate_limits (key, window, ends_at, count) VALUES (?, ?, ?, 1)
       ON CONFLICT (key, window) DO UPDATE SET count = count + 1 RETURNING count`,
    ),
    ping: db.prepare('SELECT 1'),
  };

  const listeners = new Set<FeedListener>();
  let closed = false;
  const wal = new WalSync(inMemory ? null : `${path}-wal`);

  const notify = (accounts: Set<string>) => {
    if (accounts.size === 0) return;
    for (const listener of listeners) {
      try {
        listener(accounts);
      } catch {
        // A listener's failure must not undo or fail a committed write.
      }
    }
  };
  const guard = () => {
    if (closed) throw new Error('The store is closed.');
  };
  const record = (row: TrackerRow, selfViews: number[]): TrackerRecord => ({
    account: row.account,
    tracker: row.id,
    state: row.state,
    sentAt: row.sent_at,
    selfViews,
    dropped: row.dropped,
    createdAt: row.created_at,
  });
  const owned = (account: string, tracker: string): TrackerRow | null => {
    const row = sql.trackerById.get(tracker);
    return row && row.account === account ? row : null;
  };

  const putTracker = db.transaction(
    (input: { account: string; tracker: string; state: TrackerState; sentAt: number | null; now: number }) => {
      const existing = sql.trackerById.get(input.tracker);
      if (existing && existing.account !== input.account) return null;
      const sentAt = input.state === 'sent' ? (input.sentAt ?? input.now) : null;
      if (!existing) sql.insertTracker.run(input.tracker, input.account, input.state, sentAt, input.now);
      else if (input.state === 'sent') sql.sendTracker.run(sentAt, input.tracker);
      const row = sql.trackerById.get(input.tracker)!;
      return record(row, sql.selfViews.all(input.tracker).map((v) => v.at));
    },
  );

  const recordBatch = hitsDb.transaction((hits: readonly NewHit[]): RecordOutcome[] => {
    const outcomes: RecordOutcome[] = [];
    // Each tracker's flood window is read once per batch, kept current here and
    // written back once at the end (one UPDATE per tracker, not one per hit).
    const windows = new Map<string, FloodWindow | null>();
    for (const hit of hits) {
      let window = windows.get(hit.tracker);
      if (window === undefined) {
        const row = sql.floodWindow.get(hit.tracker);
        window = row ? { ...row, dropped: 0 } : null;
        windows.set(hit.tracker, window);
      }
      if (!window || window.account !== hit.account) {
        outcomes.push('unknown');
        continue;
      }
      const hour = Math.floor(hit.signals.at / HOUR);
      if (window.window_hour !== hour) {
        window.window_hour = hour;
        window.window_count = 0;
      }
      if (window.window_count >= floodCap) {
        window.dropped++;
        outcomes.push('dropped');
        continue;
      }
      window.window_count++;
      const c = hit.classification;
      const n = hit.signals.network;
      sql.insertHit.run(
        hit.id,
        hit.account,
        hit.tracker,
        hit.signals.at,
        c.kind,
        c.via,
        c.reason,
        c.client === null ? null : JSON.stringify(c.client),
        n.prefix,
        n.asn,
        n.org,
        geoText(hit.geo),
        JSON.stringify(hit.signals),
      );
      outcomes.push('stored');
    }
    for (const [tracker, window] of windows) {
      if (window) sql.countWindow.run(window.window_hour, window.window_count, window.dropped, tracker);
    }
    return outcomes;
  });

  const relabelBatch = db.transaction((account: string, labels: readonly Relabel[]): number => {
    let changed = 0;
    for (const { id, classification: c } of labels) {
      const row = sql.hitById.get(id, account);
      if (!row) continue;
      sql.deleteHitById.run(id);
      sql.reinsertHit.run({
        ...row,
        kind: c.kind,
        via: c.via,
        reason: c.reason,
        client: c.client === null ? null : JSON.stringify(c.client),
      });
      changed++;
    }
    return changed;
  });

  const store: Store = {
    kind: 'sqlite',

    async createAccount({ id, tokenHash, createdAt }) {
      guard();
      sql.insertAccount.run(id, tokenHash, createdAt);
    },
    async accountByTokenHash(tokenHash) {
      guard();
      return sql.accountByHash.get(tokenHash)?.id ?? null;
    },
    async deleteAccount(account) {
      guard();
      return sql.deleteAccount.run(account).changes > 0;
    },

    async putTracker(input) {
      guard();
      return putTracker.immediate(input);
    },
    async getTracker(account, tracker) {
      guard();
      const row = owned(account, tracker);
      return row ? record(row, sql.selfViews.all(tracker).map((v) => v.at)) : null;
    },
    async deleteTracker(account, tracker) {
      guard();
      return sql.deleteTracker.run(tracker, account).changes > 0;
    },
    async addSelfView(account, tracker, at) {
      guard();
      if (!owned(account, tracker)) return false;
      sql.insertSelfView.run(tracker, at);
      return true;
    },
    async trackerContext(account, tracker, priorLimit) {
      guard();
      const row = owned(account, tracker);
      if (!row) return null;
      const prior = sql.priorHits
        .all(tracker, priorLimit)
        .reverse()
        .map((p) => ({ at: p.at, prefix: p.prefix, userAgent: p.user_agent, kind: p.kind as HitKind }));
      return { state: row.state, sentAt: row.sent_at, selfViews: sql.selfViews.all(tracker).map((v) => v.at), prior };
    },

    async recordHits(hits) {
      guard();
      if (hits.length === 0) return [];
      if (checkpointer?.gate) await checkpointer.gate;
      guard();
      const outcomes = recordBatch.immediate(hits);
      checkpointer?.committed();
      await wal.sync();
      const accounts = new Set<string>();
      outcomes.forEach((o, i) => o === 'stored' && accounts.add(hits[i]!.account));
      notify(accounts);
      return outcomes;
    },
    async trackerHits(account, tracker) {
      guard();
      if (!owned(account, tracker)) return [];
      return sql.trackerHits.all(tracker).map((row): StoredHit => ({ hit: toHit(row), account: row.account, signals: JSON.parse(row.signals) }));
    },

    async events(account, after, limit): Promise<EventsPage> {
      guard();
      if (after !== null && !CURSOR.test(after)) throw new InvalidCursorError();
      const from = after === null ? 0 : Number(after);
      const rows = sql.events.all(account, from, limit);
      // A position this database never reached (a restored or replaced file) would
      // silently skip every hit until the feed caught up: refuse it, as PostgreSQL does.
      if (rows.length === 0 && from > (sql.feedHead.get()?.seq ?? 0)) throw new InvalidCursorError();
      const last = rows.at(-1);
      return { events: rows.map(toHit), cursor: last ? String(last.seq) : String(from) };
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async listTrackers(after, limit): Promise<Page<TrackerRecord>> {
      guard();
      const rows = sql.listTrackers.all(after ?? '', limit);
      const items = rows.map((row) => record(row, sql.selfViews.all(row.id).map((v) => v.at)));
      return { items, next: rows.length === limit ? rows.at(-1)!.id : null };
    },
    async relabel(account, labels) {
      guard();
      const changed = relabelBatch.immediate(account, labels);
      if (changed > 0) notify(new Set([account]));
      return changed;
    },

    async deleteHitsBefore(cutoff) {
      guard();
      let deleted = 0;
      for (;;) {
        const { changes } = sql.deleteOldHits.run(cutoff);
        deleted += changes;
        if (changes === 0) break;
        // Let queued pixel commits in between the deletion batches.
        await new Promise((resolve) => setImmediate(resolve));
        guard();
      }
      sql.deleteOldRates.run(cutoff);
      return deleted;
    },
    async countRate(key, windowMs, now) {
      guard();
      const window = Math.floor(now / windowMs);
      return sql.countRate.get(key, window, (window + 1) * windowMs)!.count;
    },
    async ping() {
      guard();
      sql.ping.get();
    },
    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      await checkpointer?.close();
      await wal.close();
      if (hitsDb !== db) hitsDb.close();
      db.close();
    },
  };
  return store;
}

/**
 * fdatasync of the WAL file on libuv's thread pool (fdatasync: the data and
 * whatever metadata is needed to read it back, e.g. a grown size, but not
 * the mtime, which would cost a journal commit per call — man 2 fdatasync).
 * The hits connection commits
 * with synchronous=NORMAL (frames written, not synced) and recordHits resolves
 * only after an fsync that started after its commit has finished: the
 * guarantee of synchronous=FULL — the WAL synced after the commit's frames were
 * written (https://www.sqlite.org/wal.html,
 * https://www.sqlite.org/pragma.html#pragma_synchronous) — but the event loop
 * keeps serving, and the next batches commit while the disk syncs.
 * (Measured 2026-11 on the busy 2-core box, pixel route, 3 A/B runs: ~24k
 * hits/s this way vs ~19k with a writer thread, whose message hand-offs cost
 * more than the commit itself.)
 */
class WalSync {
  private fd: number | null = null;
  private running: Promise<void> | null = null;
  private next: { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } | null = null;

  constructor(private walPath: string | null) {}

  private descriptor(): number {
    // Re-open if the WAL file was replaced (unlinked): syncing a dead inode would prove nothing.
    if (this.fd !== null && fstatSync(this.fd).nlink === 0) {
      closeSync(this.fd);
      this.fd = null;
    }
    this.fd ??= openSync(this.walPath!, 'r+');
    return this.fd;
  }

  /**
   * Resolves after an fsync that began after this call. One fsync at a time:
   * callers arriving while one runs share the next one, which starts as soon
   * as the running one ends and covers every commit made before it began
   * (fsync flushes all writes completed before the call). Under load one
   * fsync thus serves several commits instead of each commit queueing its own.
   */
  sync(): Promise<void> {
    if (this.walPath === null) return Promise.resolve();
    if (this.running) {
      if (!this.next) {
        let resolve!: () => void;
        let reject!: (error: unknown) => void;
        const promise = new Promise<void>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        this.next = { promise, resolve, reject };
      }
      return this.next.promise;
    }
    return this.start();
  }

  private start(): Promise<void> {
    const running = new Promise<void>((resolve, reject) => {
      const fd = this.descriptor();
      fdatasync(fd, (error) => (error ? reject(new Error(`WAL sync failed: ${error.message}`)) : resolve()));
    });
    this.running = running;
    const settled = () => {
      this.running = null;
      const waiting = this.next;
      this.next = null;
      if (waiting) this.start().then(waiting.resolve, waiting.reject);
    };
    running.then(settled, settled);
    return running;
  }

  async close(): Promise<void> {
    while (this.running || this.next) await Promise.allSettled([this.running, this.next?.promise]);
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * WAL checkpoints on a worker thread. SQLite's automatic checkpoint runs
 * inside the commit that crosses the threshold (https://www.sqlite.org/wal.html#automatic_checkpoint),
 * i.e. on the event loop: copying ~1000 pages into the database file and
 * syncing it stalled every pixel for milliseconds every ~100 commits and cost
 * ~3.5 µs of the event loop per hit (measured 2026-11 with 25-hit batches:
 * commit 48 µs without it vs 120 µs with it).
 *
 * Both connections of the event loop have automatic checkpoints off. Every
 * CHECKPOINT_EVERY commits, a worker with its own connection runs a PASSIVE
 * checkpoint (never blocks writers, https://www.sqlite.org/c3ref/wal_checkpoint_v2.html)
 * while commits go on. Frames committed meanwhile would keep the WAL from
 * ever restarting at its beginning (it would grow without bound: a writer
 * rewinds the WAL only when the checkpoint has copied every frame,
 * https://www.sqlite.org/wal.html#avoiding_excessively_large_wal_files), so
 * a second, short checkpoint of just those frames follows with new commits
 * held back (`gate`; the event loop keeps serving meanwhile). The worker's
 * connection is synchronous=NORMAL, so each checkpoint syncs the WAL before
 * copying and the database after, as the automatic one did. If the worker
 * dies, automatic checkpoints come back on.
 */
const CHECKPOINT_EVERY = 32;
const AUTO_CHECKPOINT_FRAMES = 1000;
/** A worker that does not answer within these is given up (automatic checkpoints again): pixels must never wait on it for long. */
const CATCH_UP_TIMEOUT_MS = 1000;
const BULK_TIMEOUT_MS = 60_000;

const CHECKPOINT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { timeout: 5000 });
db.pragma('synchronous = NORMAL');
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const result = db.pragma('wal_checkpoint(PASSIVE)')[0];
    parentPort.postMessage({ phase: message, log: result.log, checkpointed: result.checkpointed });
  } catch (error) {
    parentPort.postMessage({ phase: message, error: String((error && error.message) || error) });
  }
});
`;

class Checkpointer {
  private worker: Worker | null;
  private running = false;
  private commits = 0;
  private exited: Promise<void>;
  private openGate: (() => void) | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  /** Set while the short catch-up checkpoint runs: recordHits waits for it before committing. */
  gate: Promise<void> | null = null;

  constructor(
    path: string,
    private connections: Database.Database[],
  ) {
    for (const c of connections) c.pragma('wal_autocheckpoint = 0');
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(CHECKPOINT_WORKER, { eval: true, workerData: { path, module } });
    worker.unref();
    this.worker = worker;
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (result: { phase: 'bulk' | 'catch-up' }) => {
      this.running = false;
      if (this.watchdog) clearTimeout(this.watchdog);
      if (result.phase === 'bulk' && this.worker) {
        this.gate = new Promise((resolve) => (this.openGate = resolve));
        this.post('catch-up', CATCH_UP_TIMEOUT_MS);
      } else {
        this.release();
      }
    });
    worker.once('error', () => this.fallBack());
    worker.once('exit', () => this.fallBack());
  }

  /** After each commit of the hits connection. */
  committed(): void {
    if (++this.commits < CHECKPOINT_EVERY || this.running || !this.worker) return;
    this.commits = 0;
    this.post('bulk', BULK_TIMEOUT_MS);
  }

  private post(phase: 'bulk' | 'catch-up', timeoutMs: number): void {
    this.running = true;
    this.watchdog = setTimeout(() => this.fallBack(), timeoutMs);
    this.watchdog.unref();
    this.worker!.postMessage(phase);
  }

  private release(): void {
    this.gate = null;
    this.openGate?.();
    this.openGate = null;
  }

  private fallBack(): void {
    this.release();
    if (this.watchdog) clearTimeout(this.watchdog);
    if (!this.worker) return;
    void this.worker.terminate();
    this.worker = null;
    this.running = false;
    for (const c of this.connections) {
      if (c.open) c.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_FRAMES}`);
    }
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.release();
    if (this.watchdog) clearTimeout(this.watchdog);
    if (!worker) return;
    this.worker = null;
    // Unref'd so an idle store never holds the process open; while closing it must
    // (a top-level `await store.close()` would otherwise end unsettled, exit code 13).
    worker.ref();
    worker.postMessage('close');
    await this.exited;
  }
}
