/**
 * Follow-up reminders chosen at send (issue 19, item 2): "remind me in 1 / 3 /
 * 7 days (or on a date) if no reply / if not opened". A reminder lives in
 * IndexedDB (`meta`, `reminder:<tracker>`) and fires from a chrome.alarms
 * alarm of its own, so it survives worker deaths and browser restarts
 * (developer.chrome.com/docs/extensions/reference/api/alarms: alarms persist
 * across restarts; IndexedDB holds the rest). A reply, or an open when chosen,
 * cancels it; whichever comes first, the alarm re-checks before notifying.
 *
 * On an account shared by several browsers (issue 21) a reminder travels in the email's sealed blob
 * (lib/sealed-sync.ts): set, snoozed or dropped on one browser, it is on the others at their next sync,
 * and when it is due it fires on one of them only (lib/notify-policy.ts: claimed at the server).
 */
import { browser } from 'wxt/browser';
import { db, type EmailRecord } from './db';
import { t, uiLocale } from './i18n';
import { notificationId } from './notify';
import { loadPolicy, mayShow, reminderClaimKey } from './notify-policy';
import { isShared, type SyncedReminder } from './sealed-sync';
import { loadIdentity } from './settings';
import { emailTitle, recipientLabel, timeAgo } from './state/format';

export type ReminderCondition = 'no-reply' | 'not-opened';

export interface Reminder {
  tracker: string;
  condition: ReminderCondition;
  /** Days after the send, when chosen as "in N days"; null for a date. */
  afterDays: number | null;
  /** Epoch ms it is due (sent time + days, or the chosen date). */
  dueAt: number;
  createdAt: number;
}

export const REMINDER_ALARM_PREFIX = 'openping:remind:';
const REMINDER_PREFIX = 'reminder:';
const DAY_MS = 24 * 60 * 60_000;

export function reminderKey(tracker: string): string {
  return `${REMINDER_PREFIX}${tracker}`;
}

export function trackerOfReminderAlarm(name: string): string | null {
  return name.startsWith(REMINDER_ALARM_PREFIX) ? name.slice(REMINDER_ALARM_PREFIX.length) || null : null;
}

/** Why a reminder no longer applies; null while it does. */
export function cancelledBy(
  reminder: Pick<Reminder, 'condition'>,
  email: Pick<EmailRecord, 'opens' | 'repliedAt' | 'tracking'> | undefined,
): 'reply' | 'open' | 'gone' | null {
  if (!email || email.tracking === 'stopped') return 'gone';
  if (email.repliedAt != null) return 'reply';
  if (reminder.condition === 'not-opened' && email.opens > 0) return 'open';
  return null;
}

/**
 * When the last open was, as a reminder says it: "2 h ago" the same day, the weekday within the past
 * week ("Tuesday"), the date before that. Local days, in the user's language (Intl.DateTimeFormat).
 */
export function lastOpenWords(at: number, now: number): { ago: string } | { day: string } {
  const then = new Date(at);
  const today = new Date(now);
  if (then.toDateString() === today.toDateString() || at > now) return { ago: timeAgo(at, now) };
  const startOfToday = new Date(today.getFullYear(), today.getMonth(), today.getDate()).getTime();
  const weekday = at >= startOfToday - 6 * DAY_MS;
  const format = weekday ? { weekday: 'long' as const } : { day: 'numeric' as const, month: 'short' as const };
  return { day: then.toLocaleDateString(uiLocale(), format) };
}

/** "No reply from Ada" / "“Q3 budget” — opened 2×, last Tuesday"; "Not opened by Ada" / "“Q3 budget” — sent 3 d ago". */
export function reminderText(email: EmailRecord, reminder: Pick<Reminder, 'condition'>, now: number): { title: string; message: string } {
  const who = recipientLabel(email.recipients, 2) || t('reminders.theRecipient');
  const subject = emailTitle(email);
  if (reminder.condition === 'not-opened') {
    const message =
      email.sentAt !== null
        ? t('reminders.subjectSent', { subject, ago: timeAgo(email.sentAt, now) })
        : t('reminders.subject', { subject });
    return { title: t('reminders.notOpenedTitle', { who }), message };
  }
  const count = email.opens;
  let message: string;
  if (count === 0) message = t('reminders.subjectNoOpen', { subject });
  else if (email.lastOpenAt === null) message = t('reminders.subjectOpened', count, { subject });
  else {
    const when = lastOpenWords(email.lastOpenAt, now);
    message =
      'ago' in when
        ? t('reminders.subjectOpenedLast', count, { subject, ago: when.ago })
        : t('reminders.subjectOpenedOn', count, { subject, day: when.day });
  }
  return { title: t('reminders.noReplyTitle', { who }), message };
}

/** When a reminder is due: the date chosen, or `afterDays` after the send (now, for a message not sent yet). */
export function dueAtOf(choice: { afterDays: number | null; at: number | null }, sentAt: number | null, now: number): number | null {
  if (choice.afterDays !== null) {
    if (!Number.isInteger(choice.afterDays) || choice.afterDays < 1 || choice.afterDays > 365) return null;
    return (sentAt ?? now) + choice.afterDays * DAY_MS;
  }
  // A date: after now and within a year and a day (the menu offers tomorrow … a year ahead).
  if (choice.at !== null && Number.isFinite(choice.at) && choice.at > now && choice.at <= now + 366 * DAY_MS) return choice.at;
  return null;
}

async function arm(reminder: Reminder): Promise<void> {
  await browser.alarms.create(`${REMINDER_ALARM_PREFIX}${reminder.tracker}`, { when: reminder.dueAt });
}

/** Stores a reminder for `tracker` (one per email; a new choice replaces the old) and arms its alarm. */
export async function setReminder(
  tracker: string,
  choice: { condition: ReminderCondition; afterDays: number | null; at: number | null },
  now = Date.now(),
): Promise<Reminder | null> {
  if (choice.condition !== 'no-reply' && choice.condition !== 'not-opened') return null;
  const database = await db();
  const email = await database.get('emails', tracker);
  const dueAt = dueAtOf(choice, email?.tracking === 'sent' ? email.sentAt : null, now);
  if (dueAt === null) return null;
  const reminder: Reminder = { tracker, condition: choice.condition, afterDays: choice.afterDays, dueAt, createdAt: now };
  await database.put('meta', reminder, reminderKey(tracker));
  await arm(reminder);
  return reminder;
}

/** At send: a reminder chosen in days counts from the time the message leaves (scheduled send included). */
export async function onSent(tracker: string, sentAt: number): Promise<void> {
  const database = await db();
  const reminder = (await database.get('meta', reminderKey(tracker))) as Reminder | undefined;
  if (!reminder || reminder.afterDays === null) return;
  const next = { ...reminder, dueAt: sentAt + reminder.afterDays * DAY_MS };
  await database.put('meta', next, reminderKey(tracker));
  await arm(next);
}

export async function dropReminder(tracker: string): Promise<void> {
  await (await db()).delete('meta', reminderKey(tracker));
  await browser.alarms.clear(`${REMINDER_ALARM_PREFIX}${tracker}`);
}

export async function snoozeReminder(tracker: string, days: number, now = Date.now()): Promise<Reminder | null> {
  const database = await db();
  const reminder = (await database.get('meta', reminderKey(tracker))) as Reminder | undefined;
  if (!reminder || !Number.isInteger(days) || days < 1 || days > 365) return null;
  const next = { ...reminder, dueAt: Math.max(now, reminder.dueAt) + days * DAY_MS };
  await database.put('meta', next, reminderKey(tracker));
  await arm(next);
  return next;
}

export async function getReminder(tracker: string): Promise<Reminder | null> {
  return ((await (await db()).get('meta', reminderKey(tracker))) as Reminder | undefined) ?? null;
}

/** What travels in the sealed blob: the reminder less its tracker (the blob is the tracker's). */
export function syncedOf(reminder: Reminder | null): SyncedReminder | null {
  return reminder && { condition: reminder.condition, afterDays: reminder.afterDays, dueAt: reminder.dueAt, createdAt: reminder.createdAt };
}

/** Another browser set, snoozed (null: dropped) this email's reminder: the same here, alarm included. */
export async function applySyncedReminder(tracker: string, synced: SyncedReminder | null): Promise<void> {
  if (!synced) {
    await dropReminder(tracker);
    return;
  }
  const reminder: Reminder = { tracker, ...synced };
  await (await db()).put('meta', reminder, reminderKey(tracker));
  await arm(reminder);
}

/** Every stored reminder, soonest first (the popup lists due and upcoming ones). */
export async function listReminders(): Promise<Reminder[]> {
  const range = IDBKeyRange.bound(REMINDER_PREFIX, `${REMINDER_PREFIX}\uffff`);
  const all = (await (await db()).getAll('meta', range)) as Reminder[];
  return all.sort((a, b) => a.dueAt - b.dueAt);
}

/** Drops the email's reminder when a reply or an open has made it pointless; returns whether it did. */
export async function cancelIfAnswered(tracker: string): Promise<boolean> {
  const database = await db();
  const reminder = (await database.get('meta', reminderKey(tracker))) as Reminder | undefined;
  if (!reminder || !cancelledBy(reminder, await database.get('emails', tracker))) return false;
  await dropReminder(tracker);
  return true;
}

/**
 * The alarm fired: notify unless a reply or an open cancelled it meanwhile. The notification carries the
 * email's own id (`openping:<tracker>`), so a click opens its thread like an open's notification.
 * The reminder stays listed as due until it is dropped or snoozed.
 */
export async function fireReminder(tracker: string, now = Date.now()): Promise<boolean> {
  const database = await db();
  const reminder = (await database.get('meta', reminderKey(tracker))) as Reminder | undefined;
  if (!reminder) return false;
  const email = await database.get('emails', tracker);
  if (cancelledBy(reminder, email) || !email) {
    await dropReminder(tracker);
    return false;
  }
  if (reminder.dueAt > now + 60_000) {
    await arm(reminder); // Snoozed after this alarm was set: wait for the new time.
    return false;
  }
  // One browser of the account shows it (README "Which browser notifies"); a claim the server could not
  // answer is asked again in a minute, so it fires late rather than twice.
  const identity = await loadIdentity();
  const shared = await isShared();
  const policy = shared && identity ? await loadPolicy(identity) : null;
  const verdict = await mayShow(identity, 'reminder', [reminderClaimKey(tracker, reminder.dueAt)], policy, shared);
  if (verdict === 'later') await browser.alarms.create(`${REMINDER_ALARM_PREFIX}${tracker}`, { when: now + 60_000 });
  if (verdict !== 'show') return false;
  const text = reminderText(email, reminder, now);
  await browser.notifications.create(notificationId(tracker), {
    type: 'basic',
    iconUrl: browser.runtime.getURL('/icon/notification.png'),
    title: text.title,
    message: text.message,
    priority: 1,
  });
  return true;
}
