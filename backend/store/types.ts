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
import { TIMING } from '../classify/data/timing.ts';
import type { Geo, Hit } from '../../contract/index.ts';
import type { Classification, HitKind, HitSignals, PriorHit, SentBy, TrackerContext } from '../classify/types.ts';
import type { SyncStore } from './sync-types.ts';
import type { NotifyStore } from './notify-types.ts';

export type { Classification, Geo, Hit, HitKind, HitSignals, PriorHit, SentBy, TrackerContext };

export type TrackerState = 'armed' | 'sent';

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
  /** Null while armed; how the store learnt that it left (SentBy). */
  sentBy: SentBy | null;
  /**
   * Whether the first fetch from a network none of the account's API calls came
   * from turns it `sent` (a pixel pasted into another mail app, backend/anysend.ts).
   */
  autoSend: boolean;
  /** Sender's own views (epoch ms), ascending, as the classifier takes them (see selfViewPoints). */
  selfViews: number[];
  /** Fetches counted but not stored because of the flood cap or the account's hourly cap (SPEC §3). */
  dropped: number;
  createdAt: number;
}

/**
 * What a store keeps of a classification: the reason's sentence, not its code —
 * the code is named from the sentence when a hit is read (contract/reasons.ts
 * codedReason), so hits stored before the codes existed have one too, in
 * either store, without a migration.
 */
export type StoredLabel = Omit<Classification, 'reasonCode' | 'reasonParams'>;

/** One pixel fetch to record, already classified by the server. */
export interface NewHit {
  /** Minted by the caller (random base64url), unique. */
  id: string;
  account: string;
  tracker: string;
  signals: HitSignals;
  classification: StoredLabel;
  geo: Geo | null;
}

/**
 * Outcome per hit of a batch, in the batch's order:
 * - `stored`:  committed, and appended to the account's events feed;
 * - `dropped`: the tracker exists but its flood cap, or its account's cap of stored
 *              hits, for the hour (by signals.at) is reached; only the tracker's
 *              `dropped` count was incremented (committed too);
 * - `unknown`: no such tracker under that account (never registered, deleted, or
 *              owned by another account); nothing written.
 */
export type RecordOutcome = 'stored' | 'dropped' | 'unknown';

/** A new label for a stored hit (reclassification). */
export interface Relabel {
  id: string;
  classification: StoredLabel;
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
  /** Hits stored per account per clock hour, all its trackers together; beyond it fetches are counted in their tracker's `dropped`. */
  accountHitsPerHour?: number;
  /** Trackers an account may register per UTC day (floor(now / 86_400_000)); beyond it putTracker throws LimitError. */
  trackersPerDay?: number;
  /** Self-views per tracker per minute of the server's clock; beyond it addSelfView answers `limited`. */
  selfViewsPerMinute?: number;
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
  /** SQLite: said once when a failing part of the store (see Store.failing) works again. Default: stderr. */
  onRecovered?: (message: string) => void;
}

export const DEFAULT_FLOOD_CAP_PER_HOUR = 1000;
/** See Config.accountHitsPerHour (backend/config.ts) for why these defaults. */
export const DEFAULT_ACCOUNT_HITS_PER_HOUR = 10_000;
export const DEFAULT_TRACKERS_PER_DAY = 500;
export const DEFAULT_SELF_VIEWS_PER_MINUTE = 10;

/**
 * A self-view within this of a stored one is merged into it (SPEC §3): a stored
 * self-view is a span [first, last] of views, each arriving within a minute of it.
 */
export const SELF_VIEW_MERGE_MS = 60_000;

/**
 * Self-views a tracker keeps at most (after merging): they are never deleted
 * while the tracker lives, so without a bound a client could grow them by
 * selfViewsPerMinute for ever. A sender looks at one sent message a few times,
 * not hundreds of times more than a minute apart.
 */
export const MAX_SELF_VIEWS_PER_TRACKER = 200;

/**
 * What addSelfView did: `added` a new self-view; `merged` it into a stored one,
 * which now spans further; found it `covered` by a stored span (nothing changed);
 * or refused it: the tracker's self-views of this minute (by the server's clock)
 * passed the limit (`limited`), or it would be a new one beyond
 * MAX_SELF_VIEWS_PER_TRACKER (`full`); then nothing changed.
 */
export type SelfViewOutcome = 'added' | 'merged' | 'covered' | 'limited' | 'full';

/**
 * The classifier (backend/classify) takes self-views as instants: a hit from
 * TIMING.selfBefore before to TIMING.selfAfter after one is the sender's. A
 * merged span [first, last] is handed over as instants no further apart than
 * those two windows together, so the hits it explains are exactly those from
 * selfBefore before `first` to selfAfter after `last`.
 */
const SELF_VIEW_STEP_MS = TIMING.selfBefore.ms + TIMING.selfAfter.ms;
export function selfViewPoints(spans: ReadonlyArray<readonly [number, number]>): number[] {
  const points: number[] = [];
  for (const [first, last] of spans) {
    for (let at = first; at < last; at += SELF_VIEW_STEP_MS) points.push(at);
    points.push(last);
  }
  return points.sort((a, b) => a - b);
}

/** What the pixel needs of a tracker: the classifier's context, and whether a fetch may send it. */
export interface StoredContext extends TrackerContext {
  sentBy: SentBy | null;
  autoSend: boolean;
}

/** A page of a tracker's hits (GET /v1/trackers/{t}), oldest first. */
export interface HitsPage {
  hits: Hit[];
  /** Opaque; pass back as `after`. Null when this page holds the last hit. */
  next: string | null;
}

/** At most this many hits per GET /v1/trackers/{t} answer (SPEC §3). */
export const TRACKER_PAGE_LIMIT = 500;

/** Hits of a tracker around a time, with what the classifier needs to label them again. */
export interface HitsNear {
  /** Up to `priorLimit` hits before the range, oldest first: the classifier's prior hits. */
  prior: StoredHit[];
  /** The hits inside the range, oldest first (by `at`, then id). */
  hits: StoredHit[];
}

/** Cursor of GET /v1/trackers/{t}: the last hit's (at, id), the order pages are read in. */
export function encodeHitCursor(at: number, id: string): string {
  return `${at}.${id}`;
}

/** Rejects with InvalidCursorError for anything encodeHitCursor cannot have made. */
export function decodeHitCursor(cursor: string): { at: number; id: string } {
  const match = /^(0|[1-9][0-9]{0,15})\.([A-Za-z0-9_-]{1,64})$/.exec(cursor);
  if (!match || !Number.isSafeInteger(Number(match[1]))) throw new InvalidCursorError();
  return { at: Number(match[1]), id: match[2]! };
}

/** Called after a commit that appended to the events feed of these accounts. */
export type FeedListener = (accounts: ReadonlySet<string>) => void;

/** Devices, pairings and sealed blobs (issue 21) are in SyncStore (./sync-types.ts); which browser notifies in NotifyStore (./notify-types.ts). */
export interface Store extends SyncStore, NotifyStore {
  /** 'sqlite' or 'postgres'; 'postgres' may be shared by several server instances. */
  readonly kind: 'sqlite' | 'postgres';

  // ── accounts ────────────────────────────────────────────────────────────
  /** Stores a new account with the hash of its token (never the token); that token is its first device. */
  createAccount(account: { id: string; tokenHash: string; createdAt: number }): Promise<void>;
  /** The account id owning this token hash (any of its devices' tokens not revoked), or null. */
  accountByTokenHash(tokenHash: string): Promise<string | null>;
  /** Erases the account, its trackers, self-views and hits. False if it did not exist. */
  deleteAccount(account: string): Promise<boolean>;

  // ── trackers ────────────────────────────────────────────────────────────
  /**
   * Registers or updates a tracker. The first account to register an id owns it:
   * for any other account this returns null and changes nothing. `sent` is
   * sticky: once sent, a later `armed` keeps state `sent` and the first sentAt;
   * a repeated `sent` keeps the first sentAt (idempotent PUT). A new tracker
   * beyond the account's trackersPerDay (by `now`) rejects with LimitError and
   * changes nothing; updating a tracker the account has is never limited.
   */
  putTracker(input: {
    account: string;
    tracker: string;
    state: TrackerState;
    sentAt: number | null;
    now: number;
    /** Sets TrackerRecord.autoSend; undefined keeps what is stored (false for a new tracker). */
    autoSend?: boolean;
  }): Promise<TrackerRecord | null>;
  /** Null when missing or owned by another account. */
  getTracker(account: string, tracker: string): Promise<TrackerRecord | null>;
  /** Erases the tracker, its self-views and hits. False when missing / not owned. */
  deleteTracker(account: string, tracker: string): Promise<boolean>;
  /**
   * Records a self-view at `at`, merged into a stored one within
   * SELF_VIEW_MERGE_MS of it; `now` (server clock) counts it against the
   * tracker's selfViewsPerMinute. Null when the tracker is missing / not owned.
   */
  addSelfView(account: string, tracker: string, at: number, now: number): Promise<SelfViewOutcome | null>;
  /**
   * What the classifier needs for a new hit of this tracker: state, sentAt,
   * self-views and up to `priorLimit` most recent stored hits (newest last).
   * Null when missing / not owned.
   */
  trackerContext(account: string, tracker: string, priorLimit: number): Promise<StoredContext | null>;
  /**
   * An armed `autoSend` tracker becomes `sent` at `at`, sentBy `fetch`; one a
   * fetch sent later than `at` moves its sentAt back to `at` (of racing
   * fetches the earliest is the send, whichever call comes first); any other
   * tracker is left as it is. The tracker as it is afterwards; null when
   * missing / not owned.
   */
  sendOnFetch(account: string, tracker: string, at: number): Promise<TrackerRecord | null>;

  // ── the account's own networks (backend/anysend.ts) ─────────────────────
  /** Notes that an API call of the account came from `prefix` at `now` (kept until deleteHitsBefore passes it). */
  noteAccountNetwork(account: string, prefix: string, now: number): Promise<void>;
  /** The prefixes the account's API calls came from at or after `since`, at most `limit`, most recent first. */
  accountNetworks(account: string, since: number, limit: number): Promise<string[]>;

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
  /**
   * One page of a tracker's hits, oldest first (by `at`, then id), at most
   * `limit`, after the cursor `after` (null: from the first). Stable: hits
   * recorded meanwhile with a later `at` come on later pages, and pages never
   * repeat or skip a hit, also among hits of equal `at`. A cursor this store
   * could not have made rejects with InvalidCursorError. Empty when the tracker
   * is missing / not owned.
   */
  trackerHitsPage(account: string, tracker: string, after: string | null, limit: number): Promise<HitsPage>;
  /** The tracker's hits with from ≤ at ≤ to, and up to `priorLimit` before them (see HitsNear). */
  trackerHitsNear(account: string, tracker: string, from: number, to: number, priorLimit: number): Promise<HitsNear>;

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
  /** Deletes hits with at < cutoff, rate-limit windows that ended before it and own networks last seen before it. Returns hits deleted. */
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
  /**
   * Why the store cannot store now (a full disk, I/O errors), or null when it
   * can (SQLite; /healthz answers 503 with `store-failing` meanwhile). While it
   * is failing the API's methods reject at once with StoreUnavailableError.
   */
  failing?(): string | null;
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

/**
 * Thrown by a read when hits already answered have not reached the database in time (SQLite: the ingest
 * worker failing); the server answers 503 rather than a page without them.
 */
export class StoreBehindError extends Error {
  constructor(message = 'Recent hits are still being stored; try again in a few seconds.') {
    super(message);
    this.name = 'StoreBehindError';
  }
}

/** Thrown by putTracker for a new tracker beyond the account's trackersPerDay (the server answers 429). */
export class LimitError extends Error {
  constructor(message = 'This account registered as many trackers today as it may; try again tomorrow.') {
    super(message);
    this.name = 'LimitError';
  }
}

/** Thrown while the store cannot store (see Store.failing); the server answers 503. */
export class StoreUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(`The store cannot store now: ${reason}`);
    this.name = 'StoreUnavailableError';
  }
}

/** The factory each implementation module exports (sqlite.ts: openSqliteStore, postgres.ts: openPostgresStore). */
export type OpenStore = (url: string, options?: StoreOptions) => Promise<Store>;
