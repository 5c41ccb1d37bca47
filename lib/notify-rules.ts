/**
 * Notification hygiene (issue 19, item 3): which opens are worth a desktop
 * notification at all, and the daily digest that can replace them. Trackers'
 * users turn them off over notification fatigue (RESEARCH §6; nylas-mail
 * #2831), so these rules only ever take notifications away: the hits are
 * recorded and shown in the popup whatever they say.
 *
 * The rules are pure functions of the email, the new opens, the settings and
 * a clock; the digest's store (IndexedDB `meta`) and its alarm are below them.
 */
import { browser } from 'wxt/browser';
import { db, type EmailRecord, type HitRecord } from './db';
import { t } from './i18n';
import { inQuietHours, type PendingNotification } from './notify';
import { loadPolicy, mayShow } from './notify-policy';
import { isShared } from './sealed-sync';
import { loadIdentity, type Settings } from './settings';

/**
 * A re-open this soon after the previous open of the same message is the same
 * event: a reader scrolling a long thread, a client re-rendering it, or a
 * provider proxy refreshing its cache (Gmail's proxy re-fetches within minutes).
 */
export const COLLAPSE_MS = 3 * 60_000;
const DAY_MS = 24 * 60 * 60_000;

export type HygieneSettings = Pick<Settings, 'notifyForDays' | 'notifyDigest'>;

/** Why an open does not notify; null when it may. */
export type Silenced = 'collapsed' | 'expired' | 'replied';

/**
 * Whether a batch of new opens of `before` may notify.
 * - `collapsed`: every new open falls within COLLAPSE_MS of the open before it (a chain, so a reader
 *   scrolling for ten minutes in two-minute steps is one event).
 * - `expired`: the message was sent more than `notifyForDays` days ago (0 turns the limit off).
 * - `replied`: the page showed a reply; its opens are no longer news (the reply said more).
 */
export function silenced(
  before: Pick<EmailRecord, 'lastOpenAt' | 'sentAt' | 'sortAt'> & { repliedAt?: number | null },
  newOpens: readonly Pick<HitRecord, 'at'>[],
  settings: Pick<Settings, 'notifyForDays'>,
  now: number,
): Silenced | null {
  if (before.repliedAt != null) return 'replied';
  const days = settings.notifyForDays;
  const sent = before.sentAt ?? before.sortAt;
  if (days > 0 && sent > 0 && now - sent > days * DAY_MS) return 'expired';
  if (newOpens.length > 0 && before.lastOpenAt !== null) {
    let previous = before.lastOpenAt;
    let fresh = false;
    for (const at of newOpens.map((h) => h.at).sort((a, b) => a - b)) {
      if (at - previous >= COLLAPSE_MS) fresh = true;
      previous = Math.max(previous, at);
    }
    if (!fresh) return 'collapsed';
  }
  return null;
}

// ---------------------------------------------------------------- the daily digest

export const DIGEST_ALARM = 'openping:digest';
/**
 * The digest's own notification id (SPEC §6: every OpenPing notification id starts with `openping:`).
 * A literal, not NOTIFY_PREFIX: lib/notify imports this module, and a constant read across that cycle
 * at load time would not be defined yet.
 */
export const DIGEST_NOTIFICATION_ID = 'openping:digest';
const DIGEST_PREFIX = 'digest:';

/** One email's opens since the last digest. */
export interface DigestEntry {
  tracker: string;
  /**
   * The email's subject (lib/state/format emailTitle), the digest line's name. Not its notification's
   * title: since issue 17 that says who opened it ("Opened by Ada Lovelace") and the subject is in the message.
   */
  subject: string;
  /** Open events (collapsed re-opens count once) since the last digest. */
  events: number;
  lastAt: number;
}

export function digestKey(tracker: string): string {
  return `${DIGEST_PREFIX}${tracker}`;
}

/** Adds one notification's worth of opens to an email's digest entry. */
export function addToDigest(previous: DigestEntry | undefined, notification: PendingNotification, subject: string): DigestEntry {
  return {
    tracker: notification.tracker,
    subject,
    events: (previous?.events ?? 0) + 1,
    lastAt: notification.createdAt,
  };
}

/** The digest's notification: one line per email, most recent first; null when nothing was opened. */
export function digestNotification(entries: readonly DigestEntry[], now: number): PendingNotification | null {
  if (entries.length === 0) return null;
  const sorted = [...entries].sort((a, b) => b.lastAt - a.lastAt);
  const lines = sorted.slice(0, 5).map((e) => (e.events > 1 ? `${e.subject} (${e.events}×)` : e.subject));
  if (sorted.length > 5) lines.push(t('notify.digestMore', { n: String(sorted.length - 5) }));
  return {
    id: DIGEST_NOTIFICATION_ID,
    tracker: 'digest',
    title: t('notify.digestTitle', sorted.length),
    message: lines.join('\n'),
    createdAt: now,
  };
}

/** The next time of day `hhmm` (local time) strictly after `now`. */
export function nextDigestAt(hhmm: string, now: number): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(hhmm);
  const [h, min] = m && Number(m[1]) < 24 && Number(m[2]) < 60 ? [Number(m[1]), Number(m[2])] : [18, 0];
  const at = new Date(now);
  at.setHours(h, min, 0, 0);
  if (at.getTime() <= now) at.setDate(at.getDate() + 1);
  return at.getTime();
}

/**
 * Keeps the digest alarm in step with the settings: a daily alarm at `digestAt` while the digest is on,
 * none otherwise. Alarms outlive the worker and browser restarts (developer.chrome.com/docs/extensions/reference/api/alarms);
 * the entries wait in IndexedDB.
 */
export async function ensureDigestAlarm(settings: Pick<Settings, 'notifyDigest' | 'digestAt'>, now = Date.now()): Promise<void> {
  const existing = await browser.alarms.get(DIGEST_ALARM);
  if (!settings.notifyDigest) {
    if (existing) await browser.alarms.clear(DIGEST_ALARM);
    return;
  }
  const when = nextDigestAt(settings.digestAt, now);
  if (existing && existing.scheduledTime === when) return;
  await browser.alarms.create(DIGEST_ALARM, { when, periodInMinutes: 24 * 60 });
}

/**
 * Shows the digest of every email opened since the last one and clears those entries (quiet hours
 * hold it back until the next day's digest). Returns whether a notification was shown.
 */
export async function deliverDigest(settings: Pick<Settings, 'quietFrom' | 'quietTo'>, now = Date.now()): Promise<boolean> {
  if (inQuietHours(settings, new Date(now))) return false;
  const database = await db();
  const range = IDBKeyRange.bound(DIGEST_PREFIX, `${DIGEST_PREFIX}\uffff`);
  const entries = (await database.getAll('meta', range)) as DigestEntry[];
  const notification = digestNotification(entries, now);
  if (!notification) return false;
  // Which browser of the account notifies (lib/notify-policy) holds for the digest too; under
  // "whichever is open" the first browser to claim this day's digest shows it.
  const identity = await loadIdentity();
  const shared = await isShared();
  const policy = shared && identity ? await loadPolicy(identity) : null;
  const day = new Date(now);
  day.setHours(0, 0, 0, 0);
  const verdict = await mayShow(identity, 'open', [`openping-digest@${day.getTime()}`], policy, shared);
  if (verdict === 'later') return false;
  if (verdict === 'show') {
    await browser.notifications.create(notification.id, {
      type: 'basic',
      iconUrl: browser.runtime.getURL('/icon/notification.png'),
      title: notification.title,
      message: notification.message,
      priority: 0,
    });
  }
  // Only the entries shown (or another browser's to show): opens that arrived meanwhile wait for the next digest.
  const tx = database.transaction('meta', 'readwrite');
  for (const shown of entries) {
    const current = (await tx.store.get(digestKey(shown.tracker))) as DigestEntry | undefined;
    if (current && current.lastAt === shown.lastAt) await tx.store.delete(digestKey(shown.tracker));
  }
  await tx.done;
  return verdict === 'show';
}
