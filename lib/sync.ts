/**
 * The background's session with the tracking server: the anonymous account
 * (created on first start), and the event feed (GET /v1/events) applied to
 * IndexedDB. MV3 workers die after ~30 s idle, so nothing lives in globals
 * except in-flight promises: the cursor, the hits, the counts and the
 * notifications still to show are written in ONE IndexedDB transaction per
 * page. A worker killed before that commit fetches the same page again and
 * applies it again (same hit ids, same result); killed after it, it goes on
 * from the saved cursor.
 */
import { browser } from 'wxt/browser';
import { HIT_KINDS } from '../contract';
import { applyServerSend, countedHits } from './anyapp';
import { ApiError, createAccount, getEvents, normalizeServer, type EventsPage } from './api';
import { errorWords } from './api-words';
import { t } from './i18n';
import type { IDBPTransaction } from 'idb';
import { db, isAppleMpp, newEmailRecord, type EmailRecord, type HitRecord, type OpenPingDB } from './db';
import { installSelfBlockRules } from './dnr';
import { decideNotification, deliverPending, pendingKey, updateBadge, type PendingNotification } from './notify';
import { addToDigest, digestKey, type DigestEntry } from './notify-rules';
import { backoffDelay, clearOutbox, flushOutbox } from './outbox';
import { applyBlobChanges, finishRotation, handleSyncedReminders, loadBlobCursor, loggedOutOfShared, pushPendingBlobs } from './sealed-sync';
import { applySyncedReminder } from './reminders';
import { emailTitle, MACHINE_KINDS, readerPlace } from './state/format';
import {
  loadIdentity,
  loadSettings,
  loadStatus,
  recordFailure,
  recordOk,
  saveIdentity,
  touchData,
  type Identity,
  type Settings,
} from './settings';

export const SYNC_ALARM = 'openping:sync';
/** Chrome's shortest alarm period (developer.chrome.com/docs/extensions/reference/api/alarms, Chrome 120+). */
export const SYNC_PERIOD_MINUTES = 0.5;
/** Seconds the server may hold a long poll (SPEC §3 allows 0..25; under the worker's 30 s idle limit). */
export const LONG_POLL_WAIT = 20;
/**
 * After a send or a hit, keep a long poll open this long so opens show within
 * seconds; afterwards the 30 s alarm alone picks hits up (up to ~30 s late).
 * Three days covers the opens of most 1-to-1 mail (a reply often waits for the
 * next working day, or a weekend); the cost is one held request per 20 s and a
 * worker kept awake while the user sends tracked mail.
 */
export const ACTIVE_WINDOW_MS = 3 * 24 * 60 * 60_000;
/** A page apply never loops forever on a server that keeps answering with more. */
const MAX_PAGES_PER_SYNC = 50;

const CURSOR_KEY = 'cursor';
const ACTIVITY_KEY = 'activeUntil';
const TOMBSTONE_PREFIX = 'deleted:';

// A reminder in another browser's write that meets one of ours (lib/sealed-sync.ts putDoc) is applied too.
handleSyncedReminders(applySyncedReminder);

// ---------------------------------------------------------------- account

let accountInFlight: Promise<Identity | null> | null = null;

/**
 * The account for the configured server, created with POST /v1/accounts when
 * there is none (SPEC §1.1). Failure is not an error: the status says
 * "offline", the periodic alarm retries after a backoff.
 */
export function ensureAccount(): Promise<Identity | null> {
  accountInFlight ??= createIfMissing().finally(() => {
    accountInFlight = null;
  });
  return accountInFlight;
}

function sameServer(a: string, b: string): boolean {
  try {
    return normalizeServer(a) === normalizeServer(b);
  } catch {
    return a === b;
  }
}

async function createIfMissing(): Promise<Identity | null> {
  const settings = await loadSettings();
  const existing = await loadIdentity();
  if (existing && sameServer(existing.server, settings.server)) return existing;
  const status = await loadStatus();
  if (status.retryAt !== null && status.retryAt > Date.now() && status.state !== 'ok') return existing;
  try {
    const created = await createAccount(settings.server);
    const identity: Identity = { server: normalizeServer(settings.server), ...created };
    if (existing) {
      // The server changed under an old account: its cursor and queued calls mean nothing here.
      await resetFeed();
      await clearOutbox();
    }
    await saveIdentity(identity);
    await installSelfBlockRules(identity.pixelBase);
    await recordOk();
    void flushOutbox().catch(() => {});
    return identity;
  } catch (error) {
    // Shown in the popup's banner and the setup page: in the user's language (lib/api-words.ts).
    const message =
      error instanceof ApiError ? errorWords(error) : t('errors.accountFailed', { server: settings.server, why: String(error) });
    const failures = (await loadStatus()).failures + 1;
    const state = error instanceof ApiError && error.failure === 'rejected' ? 'error' : 'offline';
    await recordFailure(state, message, Date.now() + backoffDelay(failures, 5_000));
    return existing;
  }
}

// ---------------------------------------------------------------- applying the feed

function validHit(raw: unknown): raw is HitRecord {
  if (!raw || typeof raw !== 'object') return false;
  const h = raw as Partial<HitRecord>;
  return (
    typeof h.id === 'string' &&
    typeof h.tracker === 'string' &&
    typeof h.at === 'number' &&
    typeof h.kind === 'string' &&
    (HIT_KINDS as readonly string[]).includes(h.kind)
  );
}

/** SPEC §3: an object of strings; anything else (or an entry of another type) is left out. */
function reasonParamsOf(raw: unknown): Record<string, string> {
  const params: Record<string, string> = {};
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return params;
  for (const [name, value] of Object.entries(raw)) if (typeof value === 'string') params[name] = value;
  return params;
}

function normalizeHit(h: HitRecord): HitRecord {
  return {
    id: h.id,
    tracker: h.tracker,
    at: h.at,
    kind: h.kind,
    via: typeof h.via === 'string' ? h.via : null,
    reason: typeof h.reason === 'string' ? h.reason : '',
    reasonCode: typeof h.reasonCode === 'string' ? h.reasonCode : null,
    reasonParams: reasonParamsOf(h.reasonParams),
    network: h.network ?? null,
    geo: h.geo ?? null,
    client: h.client ?? null,
  };
}

/** Counts of one email recomputed from all its hits (so a re-labelled hit moves between counts, never doubles). */
export function countsOf(hits: readonly HitRecord[]): Pick<
  EmailRecord,
  'opens' | 'firstOpenAt' | 'lastOpenAt' | 'machineHits' | 'appleMppHits' | 'lastOpenPlace'
> {
  let opens = 0;
  let machineHits = 0;
  let appleMppHits = 0;
  let first: HitRecord | null = null;
  let last: HitRecord | null = null;
  for (const hit of hits) {
    if (hit.kind === 'open') {
      opens++;
      if (!first || hit.at < first.at) first = hit;
      if (!last || hit.at >= last.at) last = hit;
    } else if (MACHINE_KINDS.has(hit.kind)) {
      machineHits++;
      if (isAppleMpp(hit)) appleMppHits++;
    }
  }
  return {
    opens,
    machineHits,
    appleMppHits,
    firstOpenAt: first?.at ?? null,
    lastOpenAt: last?.at ?? null,
    lastOpenPlace: last ? readerPlace(last) : null,
  };
}

export interface ApplyResult {
  applied: number;
  skipped: number;
  notifications: PendingNotification[];
}

/**
 * Applies one page of events and saves its cursor, all in one transaction.
 * Idempotent: applying the same page twice leaves the same records and
 * decides no second notification (a hit already stored as `open` is not new).
 */
export async function applyPage(page: EventsPage, settings: Settings, now = Date.now()): Promise<ApplyResult> {
  const database = await db();
  const tx = database.transaction(['emails', 'hits', 'meta'], 'readwrite');
  try {
    return await applyInTransaction(page, settings, now, tx);
  } catch (error) {
    // IndexedDB commits whatever was written once no request is pending; a failure half-way must leave nothing.
    try {
      tx.abort();
    } catch {
      // Already finished or aborted.
    }
    await tx.done.catch(() => {});
    throw error;
  }
}

type ApplyTx = IDBPTransaction<OpenPingDB, ('emails' | 'hits' | 'meta')[], 'readwrite'>;

async function applyInTransaction(page: EventsPage, settings: Settings, now: number, tx: ApplyTx): Promise<ApplyResult> {
  const hits = tx.objectStore('hits');
  const emails = tx.objectStore('emails');
  const meta = tx.objectStore('meta');
  const result: ApplyResult = { applied: 0, skipped: 0, notifications: [] };
  const newOpens = new Map<string, HitRecord[]>();
  const touched = new Set<string>();

  for (const raw of page.events) {
    if (!validHit(raw)) {
      console.warn('[openping] sync: skipping a malformed event', raw);
      result.skipped++;
      continue;
    }
    const hit = normalizeHit(raw);
    if ((await meta.get(`${TOMBSTONE_PREFIX}${hit.tracker}`)) !== undefined) {
      result.skipped++;
      continue;
    }
    const previous = await hits.get(hit.id);
    await hits.put(hit);
    touched.add(hit.tracker);
    result.applied++;
    if (hit.kind === 'open' && previous?.kind !== 'open') {
      const list = newOpens.get(hit.tracker) ?? [];
      // The same hit twice in one page counts once.
      if (!list.some((h) => h.id === hit.id)) list.push(hit);
      newOpens.set(hit.tracker, list);
    }
  }

  for (const tracker of touched) {
    const all = await hits.index('byTracker').getAll(tracker);
    const stored = await emails.get(tracker);
    // A pasted pixel (lib/anyapp.ts): sent once the server says so; the sender's probable own views do not count.
    const sent = stored ? applyServerSend(stored, all) : undefined;
    const counted = sent ? countedHits(sent, all) : all;
    const counts = countsOf(counted);
    if (!stored && counts.opens === 0 && counts.machineHits === 0) {
      // Only drafts' presend hits or own views of a tracker this browser never sent: keep the hits, list nothing yet.
      continue;
    }
    const before = stored ?? newEmailRecord(tracker, { sortAt: Math.min(...all.map((h) => h.at)) });
    const fresh = (newOpens.get(tracker) ?? []).filter((h) => counted.some((x) => x.id === h.id && x.kind === 'open'));
    const after: EmailRecord = {
      ...(sent ?? before),
      ...counts,
      unseenOpens: Math.min(counts.opens, before.unseenOpens + (before.tracking === 'stopped' ? 0 : fresh.length)),
    };
    const notification = decideNotification({ before, after, newOpens: fresh, settings, now });
    if (notification) {
      after.notifiedAt = now;
      if (settings.notifyDigest) {
        // The daily digest instead of one notification per open (lib/notify-rules).
        const key = digestKey(tracker);
        await meta.put(addToDigest((await meta.get(key)) as DigestEntry | undefined, notification, emailTitle(after)), key);
      } else {
        await meta.put(notification, pendingKey(tracker));
        result.notifications.push(notification);
      }
    }
    await emails.put(after);
  }
  if (page.cursor !== null) await meta.put(page.cursor, CURSOR_KEY);
  await tx.done;
  return result;
}

export async function loadCursor(): Promise<string | null> {
  const value = await (await db()).get('meta', CURSOR_KEY);
  return typeof value === 'string' ? value : null;
}

// ---------------------------------------------------------------- fetching

let syncChain: Promise<unknown> = Promise.resolve();

/** Runs `job` after every sync already queued in this worker: pages are applied in order, never interleaved. */
function serialized<T>(job: () => Promise<T>): Promise<T> {
  const run = syncChain.then(job, job);
  syncChain = run.catch(() => {});
  return run;
}

export interface SyncResult {
  ok: boolean;
  applied: number;
  notified: number;
  error: string | null;
}

/**
 * Fetches and applies pages until the feed is drained (wait = 0), or one long
 * poll (wait > 0). Never throws: a failure is written to the status with its
 * backoff and returned.
 */
export function syncOnce(options: { wait?: number; signal?: AbortSignal } = {}): Promise<SyncResult> {
  return serialized(() => runSync(options.wait ?? 0, options.signal));
}

async function runSync(wait: number, signal?: AbortSignal): Promise<SyncResult> {
  const result: SyncResult = { ok: false, applied: 0, notified: 0, error: null };
  const identity = await loadIdentity();
  if (!identity) {
    result.error = t('errors.noAccountYet');
    return result;
  }
  try {
    for (let i = 0; i < MAX_PAGES_PER_SYNC; i++) {
      const cursor = await loadCursor();
      const blobCursor = await loadBlobCursor();
      if (i === 0) await pushPendingBlobs().catch((e) => console.warn('[openping] sealed blobs not sent yet', e));
      const page = await getEvents(identity, cursor, i === 0 ? wait : 0, signal, blobCursor);
      // Issue 21: the account's other browsers' emails (sealed; lib/sealed-sync.ts).
      const blobs = await applyBlobChanges(page.blobs, page.blobCursor, forgetEmail, applySyncedReminder);
      // A key rotation cut short (here or on another browser) is finished (lib/sealed-sync.ts finishRotation).
      if (i === 0) await finishRotation(identity, page.keys).catch((e) => console.warn('[openping] key rotation not finished yet', e));
      if (page.events.length === 0 && page.cursor === cursor && blobs === 0) break;
      const settings = await loadSettings();
      const applied = await applyPage(page, settings);
      result.applied += applied.applied;
      if (applied.applied > 0) {
        await markActive();
        await touchData();
      }
      if ((page.events.length === 0 || page.cursor === cursor) && blobs === 0) break;
    }
    result.notified = await deliverPending();
    await updateBadge();
    await recordOk();
    result.ok = true;
  } catch (error) {
    if (signal?.aborted) return { ...result, error: 'aborted' };
    const apiError = error instanceof ApiError ? error : null;
    result.error = errorWords(error);
    if (apiError?.code === 'bad_cursor') {
      // The server no longer knows our cursor (its database was restored or replaced):
      // read the feed from the start again. Pages apply idempotently by hit id, so
      // nothing is counted or notified twice; the next sync goes on at once.
      await resetFeed();
      return result;
    }
    // Revoked here, or erased from another browser of the account: that account's data goes from here too.
    if (apiError?.failure === 'unauthorized' && (await loggedOutOfShared())) return result;
    const failures = (await loadStatus()).failures + 1;
    const retryAt = Date.now() + backoffDelay(failures, 5_000);
    if (apiError?.failure === 'unauthorized') {
      await recordFailure('unauthorized', t('api.unauthorized'), retryAt);
    } else {
      await recordFailure(apiError?.failure === 'rejected' ? 'error' : 'offline', result.error, retryAt);
    }
  }
  return result;
}

// ---------------------------------------------------------------- when to sync

/** Something happened (a send, a hit, the popup opened): keep the live poll open for a while. */
export async function markActive(now = Date.now()): Promise<void> {
  await browser.storage.local.set({ [ACTIVITY_KEY]: now + ACTIVE_WINDOW_MS });
}

async function activeUntil(): Promise<number> {
  const value = (await browser.storage.local.get(ACTIVITY_KEY))[ACTIVITY_KEY];
  return typeof value === 'number' ? value : 0;
}

let liveLoop: Promise<void> | null = null;
let liveAbort: AbortController | null = null;

/**
 * Long polls back to back while there is recent activity. Each answer calls
 * extension APIs, which resets the worker's idle timer, so the loop keeps the
 * worker alive no longer than the activity window. When the worker dies
 * anyway the 30 s alarm restarts it.
 */
export function startLivePolling(): Promise<void> {
  liveLoop ??= (async () => {
    const abort = new AbortController();
    liveAbort = abort;
    try {
      while (!abort.signal.aborted && Date.now() < (await activeUntil())) {
        const status = await loadStatus();
        if (status.state !== 'ok' && status.retryAt !== null && status.retryAt > Date.now()) break;
        const res = await syncOnce({ wait: LONG_POLL_WAIT, signal: abort.signal });
        if (!res.ok) break;
      }
    } catch (error) {
      // Callers start this with `void`; a storage failure here must not become an
      // unhandled rejection in the service worker. The 30 s alarm tries again.
      console.warn('[openping] live poll stopped', error);
    } finally {
      liveLoop = null;
      if (liveAbort === abort) liveAbort = null;
    }
  })();
  return liveLoop;
}

/** Ends the live poll now (account change, delete everything, tests). */
export async function stopLivePolling(): Promise<void> {
  liveAbort?.abort();
  await liveLoop?.catch(() => {});
}

export function isLivePolling(): boolean {
  return liveLoop !== null;
}

/** One tick of the periodic alarm: account, outbox, feed — each only when its backoff allows. */
export async function tick(): Promise<void> {
  const identity = await ensureAccount();
  if (!identity) return;
  await flushOutbox().catch((e) => console.warn('[openping] outbox flush failed', e));
  if (liveLoop) return;
  const status = await loadStatus();
  if (status.state !== 'ok' && status.retryAt !== null && status.retryAt > Date.now()) return;
  const res = await syncOnce();
  if (res.ok && Date.now() < (await activeUntil())) void startLivePolling();
}

export async function ensureSyncAlarm(): Promise<void> {
  const existing = await browser.alarms.get(SYNC_ALARM);
  if (!existing) await browser.alarms.create(SYNC_ALARM, { periodInMinutes: SYNC_PERIOD_MINUTES, delayInMinutes: SYNC_PERIOD_MINUTES });
}

// ---------------------------------------------------------------- local edits from the popup

/** Forgets an email locally and ignores further hits of its tracker from the feed. */
export async function forgetEmail(tracker: string): Promise<void> {
  const database = await db();
  const tx = database.transaction(['emails', 'hits', 'meta'], 'readwrite');
  await tx.objectStore('meta').put(Date.now(), `${TOMBSTONE_PREFIX}${tracker}`);
  await tx.objectStore('emails').delete(tracker);
  const keys = await tx.objectStore('hits').index('byTracker').getAllKeys(tracker);
  for (const key of keys) await tx.objectStore('hits').delete(key);
  await tx.objectStore('meta').delete(pendingKey(tracker));
  await tx.objectStore('meta').delete(digestKey(tracker));
  await tx.done;
}

/** The cursor and everything derived from the old account go when the account changes. */
export async function resetFeed(): Promise<void> {
  await (await db()).delete('meta', CURSOR_KEY);
  await (await db()).delete('meta', 'blobCursor');
}
