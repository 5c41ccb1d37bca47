/**
 * The outbox: every server call a content script asks for (register, send,
 * disarm, self-view) is first written to IndexedDB, then sent. A worker that
 * dies mid-way loses nothing — the entry is still there on the next start —
 * and failures are retried with exponential backoff, driven by a
 * browser.alarms alarm (MV3 workers cannot keep timers alive).
 */
import { browser } from 'wxt/browser';
import { ApiError, deleteTracker, postSelfView, putTracker, type Credentials } from './api';
import { db, type OutboxEntry, type OutboxOp } from './db';
import { loadIdentity, loadStatus, recordFailure, recordOk } from './settings';
import { serial } from './serial';

export const OUTBOX_ALARM = 'openping:outbox';

/** Retry delay after `attempts` failures: 2 s, 4 s, 8 s … capped at 15 min, ±20 % jitter so many browsers do not retry in step. */
export function backoffDelay(attempts: number, baseMs = 2_000, capMs = 15 * 60_000, random = Math.random): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp * (0.8 + 0.4 * random()));
}

/** Queues a call; `notBefore` holds it back (a scheduled send is registered as sent only when it leaves). */
export async function enqueue(item: OutboxOp, now = Date.now(), notBefore = now): Promise<void> {
  const entry: OutboxEntry = { item, attempts: 0, nextAt: Math.max(now, notBefore), createdAt: now };
  await (await db()).add('outbox', entry);
}

export async function pendingEntries(): Promise<OutboxEntry[]> {
  return (await db()).getAll('outbox');
}

export interface FlushResult {
  sent: number;
  /** Entries dropped because the server refused them for good (malformed, another account's tracker). */
  dropped: number;
  remaining: number;
  /** Epoch ms of the next retry, when entries remain. */
  nextAt: number | null;
}

async function call(creds: Credentials, item: OutboxOp): Promise<void> {
  switch (item.op) {
    case 'put':
      await putTracker(creds, item.tracker, item.state, item.sentAt, item.autoSend);
      return;
    case 'delete':
      try {
        await deleteTracker(creds, item.tracker);
      } catch (error) {
        // Already gone (or never registered): the goal is reached.
        if (error instanceof ApiError && error.status === 404) return;
        throw error;
      }
      return;
    case 'selfView':
      await postSelfView(creds, item.tracker, item.at);
      return;
  }
}

let wakeTimer: ReturnType<typeof setTimeout> | null = null;

/**
 * Sends what is due, oldest first, keeping each tracker's calls in order
 * (a `sent` never overtakes its `armed`, a self-view never precedes the
 * registration). One flush at a time per worker; a call made while one runs
 * gets one more flush after it (lib/serial.ts).
 */
export const flushOutbox: (now?: () => number) => Promise<FlushResult> = serial((now: () => number = Date.now) => flush(now));

async function flush(now: () => number): Promise<FlushResult> {
  const identity = await loadIdentity();
  const entries = await pendingEntries();
  const result: FlushResult = { sent: 0, dropped: 0, remaining: entries.length, nextAt: null };
  // No account yet: nothing can be sent; creating one flushes (lib/sync.ts ensureAccount), the alarm is the fallback.
  if (!identity || entries.length === 0) return finish(result, entries, now, { timer: false });
  // One backoff for the whole server: while it is down, no call is tried before the planned retry.
  const status = await loadStatus();
  if ((status.state === 'offline' || status.state === 'unauthorized') && status.retryAt !== null && status.retryAt > now()) {
    return finish(result, entries, now);
  }
  const database = await db();
  const blocked = new Set<string>();
  let stopAll = false;
  for (const entry of entries) {
    const tracker = entry.item.tracker;
    if (stopAll || blocked.has(tracker) || entry.nextAt > now()) {
      blocked.add(tracker);
      continue;
    }
    try {
      await call(identity, entry.item);
      await database.delete('outbox', entry.id!);
      result.sent++;
      await recordOk();
    } catch (error) {
      const apiError =
        error instanceof ApiError ? error : new ApiError('network', null, (error as Error)?.message ?? String(error));
      if (!apiError.retryable) {
        console.warn('[openping] outbox: the server refused', entry.item, '-', apiError.message);
        await database.delete('outbox', entry.id!);
        result.dropped++;
        continue;
      }
      const attempts = entry.attempts + 1;
      const nextAt = now() + backoffDelay(attempts);
      await database.put('outbox', { ...entry, attempts, nextAt });
      await recordFailure(apiError.failure === 'unauthorized' ? 'unauthorized' : 'offline', apiError.message, nextAt);
      // The server is down or refuses the token: every other call would fail the same way.
      stopAll = true;
    }
  }
  return finish(result, await pendingEntries(), now);
}

async function finish(result: FlushResult, left: OutboxEntry[], now: () => number, options = { timer: true }): Promise<FlushResult> {
  result.remaining = left.length;
  const status = await loadStatus();
  result.nextAt = nextWake(left, status.state === 'offline' || status.state === 'unauthorized' ? status.retryAt : null);
  await schedule(result.nextAt, now, options.timer);
  return result;
}

/**
 * When a flush can next send something: when the first pending call of some tracker is due (a tracker's
 * later calls wait behind its first), and not before the server-wide retry while the server is down.
 * Planning the wake-up at a later call of a tracker, or at a call held back by the server's backoff, set
 * a timer already past due: the worker flushed in a loop with nothing to send until the retry time came
 * (and, in tests/unit/outbox.test.ts, those wall-clock flushes raced the test's own clock).
 */
export function nextWake(left: readonly OutboxEntry[], retryAt: number | null): number | null {
  if (left.length === 0) return null;
  const firsts = new Map<string, number>();
  for (const entry of left) if (!firsts.has(entry.item.tracker)) firsts.set(entry.item.tracker, entry.nextAt);
  const due = Math.min(...firsts.values());
  return retryAt === null ? due : Math.max(due, retryAt);
}

/**
 * The alarm survives the worker; the timer only shortens the wait while the worker happens to live.
 * Both read the flush's own clock, so a retry the timer starts agrees with the flush that planned it
 * (a unit test's clock; on a loaded machine a timer on the wall clock raced the test's flushes).
 */
async function schedule(nextAt: number | null, now: () => number = Date.now, timer = true): Promise<void> {
  if (wakeTimer) clearTimeout(wakeTimer);
  wakeTimer = null;
  if (nextAt === null) {
    await browser.alarms.clear(OUTBOX_ALARM);
    return;
  }
  // Chrome fires alarms no sooner than 30 s (developer.chrome.com/docs/extensions/reference/api/alarms).
  await browser.alarms.create(OUTBOX_ALARM, { when: Date.now() + Math.max(nextAt - now(), 30_000) });
  const delay = nextAt - now();
  if (timer && delay < 30_000) {
    wakeTimer = setTimeout(() => void flushOutbox(now).catch(() => {}), Math.max(0, delay));
  }
}

/** Drops every pending call (the account they belonged to is gone or replaced). */
export async function clearOutbox(): Promise<void> {
  await (await db()).clear('outbox');
  await schedule(null);
}
