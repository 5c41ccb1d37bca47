/**
 * The storage contract of the tracking server (STYLE §7): one interface, two
 * implementations — ./sqlite.ts (embedded default) and ./postgres.ts — chosen
 * by the OPENPING_DB URL in ./index.ts. Every method is async so a networked
 * database fits; every guarantee written here is checked for any store by
 * tests/server/store-contract.ts.
 *
 * Times are epoch milliseconds passed in by the caller (the store never reads
 * the clock for data it returns), so tests can drive time.
 */
import type { Classification, HitKind, HitSignals, PriorHit, TrackerContext } from '../classify/types.ts';

export type { Classification, HitKind, HitSignals, PriorHit, TrackerContext };

export type TrackerState = 'armed' | 'sent';

/** Coarse place derived from the client address; only these three fields are kept. */
export interface Geo {
  country: string | null;
  region: string | null;
  city: string | null;
}

/** A hit as the API returns it (SPEC §3 "A Hit"). */
export interface Hit {
  id: string;
  tracker: string;
  at: number;
  kind: HitKind;
  via: string | null;
  reason: string;
  network: { prefix: string; asn: number | null; org: string | null };
  geo: Geo | null;
  client: Classification['client'];
}

/** A hit with everything needed to classify it again (`npm run reclassify`, late self-views). */
export interface StoredHit {
  hit: Hit;
  account: string;
  /** The signals exactly as recorded at fetch time (signals.at === hit.at). */
  signals: HitSignals;
}

export interface TrackerRecord {
  account: string;
  tracker: string;
  state: TrackerState;
  /** Null while armed. */
  sentAt: number | null;
  /** Sender's own views (epoch ms), ascending. */
  selfViews: number[];
  /** Fetches counted but not stored because of the flood cap (SPEC §3). */
  dropped: number;
  createdAt: number;
}

/** One pixel fetch to record, already classified by the server. */
export interface NewHit {
  /** Minted by the caller (random base64url), unique. */
  id: string;
  account: string;
  tracker: string;
  signals: HitSignals;
  classification: Classification;
  geo: Geo | null;
}

/**
 * Outcome per hit of a batch, in the batch's order:
 * - `stored`:  committed, and appended to the account's events feed;
 * - `dropped`: the tracker exists but its flood cap for the hour (by signals.at) is
 *              reached; only its `dropped` count was incremented (committed too);
 * - `unknown`: no such tracker under that account (never registered, deleted, or
 *              owned by another account); nothing written.
 */
export type RecordOutcome = 'stored' | 'dropped' | 'unknown';

/** A new label for a stored hit (reclassification). */
export interface Relabel {
  id: string;
  classification: Classification;
}

export interface EventsPage {
  events: Hit[];
  /** Opaque; pass back as `after`. Equals the `after` given when there is nothing new. */
  cursor: string;
}

export interface Page<T> {
  items: T[];
  /** Opaque; null when there is nothing after this page. */
  next: string | null;
}

export interface StoreOptions {
  /**
   * Hits stored per tracker per clock hour (floor(at / 3_600_000)); beyond it
   * fetches are only counted in `dropped`. SPEC §3 requires at least 1,000.
   */
  floodCapPerHour?: number;
  /**
   * Failures the store works around on its own (SQLite: the hit log's ingest
   * worker failing and restarting), for the server's log and metrics.
   * Default: written to stderr.
   */
  onError?: (message: string) => void;
  /**
   * SQLite only: a tool (`npm run reclassify`) may open the database while a
   * server owns it; it then reads and relabels but records no hits (the
   * server's hit log is the server's). Without this, opening a database a live
   * server owns fails with a sentence saying so.
   */
  alongsideServer?: boolean;
}

export const DEFAULT_FLOOD_CAP_PER_HOUR = 1000;

/** Called after a commit that appended to the events feed of these accounts. */
export type FeedListener = (accounts: ReadonlySet<string>) => void;

export interface Store {
  /** 'sqlite' or 'postgres'; 'postgres' may be shared by several server instances. */
  readonly kind: 'sqlite' | 'postgres';

  // ── accounts ────────────────────────────────────────────────────────────
  /** Stores a new account with the hash of its token (never the token). */
  createAccount(account: { id: string; tokenHash: string; createdAt: number }): Promise<void>;
  /** The account id owning this token hash, or null. */
  accountByTokenHash(tokenHash: string): Promise<string | null>;
  /** Erases the account, its trackers, self-views and hits. False if it did not exist. */
  deleteAccount(account: string): Promise<boolean>;

  // ── trackers ────────────────────────────────────────────────────────────
  /**
   * Registers or updates a tracker. The first account to register an id owns it:
   * for any other account this returns null and changes nothing. `sent` is
   * sticky: once sent, a later `armed` keeps state `sent` and the first sentAt;
   * a repeated `sent` keeps the first sentAt (idempotent PUT).
   */
  putTracker(input: {
    account: string;
    tracker: string;
    state: TrackerState;
    sentAt: number | null;
    now: number;
  }): Promise<TrackerRecord | null>;
  /** Null when missing or owned by another account. */
  getTracker(account: string, tracker: string): Promise<TrackerRecord | null>;
  /** Erases the tracker, its self-views and hits. False when missing / not owned. */
  deleteTracker(account: string, tracker: string): Promise<boolean>;
  /** Records a self-view. False when the tracker is missing / not owned. */
  addSelfView(account: string, tracker: string, at: number): Promise<boolean>;
  /**
   * What the classifier needs for a new hit of this tracker: state, sentAt,
   * self-views and up to `priorLimit` most recent stored hits (newest last).
   * Null when missing / not owned.
   */
  trackerContext(account: string, tracker: string, priorLimit: number): Promise<TrackerContext | null>;

  // ── hits ────────────────────────────────────────────────────────────────
  /**
   * Group commit: the whole batch in ONE transaction, durable when the promise
   * resolves (SQLite: the WAL fsynced after the commit). Outcomes in batch order. Hits
   * of one batch are appended to the feed in batch order. Rejects (writing
   * nothing) if the transaction fails.
   */
  recordHits(hits: readonly NewHit[]): Promise<RecordOutcome[]>;
  /** Every stored hit of a tracker with its signals, oldest first (by `at`, then id). */
  trackerHits(account: string, tracker: string): Promise<StoredHit[]>;

  // ── events feed ─────────────────────────────────────────────────────────
  /**
   * The account's feed after `after` (null: from the start), in recording order,
   * at most `limit` events. Across successive cursors every stored hit appears
   * exactly once — also while other hits are being committed concurrently (a
   * position is never handed out below one already returned). A relabelled hit
   * moves to the end of the feed: it appears once more with the same id and
   * its new label, and a reader starting afresh sees it once. Deleted hits
   * disappear. A cursor this store could not have made rejects with
   * InvalidCursorError (the server answers 400).
   */
  events(account: string, after: string | null, limit: number): Promise<EventsPage>;
  /**
   * Long-poll wake-up: the listener is called after each commit that appended
   * to the feed (recordHits storing ≥1 hit, relabel), with the accounts
   * concerned. SQLite: in-process. PostgreSQL: LISTEN/NOTIFY, so a hit stored
   * by another instance wakes this one too. Returns an unsubscribe function.
   */
  subscribe(listener: FeedListener): () => void;

  // ── reclassification ────────────────────────────────────────────────────
  /** Every tracker of every account, in a stable order, paged (for `npm run reclassify`). */
  listTrackers(after: string | null, limit: number): Promise<Page<TrackerRecord>>;
  /**
   * Writes new labels (kind, via, reason, client) on stored hits of one
   * account, in one transaction, and appends each changed hit to the feed
   * (then notifies subscribers). Ids not found under that account are
   * skipped. Returns how many hits were relabelled.
   */
  relabel(account: string, labels: readonly Relabel[]): Promise<number>;

  // ── housekeeping ────────────────────────────────────────────────────────
  /** Deletes hits with at < cutoff, and rate-limit windows that ended before it. Returns hits deleted. */
  deleteHitsBefore(cutoff: number): Promise<number>;
  /**
   * Fixed-window counter for rate limits, shared by every instance using the
   * store: increments the counter of `key` for the window containing `now`
   * (floor(now / windowMs)) and returns the count after the increment.
   */
  countRate(key: string, windowMs: number, now: number): Promise<number>;
  /** Cheap liveness check of the database (used by /healthz). */
  ping(): Promise<void>;
  /** SQLite: bytes of recorded hits durable in the hit log but not yet in the database (for /metrics). */
  pendingBytes?(): number;
  /** Waits for in-flight writes, then closes. Further calls reject. */
  close(): Promise<void>;
}

/** Thrown by Store.events for a cursor the store did not make. */
export class InvalidCursorError extends Error {
  constructor(message = 'The cursor is not one this server handed out.') {
    super(message);
    this.name = 'InvalidCursorError';
  }
}

/** The factory each implementation module exports (sqlite.ts: openSqliteStore, postgres.ts: openPostgresStore). */
export type OpenStore = (url: string, options?: StoreOptions) => Promise<Store>;
