/**
 * The embedded default store: one SQLite file through better-sqlite3, WAL mode.
 *
 * Durability: the connection of the event loop uses WAL + synchronous=FULL, so
 * an API write is on disk when its commit returns (https://www.sqlite.org/pragma.html#pragma_synchronous:
 * "In WAL mode when synchronous is NORMAL … transactions committed … might roll
 * back following a power loss"). Pixel hits take another road: recordHits
 * decides each hit's outcome in memory, appends the batch to the hit log
 * (./hitlog.ts: one write and one fdatasync per group of batches, off the
 * event loop) and resolves once that is durable; a worker thread
 * (./sqlite-ingest.ts) then applies the log to the database. Reads that must
 * see recorded hits (feed, tracker hits, classifier context, deletions) first
 * wait until everything logged before them is applied — usually a few
 * milliseconds; feed subscribers are told once hits are applied.
 *
 * The events feed position is the hits table's AUTOINCREMENT rowid (`seq`):
 * SQLite never reuses such a rowid (https://www.sqlite.org/autoinc.html), and
 * writers are serialised by the WAL write lock, so rowids commit in order and a
 * cursor never skips. A relabel
 * re-inserts the row under a new seq, which moves the hit to the feed's end.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { openDatabase } from './sqlite-driver.ts';
import type BetterSqlite3 from 'better-sqlite3';
import { codedReason } from '../../contract/reasons.ts';
import type { HitKind, HitSignals } from '../classify/types.ts';
import { scrubSignals } from '../sanitize.ts';
import {
  DEFAULT_ACCOUNT_HITS_PER_HOUR,
  DEFAULT_FLOOD_CAP_PER_HOUR,
  DEFAULT_SELF_VIEWS_PER_MINUTE,
  DEFAULT_TRACKERS_PER_DAY,
  decodeHitCursor,
  encodeHitCursor,
  InvalidCursorError,
  LimitError,
  MAX_SELF_VIEWS_PER_TRACKER,
  SELF_VIEW_MERGE_MS,
  selfViewPoints,
  StoreBehindError,
  StoreUnavailableError,
  type EventsPage,
  type FeedListener,
  type Hit,
  type NewHit,
  type Page,
  type RecordOutcome,
  type Relabel,
  type SelfViewOutcome,
  type SentBy,
  type Store,
  type StoreOptions,
  type StoredHit,
  type TrackerRecord,
  type TrackerState,
} from './types.ts';
import { comparePositions, deleteSetAsideBefore, encodeHitRecord, HitLog, HitLogLock, type HitRecord, type LogPosition, type LogRecord } from './hitlog.ts';
import { createIngester, IngestWorker } from './sqlite-ingest.ts';
import { isStorageError, StoreFailures, withFailures } from './failing.ts';
import { KEY_VERSION_MIGRATION_SQLITE, KEYS_MIGRATION_SQLITE, sqliteSync, SYNC_MIGRATION_SQLITE } from './sync-sqlite.ts';
import { NOTIFY_MIGRATION_SQLITE, sqliteNotify } from './notify-sqlite.ts';
import { deviceIdOf } from './sync-types.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MINUTE = 60_000;

/** Each entry migrates from version i to i+1; PRAGMA user_version holds the version. */
const MIGRATIONS: ReadonlyArray<string | ((db: BetterSqlite3.Database) => void)> = [
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
  // The hit log's position applied so far (./hitlog.ts): moved in the same transaction as the hits.
  `
  CREATE TABLE hit_log (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    segment INTEGER NOT NULL,
    byte_offset INTEGER NOT NULL
  );
  INSERT INTO hit_log (id, segment, byte_offset) VALUES (1, 0, 0);
  `,
  // A self-view merges the views within a minute of it (SPEC §3): it spans at .. last_at (null: at).
  // The account's new trackers of its latest UTC day (floor(ms / 86,400,000)), for its daily cap.
  `
  ALTER TABLE self_views ADD COLUMN last_at INTEGER;
  ALTER TABLE accounts ADD COLUMN trackers_day INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE accounts ADD COLUMN trackers_today INTEGER NOT NULL DEFAULT 0;
  `,
  // Headers of hits stored before every address notation was masked are masked now (issue 13, finding 8).
  scrubStoredSignals,
  // One account on several browsers (issue 21): device tokens, pairings, sealed blobs.
  SYNC_MIGRATION_SQLITE,
  // A pixel pasted into another mail app (backend/anysend.ts): whether the first outside fetch sends the
  // tracker, how it became sent, and the networks the account's API calls come from.
  anySendSchema,
  // Key rotation (issue 21): devices' public keys and the rotated keys wrapped for them.
  KEYS_MIGRATION_SQLITE,
  // Which browser notifies (issue 21): the account's choice and the claims of "whichever is open".
  NOTIFY_MIGRATION_SQLITE,
  // Key rotation (issue 21): the account's key version and a rotation owed; each blob's key version.
  KEY_VERSION_MIGRATION_SQLITE,
];

function anySendSchema(db: BetterSqlite3.Database): void {
  const columns = new Set(db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('trackers')").all().map((c) => c.name));
  if (!columns.has('auto_send')) db.exec('ALTER TABLE trackers ADD COLUMN auto_send INTEGER NOT NULL DEFAULT 0');
  if (!columns.has('sent_by')) {
    db.exec(`
      ALTER TABLE trackers ADD COLUMN sent_by TEXT CHECK (sent_by IN ('client', 'fetch'));
      UPDATE trackers SET sent_by = 'client' WHERE state = 'sent';
    `);
  }
  db.exec(`
    CREATE TABLE IF NOT EXISTS account_networks (
      account TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
      prefix TEXT NOT NULL,
      seen_at INTEGER NOT NULL,
      PRIMARY KEY (account, prefix)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS account_networks_seen ON account_networks(seen_at);
  `);
}

/** Rewrites, a thousand rows at a time, the signals that today's sanitiser would not have kept as they are. */
function scrubStoredSignals(db: BetterSqlite3.Database): void {
  const page = db.prepare<[number], { seq: number; signals: string }>('SELECT seq, signals FROM hits WHERE seq > ? ORDER BY seq LIMIT 1000');
  const update = db.prepare<[string, number]>('UPDATE hits SET signals = ? WHERE seq = ?');
  for (let after = 0, rows = page.all(after); rows.length > 0; rows = page.all(after)) {
    for (const row of rows) {
      const scrubbed = scrubSignals(JSON.parse(row.signals) as HitSignals);
      if (scrubbed !== null) update.run(JSON.stringify(scrubbed), row.seq);
    }
    after = rows.at(-1)!.seq;
  }
}

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
  sent_by: SentBy | null;
  auto_send: number;
  created_at: number;
  dropped: number;
}

/** A tracker's flood-cap window as the event loop counts it (stored hits of the current hour). */
interface FloodWindow {
  account: string;
  hour: number;
  count: number;
  /** Its account's window, shared by all its trackers' windows (see accountWindowOf). */
  owner: AccountWindow | null;
}

/** An account's stored hits of the current hour, all its trackers together. */
interface AccountWindow {
  hour: number;
  count: number;
}

/** Trackers whose window is kept in memory; beyond this the map starts over from the database. */
const FLOOD_WINDOWS_MAX = 50_000;

function hitRecord(hit: NewHit): HitRecord {
  const c = hit.classification;
  return [0, hit.id, hit.account, hit.tracker, c.kind, c.via, c.reason, c.client, hit.geo, hit.signals];
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
    // Not stored: named from the sentence when read, so hits stored before the codes have one too (contract/reasons.ts).
    ...codedReason(row.reason),
    network: { prefix: row.prefix, asn: row.asn, org: row.org },
    geo: parseShared<Hit['geo']>(row.geo),
    client: parseShared<Hit['client']>(row.client),
  };
}

/**
 * Brings the schema to `target` (the newest by default). Tests give an older target to build a database
 * as an earlier server left it, then open it with the store, which runs the rest: each step runs once.
 */
export function migrateSqlite(db: BetterSqlite3.Database, target = MIGRATIONS.length): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(`The database ${db.name} has schema version ${version}, newer than this server (${MIGRATIONS.length}).`);
  }
  for (let v = version; v < Math.min(target, MIGRATIONS.length); v++) {
    db.transaction(() => {
      const step = MIGRATIONS[v]!;
      if (typeof step === 'string') db.exec(step);
      else step(db);
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
  // One tracker's guaranteed hour (SPEC §3) always fits into its account's.
  const accountCap = Math.max(options.accountHitsPerHour ?? DEFAULT_ACCOUNT_HITS_PER_HOUR, floodCap);
  const trackersPerDay = options.trackersPerDay ?? DEFAULT_TRACKERS_PER_DAY;
  const selfViewsPerMinute = options.selfViewsPerMinute ?? DEFAULT_SELF_VIEWS_PER_MINUTE;
  if (path !== ':memory:') ensureFolder(dirname(path));
  let db: BetterSqlite3.Database;
  try {
    db = openDatabase(path, { timeout: 5000 });
  } catch (error) {
    throw new Error(`Cannot open the SQLite database ${path}: ${error instanceof Error ? error.message : String(error)}.`);
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  migrateSqlite(db);
  // Named statements (STYLE §7), prepared once.
  const sql = {
    insertAccount: db.prepare('INSERT INTO accounts (id, token_hash, created_at) VALUES (?, ?, ?)'),
    insertFirstDevice: db.prepare('INSERT INTO devices (id, account, token_hash, name, created_at) VALUES (?, ?, ?, NULL, ?)'),
    // Tokens are devices' since issue 21: accounts.token_hash stays as the first one issued, not as a login.
    accountByHash: db.prepare<[string], { id: string }>('SELECT account AS id FROM devices WHERE token_hash = ?'),
    deleteAccount: db.prepare('DELETE FROM accounts WHERE id = ?'),
    trackerById: db.prepare<[string], TrackerRow>(
      'SELECT id, account, state, sent_at, sent_by, auto_send, created_at, dropped FROM trackers WHERE id = ?',
    ),
    insertTracker: db.prepare('INSERT INTO trackers (id, account, state, sent_at, sent_by, auto_send, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    sendTracker: db.prepare("UPDATE trackers SET state = 'sent', sent_at = ?, sent_by = ? WHERE id = ? AND state = 'armed'"),
    setAutoSend: db.prepare('UPDATE trackers SET auto_send = ? WHERE id = ?'),
    sendOnFetch: db.prepare<{ tracker: string; at: number }>(
      `UPDATE trackers SET state = 'sent', sent_at = @at, sent_by = 'fetch'
        WHERE id = @tracker AND ((state = 'armed' AND auto_send = 1) OR (sent_by = 'fetch' AND sent_at > @at))`,
    ),
    noteNetwork: db.prepare(
      'INSERT INTO account_networks (account, prefix, seen_at) VALUES (?, ?, ?) ON CONFLICT (account, prefix) DO UPDATE SET seen_at = max(seen_at, excluded.seen_at)',
    ),
    accountNetworks: db.prepare<[string, number, number], { prefix: string }>(
      'SELECT prefix FROM account_networks WHERE account = ? AND seen_at >= ? ORDER BY seen_at DESC, prefix LIMIT ?',
    ),
    deleteOldNetworks: db.prepare('DELETE FROM account_networks WHERE seen_at < ?'),
    deleteTracker: db.prepare('DELETE FROM trackers WHERE id = ? AND account = ?'),
    selfViews: db.prepare<[string], { at: number; last: number }>(
      'SELECT at, coalesce(last_at, at) AS last FROM self_views WHERE tracker = ? ORDER BY at',
    ),
    insertSelfView: db.prepare('INSERT INTO self_views (tracker, at) VALUES (?, ?)'),
    /** A stored self-view within `merge` ms of `at` (parameters: tracker, at, merge). */
    selfViewNear: db.prepare<[{ tracker: string; at: number; merge: number }], { rowid: number; at: number; last: number }>(
      `SELECT rowid, at, coalesce(last_at, at) AS last FROM self_views
        WHERE tracker = @tracker AND at <= @at + @merge AND coalesce(last_at, at) >= @at - @merge ORDER BY at LIMIT 1`,
    ),
    widenSelfView: db.prepare('UPDATE self_views SET at = ?, last_at = ? WHERE rowid = ?'),
    countSelfViews: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM self_views WHERE tracker = ?'),
    accountDay: db.prepare<[string], { trackers_day: number; trackers_today: number }>(
      'SELECT trackers_day, trackers_today FROM accounts WHERE id = ?',
    ),
    setAccountDay: db.prepare('UPDATE accounts SET trackers_day = ?, trackers_today = ? WHERE id = ?'),
    /** Every tracker's flood window of an account: their counts of the same hour add up to the account's. */
    accountWindows: db.prepare<[string], { id: string; window_hour: number; window_count: number }>(
      'SELECT id, window_hour, window_count FROM trackers WHERE account = ?',
    ),
    priorHits: db.prepare<[string, number], { at: number; prefix: string; user_agent: string | null; kind: string }>(
      `SELECT at, prefix, json_extract(signals, '$.userAgent') AS user_agent, kind
         FROM hits WHERE tracker = ? ORDER BY at DESC, seq DESC LIMIT ?`,
    ),
    floodWindow: db.prepare<[string], { account: string; window_hour: number; window_count: number }>(
      'SELECT account, window_hour, window_count FROM trackers WHERE id = ?',
    ),
    trackerHits: db.prepare<[string], HitRow>(`SELECT ${HIT_COLUMNS} FROM hits WHERE tracker = ? ORDER BY at, id`),
    // `at >= @at` first, so the (tracker, at) index bounds the scan; the rest skips what the cursor covered.
    trackerPage: db.prepare<[{ tracker: string; at: number; id: string; limit: number }], HitRow>(
      `SELECT ${HIT_COLUMNS} FROM hits WHERE tracker = @tracker AND at >= @at AND (at > @at OR id > @id) ORDER BY at, id LIMIT @limit`,
    ),
    hitsBetween: db.prepare<[string, number, number], HitRow>(
      `SELECT ${HIT_COLUMNS} FROM hits WHERE tracker = ? AND at >= ? AND at <= ? ORDER BY at, id`,
    ),
    hitsBefore: db.prepare<[string, number, number], HitRow>(
      `SELECT ${HIT_COLUMNS} FROM hits WHERE tracker = ? AND at < ? ORDER BY at DESC, id DESC LIMIT ?`,
    ),
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
      'SELECT id, account, state, sent_at, sent_by, auto_send, created_at, dropped FROM trackers WHERE id > ? ORDER BY id LIMIT ?',
    ),
    // Batches keep each write transaction short, so pixels keep flowing while old hits go.
    deleteOldHits: db.prepare('DELETE FROM hits WHERE seq IN (SELECT seq FROM hits WHERE at < ? LIMIT 5000)'),
    deleteOldRates: db.prepare('DELETE FROM rate_limits WHERE ends_at < ?'),
    countRate: db.prepare<[string, number, number], { count: number }>(
      `INSERT INTO rate_limits (key, window, ends_at, count) VALUES (?, ?, ?, 1)
       ON CONFLICT (key, window) DO UPDATE SET count = count + 1 RETURNING count`,
    ),
    ping: db.prepare('SELECT 1'),
    /** A write that changes nothing: whether this connection can write again (./failing.ts). */
    probe: db.prepare('UPDATE hit_log SET byte_offset = byte_offset WHERE id = 1'),
  };

  const listeners = new Set<FeedListener>();
  let closed = false;

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

  // Hits reach the database through the hit log and the ingest worker; an in-memory
  // database (no file to share with a worker) applies them on the spot.
  const inMemory = path === ':memory:';
  const ingester = inMemory ? createIngester(db) : null;
  let log: HitLog | null = null;
  let ingest: IngestWorker | null = null;
  let lock: HitLogLock | null = null;
  if (!inMemory) {
    try {
      lock = HitLogLock.acquire(path);
    } catch (error) {
      db.close();
      throw error;
    }
    if (!lock && !options.alongsideServer) {
      db.close();
      throw new Error(`The database ${path} is in use by another OpenPing server (it holds ${path}-hits.lock); stop that one first.`);
    }
  }
  const onError = options.onError ?? ((message: string) => console.error(`OpenPing SQLite store: ${message}`));
  const onRecovered = options.onRecovered ?? ((message: string) => console.error(`OpenPing SQLite store: ${message}`));
  if (lock) {
    try {
      const started = await IngestWorker.start(path, (accounts) => notify(new Set(accounts)), onError, undefined, onRecovered);
      ingest = started.ingest;
      const worker = ingest;
      log = new HitLog(path, started.next, () => worker.kick());
      ingest.attach(log);
    } catch (error) {
      db.close();
      lock.release();
      throw error;
    }
  }
  /**
   * What cannot store now (./failing.ts): `log`, the hit log's frames (a pixel's, or the probe's);
   * `database`, this connection's writes (the API's); and the ingest worker's own failure.
   * A probe frame is a drop record of no tracker, which the ingester skips.
   */
  const failures = new StoreFailures(
    async (sources) => {
      if (sources.has('database')) {
        try {
          sql.probe.run();
          failures.clear('database');
        } catch (error) {
          if (!isStorageError(error)) throw error;
          failures.mark('database', `the database cannot be written: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      if (sources.has('log') && log && !closed) {
        log.append(JSON.stringify([1, '', '']));
        try {
          await log.sync();
          failures.clear('log');
        } catch (error) {
          failures.mark('log', logFailure(error));
        }
      }
    },
    () => ingest?.failure ?? null,
    { failing: onError, recovered: onRecovered },
  );
  const logFailure = (error: unknown) => `the hit log cannot be written: ${error instanceof Error ? error.message : String(error)}`;
  /** Waits until every hit logged so far is in the database (reads and deletions of hits call it first). */
  const applied = async () => {
    if (ingest) await ingest.barrier();
  };
  /**
   * Trackers with hits logged but maybe not yet applied: null while their frame
   * is being written, then the log position that covers them. The pixel loads a
   * tracker's classifier context on its first fetch (most often a tracker with
   * nothing in the log); only a tracker that has hits waiting needs to wait for
   * them, not for the whole backlog, which under load the idle-priority worker
   * may take its time over.
   */
  const unapplied = new Map<string, LogPosition | null>();
  const UNAPPLIED_SWEEP = 10_000;
  let sweepAt = UNAPPLIED_SWEEP;
  const appliedFor = async (tracker: string) => {
    if (!ingest) return;
    const at = unapplied.get(tracker);
    if (at === undefined) return;
    if (at !== null && comparePositions(at, ingest.ingested) <= 0) {
      unapplied.delete(tracker);
      return;
    }
    try {
      await applied();
    } catch (error) {
      // The worker cannot apply them now (a full disk) or not in time: the pixel classifies on what the database holds rather than wait.
      if (!(error instanceof StoreUnavailableError || error instanceof StoreBehindError)) throw error;
    }
  };

  // Flood-cap windows: the event loop decides stored vs dropped (SPEC §3) from memory, loaded
  // from the tracker's row once; the ingester keeps the row's copy current for the next start.
  // Only trackers that exist are kept, so a tracker registered later is seen at once.
  const windows = new Map<string, FloodWindow>();
  const windowOf = (tracker: string): FloodWindow | null => {
    let window = windows.get(tracker);
    if (window === undefined) {
      const row = sql.floodWindow.get(tracker);
      if (!row) return null;
      window = { account: row.account, hour: row.window_hour, count: row.window_count, owner: null };
      if (windows.size >= FLOOD_WINDOWS_MAX) {
        windows.clear();
        accountWindows.clear();
      }
      windows.set(tracker, window);
    }
    return window;
  };
  // The account's cap (OPENPING_ACCOUNT_HITS_PER_HOUR) needs no state of its own in the database:
  // each tracker's window counts its stored hits of its latest hour, so an account's stored hits of
  // an hour are the sum over its trackers' windows of that hour. Loaded once per account, then
  // counted here; tracker windows held here may be ahead of the database by the log not yet applied.
  const accountWindows = new Map<string, AccountWindow>();
  const accountWindowOf = (window: FloodWindow, hour: number): AccountWindow => {
    let owner = accountWindows.get(window.account);
    if (owner === undefined) {
      let count = 0;
      for (const row of sql.accountWindows.iterate(window.account)) {
        const held = windows.get(row.id);
        if (held) count += held.hour === hour ? held.count : 0;
        else if (row.window_hour === hour) count += row.window_count;
      }
      owner = { hour, count };
      accountWindows.set(window.account, owner);
    }
    window.owner = owner;
    return owner;
  };
  const selfViewsOf = (tracker: string): number[] => selfViewPoints(sql.selfViews.all(tracker).map((v) => [v.at, v.last] as const));
  /** Self-views per tracker in the current minute: a burst limit, so memory is enough (one process owns the file). */
  const selfViewRates = new Map<string, { minute: number; count: number }>();
  const record = (row: TrackerRow, selfViews: number[]): TrackerRecord => ({
    account: row.account,
    tracker: row.id,
    state: row.state,
    sentAt: row.sent_at,
    sentBy: row.sent_by,
    autoSend: row.auto_send === 1,
    selfViews,
    dropped: row.dropped,
    createdAt: row.created_at,
  });
  const owned = (account: string, tracker: string): TrackerRow | null => {
    const row = sql.trackerById.get(tracker);
    return row && row.account === account ? row : null;
  };

  const putTracker = db.transaction(
    (input: { account: string; tracker: string; state: TrackerState; sentAt: number | null; now: number; autoSend?: boolean }) => {
      const existing = sql.trackerById.get(input.tracker);
      if (existing && existing.account !== input.account) return null;
      const sentAt = input.state === 'sent' ? (input.sentAt ?? input.now) : null;
      if (!existing) {
        const day = Math.floor(input.now / DAY);
        const counted = sql.accountDay.get(input.account);
        const today = counted && counted.trackers_day === day ? counted.trackers_today : 0;
        // Thrown inside the transaction: nothing of this call is kept.
        if (today >= trackersPerDay) throw new LimitError();
        sql.setAccountDay.run(day, today + 1, input.account);
        sql.insertTracker.run(input.tracker, input.account, input.state, sentAt, sentAt === null ? null : 'client', input.autoSend ? 1 : 0, input.now);
      } else {
        if (input.state === 'sent') sql.sendTracker.run(sentAt, 'client', input.tracker);
        if (input.autoSend !== undefined) sql.setAutoSend.run(input.autoSend ? 1 : 0, input.tracker);
      }
      const row = sql.trackerById.get(input.tracker)!;
      return record(row, selfViewsOf(input.tracker));
    },
  );

  const addSelfView = db.transaction((tracker: string, at: number): SelfViewOutcome => {
    const near = sql.selfViewNear.get({ tracker, at, merge: SELF_VIEW_MERGE_MS });
    if (!near) {
      if (sql.countSelfViews.get(tracker)!.n >= MAX_SELF_VIEWS_PER_TRACKER) return 'full';
      sql.insertSelfView.run(tracker, at);
      return 'added';
    }
    if (at >= near.at && at <= near.last) return 'covered';
    sql.widenSelfView.run(Math.min(near.at, at), Math.max(near.last, at), near.rowid);
    return 'merged';
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

  const createAccount = db.transaction((id: string, tokenHash: string, createdAt: number) => {
    sql.insertAccount.run(id, tokenHash, createdAt);
    sql.insertFirstDevice.run(deviceIdOf(tokenHash), id, tokenHash, createdAt);
  });

  const store: Store = {
    kind: 'sqlite',
    ...sqliteSync(db, guard, (account) => notify(new Set([account]))),
    ...sqliteNotify(db, guard),

    async createAccount({ id, tokenHash, createdAt }) {
      guard();
      createAccount.immediate(id, tokenHash, createdAt);
    },
    async accountByTokenHash(tokenHash) {
      guard();
      return sql.accountByHash.get(tokenHash)?.id ?? null;
    },
    async deleteAccount(account) {
      guard();
      await applied();
      guard();
      windows.clear();
      accountWindows.clear();
      return sql.deleteAccount.run(account).changes > 0;
    },

    async putTracker(input) {
      guard();
      return putTracker.immediate(input);
    },
    async getTracker(account, tracker) {
      guard();
      await applied();
      guard();
      const row = owned(account, tracker);
      return row ? record(row, selfViewsOf(tracker)) : null;
    },
    async deleteTracker(account, tracker) {
      guard();
      await applied();
      guard();
      const deleted = sql.deleteTracker.run(tracker, account).changes > 0;
      if (deleted) windows.delete(tracker);
      return deleted;
    },
    async addSelfView(account, tracker, at, now) {
      guard();
      if (!owned(account, tracker)) return null;
      const minute = Math.floor(now / MINUTE);
      let rate = selfViewRates.get(tracker);
      if (!rate || rate.minute !== minute) {
        if (selfViewRates.size >= FLOOD_WINDOWS_MAX) selfViewRates.clear();
        rate = { minute, count: 0 };
        selfViewRates.set(tracker, rate);
      }
      if (rate.count >= selfViewsPerMinute) return 'limited';
      rate.count++;
      return addSelfView.immediate(tracker, at);
    },
    async trackerContext(account, tracker, priorLimit) {
      guard();
      await appliedFor(tracker);
      guard();
      const row = owned(account, tracker);
      if (!row) return null;
      const prior = sql.priorHits
        .all(tracker, priorLimit)
        .reverse()
        .map((p) => ({ at: p.at, prefix: p.prefix, userAgent: p.user_agent, kind: p.kind as HitKind }));
      return { state: row.state, sentAt: row.sent_at, sentBy: row.sent_by, autoSend: row.auto_send === 1, selfViews: selfViewsOf(tracker), prior };
    },
    async sendOnFetch(account, tracker, at) {
      guard();
      if (!owned(account, tracker)) return null;
      sql.sendOnFetch.run({ tracker, at });
      return record(sql.trackerById.get(tracker)!, selfViewsOf(tracker));
    },
    async noteAccountNetwork(account, prefix, now) {
      guard();
      sql.noteNetwork.run(account, prefix, now);
    },
    async accountNetworks(account, since, limit) {
      guard();
      return sql.accountNetworks.all(account, since, limit).map((r) => r.prefix);
    },

    async recordHits(hits) {
      guard();
      // While the worker is far behind, new hits wait for it (IngestWorker.room: the log stays bounded).
      const stall = ingest?.room();
      if (stall) {
        await stall;
        guard();
      }
      const outcomes: RecordOutcome[] = [];
      // JSON texts for the log, or the records themselves for an in-memory database.
      const records: Array<string | LogRecord> = [];
      for (const hit of hits) {
        const window = windowOf(hit.tracker);
        if (!window || window.account !== hit.account) {
          outcomes.push('unknown');
          continue;
        }
        const hour = Math.floor(hit.signals.at / HOUR);
        if (window.hour !== hour) {
          window.hour = hour;
          window.count = 0;
        }
        let owner = window.owner;
        if (owner === null || accountWindows.get(window.account) !== owner) owner = accountWindowOf(window, hour);
        if (owner.hour < hour) {
          owner.hour = hour;
          owner.count = 0;
        }
        if (window.count >= floodCap || owner.count >= accountCap) {
          outcomes.push('dropped');
          const drop: LogRecord = [1, hit.tracker, hit.account];
          records.push(log ? JSON.stringify(drop) : drop);
          continue;
        }
        window.count++;
        owner.count++;
        records.push(log ? encodeHitRecord(hit.id, hit.account, hit.tracker, hit.classification, hit.geo, hit.signals) : hitRecord(hit));
        outcomes.push('stored');
      }
      if (records.length === 0) return outcomes;
      if (!ingester && !log) throw new Error('This process opened the database alongside a server; only the server records hits.');
      if (!log) {
        notify(new Set(ingester!.apply(records as LogRecord[], null)));
        return outcomes;
      }
      for (const r of records) log.append(r as string);
      // Applied entries go when looked up; a sweep keeps trackers never looked up again from piling up.
      if (unapplied.size >= sweepAt) {
        for (const [tracker, at] of unapplied) if (at !== null && comparePositions(at, ingest!.ingested) <= 0) unapplied.delete(tracker);
        // Amortised: the next sweep waits until the map has doubled again.
        sweepAt = Math.max(UNAPPLIED_SWEEP, unapplied.size * 2);
      }
      for (const hit of hits) unapplied.set(hit.tracker, null);
      try {
        await log.sync();
        failures.clear('log');
      } catch (error) {
        // Counted but not recorded: these trackers' and accounts' windows start over from the database.
        for (const hit of hits) {
          windows.delete(hit.tracker);
          accountWindows.delete(hit.account);
        }
        failures.mark('log', logFailure(error));
        throw error;
      } finally {
        const covered = { ...log.durable };
        for (const hit of hits) unapplied.set(hit.tracker, covered);
      }
      return outcomes;
    },
    async trackerHits(account, tracker) {
      guard();
      await applied();
      guard();
      if (!owned(account, tracker)) return [];
      return sql.trackerHits.all(tracker).map((row): StoredHit => ({ hit: toHit(row), account: row.account, signals: JSON.parse(row.signals) }));
    },

    async trackerHitsPage(account, tracker, after, limit) {
      guard();
      const from = after === null ? { at: -1, id: '' } : decodeHitCursor(after);
      await applied();
      guard();
      if (!owned(account, tracker)) return { hits: [], next: null };
      const rows = sql.trackerPage.all({ tracker, at: from.at, id: from.id, limit: limit + 1 });
      const more = rows.length > limit;
      if (more) rows.pop();
      const last = rows.at(-1);
      return { hits: rows.map(toHit), next: more && last ? encodeHitCursor(last.at, last.id) : null };
    },
    async trackerHitsNear(account, tracker, from, to, priorLimit) {
      guard();
      await applied();
      guard();
      if (!owned(account, tracker)) return { prior: [], hits: [] };
      const stored = (row: HitRow): StoredHit => ({ hit: toHit(row), account: row.account, signals: JSON.parse(row.signals) });
      return {
        prior: sql.hitsBefore.all(tracker, from, Math.max(0, priorLimit)).reverse().map(stored),
        hits: sql.hitsBetween.all(tracker, from, to).map(stored),
      };
    },

    async events(account, after, limit): Promise<EventsPage> {
      guard();
      if (after !== null && !CURSOR.test(after)) throw new InvalidCursorError();
      await applied();
      guard();
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
      await applied();
      guard();
      const rows = sql.listTrackers.all(after ?? '', limit);
      const items = rows.map((row) => record(row, selfViewsOf(row.id)));
      return { items, next: rows.length === limit ? rows.at(-1)!.id : null };
    },
    async relabel(account, labels) {
      guard();
      await applied();
      guard();
      const changed = relabelBatch.immediate(account, labels);
      if (changed > 0) notify(new Set([account]));
      return changed;
    },

    async deleteHitsBefore(cutoff) {
      guard();
      log?.retireOld();
      await applied();
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
      sql.deleteOldNetworks.run(cutoff);
      // Damaged segments and quarantined records kept aside hold hits too.
      if (log) deleteSetAsideBefore(path, cutoff);
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
    pendingBytes: () => ingest?.pendingBytes() ?? 0,
    failing: () => failures.message(),
    async close() {
      if (closed) return;
      closed = true;
      failures.stop();
      listeners.clear();
      try {
        await log?.flush();
        await ingest?.close();
      } finally {
        log?.close();
        db.close();
        lock?.release();
      }
    },
  };
  return withFailures(store, failures);
}
