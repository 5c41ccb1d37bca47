/**
 * Desktop notifications and the toolbar badge. The rules are pure functions
 * (tested without a browser); delivery reads the pending notifications the
 * sync wrote in the same IndexedDB transaction as the hits, so a worker
 * killed between the two shows each notification once, late at worst.
 */
import { browser } from 'wxt/browser';
import { db, type EmailRecord, type HitRecord } from './db';
import { silenced } from './notify-rules';
import { loadPolicy, mayShow, type NotifyPolicy } from './notify-policy';
import { isShared } from './sealed-sync';
import { loadIdentity } from './settings';
import type { Settings } from './settings';
import { ordinal, t } from './i18n';
import { emailTitle, originLabel, recipientLabel } from './state/format';

export const NOTIFY_PREFIX = 'openping:';
/** nylas-mail #2831: people turn trackers off over re-open spam (RESEARCH §6) — one re-open notice per email per hour. */
export const REOPEN_THROTTLE_MS = 60 * 60_000;
/** Opens older than this when they reach us (a browser offline for days) update counts silently. */
export const STALE_OPEN_MS = 24 * 60 * 60_000;
const PENDING_PREFIX = 'notify:';
/** Opens of one batch claimed at most (a browser back from days offline may bring hundreds). */
export const CLAIM_HITS = 20;

export interface PendingNotification {
  /** `openping:<tracker>`: one notification per email; a newer one replaces the older. */
  id: string;
  tracker: string;
  title: string;
  message: string;
  createdAt: number;
  /**
   * The opens it tells of (their hit ids, at most CLAIM_HITS): the claim keys when only one browser of the
   * account may show it (lib/notify-policy). All of them, not only the latest: two browsers may read the
   * feed in differently cut pages, and a hit both saw is still claimed by one only.
   */
  hits?: string[];
}

export function notificationId(tracker: string): string {
  return `${NOTIFY_PREFIX}${tracker}`;
}

export function trackerOfNotification(id: string): string | null {
  return id.startsWith(NOTIFY_PREFIX) ? id.slice(NOTIFY_PREFIX.length) || null : null;
}

function minutesOf(hhmm: string | null): number | null {
  const m = hhmm ? /^(\d{1,2}):(\d{2})$/.exec(hhmm) : null;
  if (!m) return null;
  const h = Number(m[1]);
  const min = Number(m[2]);
  return h < 24 && min < 60 ? h * 60 + min : null;
}

/** Quiet hours in local time; "22:00"–"07:00" wraps past midnight. */
export function inQuietHours(settings: Pick<Settings, 'quietFrom' | 'quietTo'>, date: Date): boolean {
  const from = minutesOf(settings.quietFrom);
  const to = minutesOf(settings.quietTo);
  if (from === null || to === null || from === to) return false;
  const now = date.getHours() * 60 + date.getMinutes();
  return from < to ? now >= from && now < to : now >= from || now < to;
}

export interface NotifyInput {
  /** The email as it was before this batch of hits. */
  before: Pick<EmailRecord, 'opens' | 'notifiedAt' | 'tracking' | 'lastOpenAt' | 'sentAt' | 'sortAt'> & { repliedAt?: number | null };
  /** The email with this batch applied (counts recomputed). */
  after: EmailRecord;
  /** Hits of this batch that became `open` (new, or re-labelled to open). */
  newOpens: readonly HitRecord[];
  /** notifyFirstOpens: missing in settings saved before it existed — then on. */
  settings: Pick<Settings, 'notifyReopens' | 'quietFrom' | 'quietTo' | 'notifyForDays'> & Partial<Pick<Settings, 'notifyFirstOpens'>>;
  now: number;
}

/**
 * Whether this batch earns a notification, and its text. Machine kinds never
 * reach here (only `open` hits are passed in).
 */
export function decideNotification({ before, after, newOpens, settings, now }: NotifyInput): PendingNotification | null {
  if (newOpens.length === 0 || after.opens === 0) return null;
  if (after.tracking === 'stopped' || after.tracking === 'armed') return null;
  if (after.muted) return null;
  const latest = newOpens.reduce((a, b) => (b.at > a.at ? b : a));
  if (now - latest.at > STALE_OPEN_MS) return null;
  if (inQuietHours(settings, new Date(now))) return null;
  // Notification hygiene (issue 19): collapsed re-opens, old messages, replied messages (lib/notify-rules).
  if (silenced(before, newOpens, settings, now)) return null;
  const first = before.opens === 0;
  if (first && settings.notifyFirstOpens === false) return null;
  if (!first) {
    if (!settings.notifyReopens) return null;
    if (before.notifiedAt !== null && now - before.notifiedAt < REOPEN_THROTTLE_MS) return null;
  }
  return {
    id: notificationId(after.tracker),
    tracker: after.tracker,
    ...notificationText(after, latest, first),
    createdAt: now,
    hits: newOpens.slice(-CLAIM_HITS).map((h) => h.id),
  };
}

/**
 * The words of a notification, each said once (issue 17 item 7): the title
 * says that it was opened and, with one recipient, by whom — "Opened by Ada
 * Lovelace" (SPEC §6: the title says "Opened"); the message holds the subject
 * (SPEC §6), then where the open came from. With several recipients nobody
 * knows which one opened it (one body for all), so the title names them as
 * whom it was sent to.
 */
export function notificationText(
  email: EmailRecord,
  latest: HitRecord,
  first: boolean,
): { title: string; message: string } {
  const subject = emailTitle(email);
  const who = recipientLabel(email.recipients, 3);
  const one = email.recipients.length === 1;
  const n = { n: String(email.opens), nth: ordinal(email.opens) };
  const title = first
    ? !who ? t('notify.opened') : one ? t('notify.openedBy', { who }) : t('notify.openedTo', { who })
    : !who ? t('notify.reopened', n) : one ? t('notify.reopenedBy', { who, ...n }) : t('notify.reopenedTo', { who, ...n });
  const origin = originLabel(latest);
  return { title, message: origin ? `“${subject}”\n${origin}` : `“${subject}”` };
}

export function pendingKey(tracker: string): string {
  return `${PENDING_PREFIX}${tracker}`;
}

/**
 * Shows every notification the sync decided on and has not shown yet — on this browser only if the
 * account's choice of which browser notifies lets it (lib/notify-policy): one it may not show is dropped;
 * one whose claim could not be asked stays for the next sync.
 */
export async function deliverPending(): Promise<number> {
  const database = await db();
  const range = IDBKeyRange.bound(PENDING_PREFIX, `${PENDING_PREFIX}\uffff`);
  const keys = await database.getAllKeys('meta', range);
  if (keys.length === 0) return 0;
  const identity = await loadIdentity();
  const shared = await isShared();
  const policy: NotifyPolicy | null = shared && identity ? await loadPolicy(identity) : null;
  let shown = 0;
  for (const key of keys) {
    const pending = (await database.get('meta', key)) as PendingNotification | undefined;
    if (!pending) continue;
    const verdict = await mayShow(identity, 'open', pending.hits ?? [], policy, shared);
    if (verdict === 'later') continue;
    if (verdict === 'show') {
      try {
        await browser.notifications.create(pending.id, {
          type: 'basic',
          iconUrl: browser.runtime.getURL('/icon/notification.png'), // rendered by `npm run icons`
          title: pending.title,
          message: pending.message,
          priority: 1,
        });
        shown++;
      } catch (error) {
        console.warn('[openping] notification failed:', error);
      }
    }
    // Remove only what was shown (or is not this browser's to show): a newer one written meanwhile for the same email stays.
    const tx = database.transaction('meta', 'readwrite');
    const current = (await tx.store.get(key)) as PendingNotification | undefined;
    if (current && current.createdAt === pending.createdAt) await tx.store.delete(key);
    await tx.done;
  }
  return shown;
}

/** Emails with at least one unseen open. */
const UNSEEN = IDBKeyRange.lowerBound(1);

/** The toolbar badge: opens the user has not looked at yet. */
export async function updateBadge(): Promise<number> {
  const database = await db();
  let unseen = 0;
  for (const email of await database.getAllFromIndex('emails', 'byUnseen', UNSEEN)) unseen += email.unseenOpens;
  const action = browser.action ?? (browser as unknown as { browserAction?: typeof browser.action }).browserAction;
  if (action) {
    await action.setBadgeText({ text: unseen > 0 ? (unseen > 99 ? '99+' : String(unseen)) : '' });
    await action.setBadgeBackgroundColor({ color: '#2563eb' }).catch(() => {});
  }
  return unseen;
}

/** Marks every open as seen (the popup was opened), or those of one email. */
export async function markSeen(tracker?: string): Promise<void> {
  const database = await db();
  const tx = database.transaction('emails', 'readwrite');
  if (tracker) {
    const email = await tx.store.get(tracker);
    if (email && email.unseenOpens) await tx.store.put({ ...email, unseenOpens: 0 });
  } else {
    for (const email of await tx.store.index('byUnseen').getAll(UNSEEN)) await tx.store.put({ ...email, unseenOpens: 0 });
  }
  await tx.done;
  await updateBadge();
}

/**
 * Mutes or unmutes one email's notifications; muting also withdraws the one
 * waiting or shown for it. False when there is no such email here.
 */
export async function muteEmail(tracker: string, muted: boolean): Promise<boolean> {
  const database = await db();
  const tx = database.transaction(['emails', 'meta'], 'readwrite');
  const email = await tx.objectStore('emails').get(tracker);
  if (email) {
    await tx.objectStore('emails').put({ ...email, muted });
    if (muted) await tx.objectStore('meta').delete(pendingKey(tracker));
  }
  await tx.done;
  if (email && muted) await browser.notifications.clear(notificationId(tracker)).catch(() => false);
  return email !== undefined;
}

/** Opens the email's thread, focusing a tab that already shows it; the popup's detail view when there is no link. */
export async function openThread(tracker: string): Promise<boolean> {
  const email = await (await db()).get('emails', tracker);
  const url = email?.threadUrl ?? browser.runtime.getURL(`/popup.html?tracker=${encodeURIComponent(tracker)}`);
  const tabs = await browser.tabs.query({});
  const open = tabs.find((t) => t.url === url && t.id !== undefined);
  if (open?.id !== undefined) {
    await browser.tabs.update(open.id, { active: true });
    if (open.windowId !== undefined) await browser.windows.update(open.windowId, { focused: true }).catch(() => {});
  } else {
    await browser.tabs.create({ url });
  }
  return true;
}
