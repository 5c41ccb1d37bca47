/**
 * Moving logged hits into SQLite (see ./hitlog.ts for why hits are logged
 * first): `createIngester` applies records to a database in one transaction,
 * together with the log position they end at, so a record is applied exactly
 * once however the process stops; `IngestWorker` runs that on a worker thread
 * (./sqlite-ingest-worker.ts) and tells the event loop how far it got.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { StoreBehindError, StoreUnavailableError } from './types.ts';
import { comparePositions, type HitLog, type LogPosition, type LogRecord, type Quarantined } from './hitlog.ts';
import { setThreadPolicy, type Policy } from './thread-priority.ts';

const HOUR = 3_600_000;

/** Records per transaction: short enough that an API write on the event loop never waits long for the write lock. */
export const INGEST_BATCH = 2000;

export interface Ingester {
  /**
   * Applies the records (and moves the stored position, when given) in one
   * transaction; returns the accounts whose feed grew. A record the database
   * refuses (a constraint, a value it cannot bind) is skipped and handed to
   * `refused` inside the transaction, before it commits; other failures (a
   * full disk, I/O) fail the whole call.
   */
  apply(records: readonly LogRecord[], position: LogPosition | null, refused?: (entries: Quarantined[]) => void): string[];
  position(): LogPosition;
}

interface Window {
  account: string;
  window_hour: number;
  window_count: number;
  dropped: number;
}

export function createIngester(db: Database.Database): Ingester {
  const sql = {
    tracker: db.prepare<[string], { account: string; window_hour: number; window_count: number }>(
      'SELECT account, window_hour, window_count FROM trackers WHERE id = ?',
    ),
    insertHit: db.prepare(
      `INSERT INTO hits (id, account, tracker, at, kind, via, reason, client, prefix, asn, org, geo, signals)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    countWindow: db.prepare('UPDATE trackers SET window_hour = ?, window_count = ?, dropped = dropped + ? WHERE id = ?'),
    position: db.prepare<[], LogPosition>('SELECT segment, byte_offset AS offset FROM hit_log WHERE id = 1'),
    setPosition: db.prepare('UPDATE hit_log SET segment = ?, byte_offset = ? WHERE id = 1'),
  };
  const apply = db.transaction((records: readonly LogRecord[], position: LogPosition | null, refused?: (entries: Quarantined[]) => void): string[] => {
    const accounts = new Set<string>();
    const skipped: Quarantined[] = [];
    // A tracker deleted after its hits were logged is gone with its hits: they are skipped.
    const windows = new Map<string, Window | null>();
    const windowOf = (tracker: string, account: string): Window | null => {
      let window = windows.get(tracker);
      if (window === undefined) {
        const row = sql.tracker.get(tracker);
        window = row ? { ...row, dropped: 0 } : null;
        windows.set(tracker, window);
      }
      return window && window.account === account ? window : null;
    };
    for (const record of records) {
      if (record[0] === 1) {
        const window = windowOf(record[1], record[2]);
        if (window) window.dropped++;
        continue;
      }
      const [, id, account, tracker, kind, via, reason, client, geo, signals] = record;
      const window = windowOf(tracker, account);
      if (!window) continue;
      // The event loop decided stored vs dropped; the window is kept here so a restart resumes its count.
      const hour = Math.floor(signals.at / HOUR);
      if (window.window_hour !== hour) {
        window.window_hour = hour;
        window.window_count = 0;
      }
      const n = signals.network;
      try {
        sql.insertHit.run(
          id,
          account,
          tracker,
          signals.at,
          kind,
          via,
          reason,
          client === null ? null : JSON.stringify(client),
          n.prefix,
          n.asn,
          n.org,
          geo === null ? null : JSON.stringify(geo),
          JSON.stringify(signals),
        );
      } catch (error) {
        if (!refusedRecord(error)) throw error;
        // A failed statement is undone alone; the transaction goes on (https://www.sqlite.org/lang_conflict.html, ABORT).
        skipped.push({ reason: `the database refused it: ${(error as Error).message}`, record });
        continue;
      }
      window.window_count++;
      accounts.add(account);
    }
    if (skipped.length > 0) {
      if (!refused) throw new Error(`The database refused a hit: ${skipped[0]!.reason}.`);
      refused(skipped);
    }
    for (const [tracker, window] of windows) {
      if (window) sql.countWindow.run(window.window_hour, window.window_count, window.dropped, tracker);
    }
    if (position) sql.setPosition.run(position.segment, position.offset);
    return [...accounts];
  });
  return {
    apply: (records, position, refused) => apply.immediate(records, position, refused),
    position: () => sql.position.get()!,
  };
}

/**
 * An error that is about the record, not the database: a constraint (a hit
 * id already stored) or a value better-sqlite3 cannot bind. A full disk or an
 * I/O error must fail the batch instead, so it is retried.
 */
function refusedRecord(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG';
  return error instanceof TypeError || error instanceof RangeError;
}

export type ToWorker = { type: 'ingest'; upTo: LogPosition; sealed: Array<[number, number]> } | { type: 'close'; upTo: LogPosition };
export type FromWorker =
  | { type: 'ready'; position: LogPosition; tid: number | null }
  | { type: 'ingested'; position: LogPosition; accounts: string[] }
  /** An ingest request failed, nothing of it applied; `retry` follows when the worker takes requests again. */
  | { type: 'failed'; message: string }
  | { type: 'retry' }
  /** Something to log (damage found in the log); the worker goes on. */
  | { type: 'error'; message: string };

export interface WorkerData {
  path: string;
  /** At start-up: apply everything the log holds, delete it, and name the segment to write next. */
  replay: boolean;
}

/**
 * From source, the .ts next to this file; from a bundle (tests/bench/startup.bench.ts makes one),
 * its .mjs next to the bundle. (A function: the worker's own bundle of this module has no import.meta.)
 */
const workerUrl = () => new URL(import.meta.url.endsWith('.ts') ? './sqlite-ingest-worker.ts' : './sqlite-ingest-worker.mjs', import.meta.url);
const RESTART_MS = 1000;
/** See kick(). */
const INGEST_QUIET_MS = 20;
const INGEST_BUSY_MS = 1000;
const INGEST_EAGER_BYTES = 8 * 1024 * 1024;
/** How long a read waits for logged hits to reach the database before it gives up (StoreBehindError: the worker may be failing). */
const BARRIER_TIMEOUT_MS = 10_000;
/**
 * The worker runs at idle priority (./thread-priority.ts) except while something
 * waits for it — a read, a stalled writer, shutdown: one that has waited
 * LIFT_AFTER_MS puts it back to normal priority, as on an idle machine it is
 * done sooner than that (and no chrt is started); it goes back to idle once
 * nothing has waited for DROP_AFTER_MS, so a run of reads starts one chrt each way.
 */
const LIFT_AFTER_MS = 20;
const DROP_AFTER_MS = 1000;
/**
 * Feed subscribers (held long-polls) wait for the worker too, without a barrier:
 * a request to the worker not done within this is lifted like a read. On a
 * machine with a free core the worker is done long before (each request is at
 * most INGEST_BATCH records, ~15 ms); it is overdue only when other work keeps
 * every core busy, and then the feed would otherwise stall for as long as that lasts.
 */
const OVERDUE_MS = 500;
/**
 * The bound on the log not yet applied (see room()). Under a steady 52k hits/s
 * on this 2-core machine the idle-priority worker applied ~20 MB/s of the
 * ~26 MB/s logged, and the backlog grew by ~6 MB/s (80 MB after 20 s;
 * 2026-11-27): without a bound, hits that outrun it would grow the log files,
 * and the time reads wait for them, for as long as they last.
 */
export const BACKLOG_MAX_BYTES = 64 * 1024 * 1024;
/** A stalled writer goes on once the backlog is back under this. */
const BACKLOG_RESUME_BYTES = 32 * 1024 * 1024;
/** The longest a stalled writer waits: the worker may be failing, and a pixel must still be answered. */
const STALL_TIMEOUT_MS = 5_000;

let bundled: string | null = null;

/**
 * Run from source, the worker's TypeScript must be compiled: Node 20 workers
 * neither inherit the main thread's module hooks nor accept `--import` in
 * execArgv (checked 2026-11 on Node 20.20), and registering tsx inside the
 * worker cost ~25 MB of resident memory (its own hooks thread). So the worker
 * module is bundled once per process with esbuild (which tsx itself runs on)
 * into one CommonJS text — ~20 ms — and started from that text; packages
 * (better-sqlite3) are required from here.
 */
function createWorker(data: WorkerData): Worker {
  const url = workerUrl();
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData: data });
  if (bundled === null) {
    const require = createRequire(import.meta.url);
    const esbuild = require('esbuild') as typeof import('esbuild');
    const out = esbuild.buildSync({
      entryPoints: [fileURLToPath(url)],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      packages: 'external',
      write: false,
      logLevel: 'silent',
    });
    bundled = `require = require('node:module').createRequire(${JSON.stringify(fileURLToPath(import.meta.url))});\n${out.outputFiles[0]!.text}`;
  }
  return new Worker(bundled, { eval: true, workerData: data });
}

/**
 * The event loop's side of the ingest worker: asks it to apply the log up to
 * the durable end whenever it is idle (one request in flight at a time, so
 * under load each request covers many frames), and lets reads wait until
 * what was logged before them is in the database (`barrier`).
 */
export class IngestWorker {
  private worker: Worker | null = null;
  private busy = false;
  private closing = false;
  private log: HitLog | null = null;
  private waiters: Array<{ position: LogPosition; resolve: () => void; reject: (error: unknown) => void }> = [];
  /** Writers waiting in room() for the backlog to shrink. */
  private stalled: Array<() => void> = [];
  private backlogMax: number;
  private backlogResume: number;
  private restartTimer: NodeJS.Timeout | null = null;
  private delay: NodeJS.Timeout | null = null;
  /** When the oldest frame not yet asked for became durable, and when the latest did. */
  private waitingSince: number | null = null;
  private lastFrame = 0;
  private exited: Promise<void> = Promise.resolve();
  /** The worker thread's id, the policy wanted for it, the one it has (null: being set, or unknown), see prioritize(). */
  private tid: number | null = null;
  private wanted: Policy = 'idle';
  private policy: Policy | null = null;
  private liftTimer: NodeJS.Timeout | null = null;
  private dropTimer: NodeJS.Timeout | null = null;
  private policyFailed = false;
  private overdueTimer: NodeJS.Timeout | null = null;
  private overdue = false;
  ingested: LogPosition = { segment: 0, offset: 0 };
  /**
   * Why logged hits cannot be applied now (the last request failed, or the
   * worker is gone), or null. Meanwhile reads that need them fail at once
   * (barrier) instead of waiting BARRIER_TIMEOUT_MS for each.
   */
  failure: string | null = null;

  private constructor(
    private path: string,
    private onIngested: (accounts: string[]) => void,
    private onError: (message: string) => void,
    backlogMax: number,
    private onRecovered: (message: string) => void,
  ) {
    this.backlogMax = backlogMax;
    this.backlogResume = Math.min(BACKLOG_RESUME_BYTES, Math.floor(backlogMax / 2));
  }

  /** Starts the worker, which first applies and clears whatever an earlier run left in the log. */
  static async start(
    path: string,
    onIngested: (accounts: string[]) => void,
    onError: (message: string) => void,
    /** Smaller in tests. */
    backlogMax = BACKLOG_MAX_BYTES,
    /** Said when applying works again after `failure`. */
    onRecovered: (message: string) => void = () => undefined,
  ): Promise<{ ingest: IngestWorker; next: number }> {
    const ingest = new IngestWorker(path, onIngested, onError, backlogMax, onRecovered);
    const ready = await ingest.spawn(true);
    ingest.ingested = ready.position;
    return { ingest, next: ready.position.segment };
  }

  attach(log: HitLog): void {
    this.log = log;
  }

  private spawn(replay: boolean): Promise<{ position: LogPosition }> {
    const worker = createWorker({ path: this.path, replay });
    this.worker = worker;
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    return new Promise((resolve, reject) => {
      let started = false;
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'ready') {
          started = true;
          // A new thread runs at normal priority until told otherwise.
          this.tid = message.tid;
          this.policy = 'other';
          this.setPolicy();
          resolve(message);
        } else if (message.type === 'ingested') {
          this.setFailure(null);
          this.done(message.position, message.accounts);
        } else if (message.type === 'failed') {
          this.setFailure(message.message);
          this.onError(message.message);
        } else if (message.type === 'retry') {
          this.busy = false;
          this.kick(true);
        } else {
          this.onError(message.message);
        }
      });
      worker.once('error', (error) => {
        if (!started) reject(new Error(`The SQLite ingest worker failed to start: ${error.message}`));
        else {
          this.setFailure(`the ingest worker failed: ${error.message}`);
          this.onError(`ingest worker failed: ${error.message}`);
        }
      });
      worker.once('exit', (code) => {
        if (this.worker === worker) {
          this.worker = null;
          this.tid = null;
        }
        this.busy = false;
        if (!started) reject(new Error(`The SQLite ingest worker exited at start (code ${code}).`));
        else if (!this.closing) this.restartLater();
      });
    });
  }

  private setFailure(failure: string | null): void {
    const was = this.failure;
    this.failure = failure;
    if (failure !== null && this.waiters.length > 0) {
      // Reads waiting for hits that cannot be applied now fail at once.
      const waiters = this.waiters;
      this.waiters = [];
      const error = new StoreUnavailableError(`logged hits cannot be applied to the database: ${failure}`);
      for (const w of waiters) w.reject(error);
      this.prioritize();
    }
    if (failure === null && was !== null) this.onRecovered(`logged hits are applied again (after: ${was})`);
  }

  private restartLater(): void {
    if (this.restartTimer || this.closing) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.closing) return;
      this.spawn(false).then(
        ({ position }) => {
          if (comparePositions(position, this.ingested) > 0) this.ingested = position;
          this.setFailure(null);
          this.kick();
        },
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          this.setFailure(message);
          this.onError(message);
          this.restartLater();
        },
      );
    }, RESTART_MS);
    this.restartTimer.unref();
  }

  /**
   * After a frame became durable, or the worker finished a request: ask for
   * more if there is more — but not at once. Applying hits costs the disk
   * writes that make the hit log's own fdatasync slower (0.15 → 0.4 ms per
   * sync on this machine with another file being written, 2026-11-27), and a
   * transaction costs ~12 µs per hit at 20 hits against ~7 µs at 2,000. So
   * while frames keep coming the log is applied at most every
   * INGEST_BUSY_MS (or once INGEST_EAGER_BYTES wait), and INGEST_QUIET_MS
   * after the last frame otherwise. A read that needs the hits (`barrier`)
   * asks at once. Feed subscribers hear of a hit at most that much later —
   * well within what a notification needs.
   */
  kick(urgent = false): void {
    const log = this.log;
    if (this.busy || !this.worker || !log) return;
    if (comparePositions(log.durable, this.ingested) <= 0) return;
    const now = performance.now();
    const backlog = log.durable.segment === this.ingested.segment ? log.durable.offset - this.ingested.offset : Number.POSITIVE_INFINITY;
    if (!urgent && this.waiters.length === 0 && backlog < INGEST_EAGER_BYTES) {
      this.waitingSince ??= now;
      this.lastFrame = now;
      if (!this.delay) this.arm(INGEST_QUIET_MS);
      return;
    }
    if (this.delay) clearTimeout(this.delay);
    this.delay = null;
    this.waitingSince = null;
    this.busy = true;
    const message: ToWorker = { type: 'ingest', upTo: log.durable, sealed: [...log.sealed] };
    this.worker.postMessage(message);
    this.overdueTimer ??= setTimeout(() => {
      this.overdueTimer = null;
      this.overdue = true;
      this.prioritize();
    }, OVERDUE_MS).unref();
  }

  private arm(ms: number): void {
    this.delay = setTimeout(() => {
      this.delay = null;
      const now = performance.now();
      const quietFor = now - this.lastFrame;
      const waited = now - (this.waitingSince ?? now);
      if (quietFor >= INGEST_QUIET_MS || waited >= INGEST_BUSY_MS) this.kick(true);
      else this.arm(Math.max(1, Math.min(INGEST_QUIET_MS - quietFor, INGEST_BUSY_MS - waited)));
    }, ms);
    this.delay.unref();
  }

  private done(position: LogPosition, accounts: string[]): void {
    this.busy = false;
    if (this.overdueTimer) clearTimeout(this.overdueTimer);
    this.overdueTimer = null;
    this.overdue = false;
    if (comparePositions(position, this.ingested) > 0) this.ingested = position;
    this.log?.forgetSealed(this.ingested.segment);
    if (accounts.length > 0) this.onIngested(accounts);
    if (this.waiters.length > 0) {
      const still: typeof this.waiters = [];
      for (const w of this.waiters) (comparePositions(w.position, this.ingested) <= 0 ? w.resolve() : still.push(w));
      this.waiters = still;
    }
    if (this.stalled.length > 0 && this.pendingBytes() <= this.backlogResume) this.release();
    this.prioritize();
    this.kick(this.stalled.length > 0);
  }

  private release(): void {
    const stalled = this.stalled;
    this.stalled = [];
    for (const resume of stalled) resume();
    this.prioritize();
  }

  /**
   * While a read, a stalled writer, shutdown or an overdue request waits for the
   * worker, it must get CPU: at idle priority it runs only when nothing else
   * wants a core, which on a machine busy with other programs may be never (sched(7)).
   */
  private prioritize(): void {
    const waited = this.waiters.length > 0 || this.stalled.length > 0 || this.overdue;
    if (waited || this.closing) {
      if (this.dropTimer) clearTimeout(this.dropTimer);
      this.dropTimer = null;
      if (this.wanted === 'other' || this.liftTimer) return;
      if (this.closing) this.lift();
      else {
        this.liftTimer = setTimeout(() => this.lift(), LIFT_AFTER_MS);
        this.liftTimer.unref();
      }
      return;
    }
    if (this.liftTimer) clearTimeout(this.liftTimer);
    this.liftTimer = null;
    if (this.wanted === 'idle' || this.dropTimer) return;
    this.dropTimer = setTimeout(() => {
      this.dropTimer = null;
      this.wanted = 'idle';
      this.setPolicy();
    }, DROP_AFTER_MS);
    this.dropTimer.unref();
  }

  private lift(): void {
    if (this.liftTimer) clearTimeout(this.liftTimer);
    this.liftTimer = null;
    this.wanted = 'other';
    this.setPolicy();
  }

  /** One chrt at a time, so the last policy asked for is the one the thread ends with. */
  private setPolicy(): void {
    const tid = this.tid;
    const wanted = this.wanted;
    if (tid === null || this.policy === null || this.policy === wanted) return;
    // After a failed lift the thread stays where it is rather than be lowered again with no way back.
    if (this.policyFailed) return;
    this.policy = null;
    setThreadPolicy(tid, wanted, (error) => {
      if (this.tid !== tid) return; // That thread is gone; its successor starts afresh.
      if (error && wanted === 'other') {
        this.policyFailed = true;
        this.onError(`could not give the ingest worker normal CPU priority (chrt: ${error.message}); reads may wait while the machine is busy`);
      }
      // Without chrt (or SCHED_IDLE) the thread keeps normal priority.
      this.policy = error ? 'other' : wanted;
      this.setPolicy();
    });
  }

  /**
   * Null while the log not yet applied is within its bound (the writer goes
   * on without a promise turn); otherwise a promise that resolves once the
   * worker has brought it back under half of it (or after
   * STALL_TIMEOUT_MS): the writer of new hits waits — a write stall, as
   * RocksDB's when compaction falls behind — so the log and the time reads
   * wait for it stay bounded however long hits outrun the worker. While the
   * writer waits, the event loop takes no CPU from the worker.
   */
  room(): Promise<void> | null {
    if (this.closing || this.pendingBytes() <= this.backlogMax) return null;
    return new Promise((resolve) => {
      // One message for all the writers waiting, however many groups of hits they are.
      const timer = setTimeout(() => {
        if (!this.stalled.includes(resume)) return;
        this.onError('the hit log is not being applied; recording on past its bound');
        this.release();
      }, STALL_TIMEOUT_MS);
      timer.unref();
      const resume = () => {
        clearTimeout(timer);
        resolve();
      };
      this.stalled.push(resume);
      this.prioritize();
      this.kick(true);
    });
  }

  /** Bytes of durable frames not yet applied. */
  pendingBytes(): number {
    const log = this.log;
    if (!log) return 0;
    let total = 0;
    for (let segment = this.ingested.segment; segment <= log.durable.segment; segment++) {
      const start = segment === this.ingested.segment ? this.ingested.offset : 0;
      const end = segment === log.durable.segment ? log.durable.offset : (log.sealed.get(segment) ?? 0);
      total += Math.max(0, end - start);
    }
    return total;
  }

  /**
   * Resolves once every hit logged before the call is in the database; rejects
   * with StoreUnavailableError at once while they cannot be applied (`failure`),
   * and with StoreBehindError after BARRIER_TIMEOUT_MS: a read must not go on as
   * if it had them.
   */
  async barrier(): Promise<void> {
    const log = this.log;
    if (!log) return;
    await log.flush();
    const target = log.durable;
    if (comparePositions(target, this.ingested) <= 0) return;
    if (this.failure !== null) throw new StoreUnavailableError(`logged hits cannot be applied to the database: ${this.failure}`);
    await new Promise<void>((resolve, reject) => {
      const waiter = {
        position: target,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        this.prioritize();
        this.onError('logged hits did not reach the database in time');
        reject(new StoreBehindError());
      }, BARRIER_TIMEOUT_MS);
      timer.unref();
      this.waiters.push(waiter);
      this.prioritize();
      this.kick(true);
    });
  }

  /** Applies everything logged, then stops the worker (which deletes the applied log). */
  async close(): Promise<void> {
    // Shutdown waits for the worker from here on: normal priority at once.
    this.lift();
    // What cannot be applied now stays in the log for the next start.
    await this.barrier().catch(() => undefined);
    this.closing = true;
    this.release();
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.delay) clearTimeout(this.delay);
    if (this.dropTimer) clearTimeout(this.dropTimer);
    if (this.overdueTimer) clearTimeout(this.overdueTimer);
    const worker = this.worker;
    if (!worker) return;
    const message: ToWorker = { type: 'close', upTo: this.log?.durable ?? this.ingested };
    worker.postMessage(message);
    await this.exited;
  }
}
