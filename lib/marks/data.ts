/**
 * The background's side of the list marks and thread status lines (issue 16): what a
 * content script may know of the tracked emails of its webmail, and the ids it learns.
 */
import { cleanIds, db, type EmailRecord } from '../db';
import type { MarkInfo } from '../messages';
import { emailState, emailSubstate, viaLabel } from '../state/format';
import type { MessageIds, Webmail } from '../webmail/types';

export async function marksFor(webmail: Webmail): Promise<MarkInfo[]> {
  const database = await db();
  const emails = (await database.getAll('emails')).filter((e) => e.webmail === webmail && e.tracking !== 'armed');
  const byTracker = database.transaction('hits').store.index('byTracker');
  return Promise.all(
    emails.map(async (email): Promise<MarkInfo> => {
      let lastOpenVia: string | null = null;
      if (email.opens > 0) {
        // The last open's intermediary ("via Gmail's image proxy"); its time and place are on the record.
        const hits = await byTracker.getAll(email.tracker);
        const last = hits.filter((h) => h.kind === 'open').sort((a, b) => b.at - a.at)[0];
        // Named here ("Gmail's image proxy"): the content scripts carry no table of names.
        lastOpenVia = viaLabel(last?.via ?? null);
      }
      return markOf(email, lastOpenVia);
    }),
  );
}

export function markOf(email: EmailRecord, lastOpenVia: string | null): MarkInfo {
  return {
    tracker: email.tracker,
    threadId: email.threadId ?? null,
    messageId: email.messageId ?? null,
    subject: email.subject,
    sentAt: email.sentAt,
    state: emailState(email),
    substate: emailSubstate(email),
    opens: email.opens,
    lastOpenAt: email.lastOpenAt,
    lastOpenPlace: email.lastOpenPlace,
    lastOpenVia,
    startedThread: email.startedThread === true,
    muted: email.muted === true,
  };
}

/** Keeps the ids a page told for a tracker; known ids are not overwritten by nulls. Returns whether anything changed. */
export async function saveIds(tracker: string, raw: MessageIds | undefined): Promise<boolean> {
  const ids = cleanIds(raw);
  if (!ids.thread && !ids.message) return false;
  const database = await db();
  const tx = database.transaction('emails', 'readwrite');
  const email = await tx.store.get(tracker);
  if (!email) {
    await tx.done;
    return false;
  }
  const threadId = ids.thread ?? email.threadId ?? null;
  const messageId = ids.message ?? email.messageId ?? null;
  const changed = threadId !== email.threadId || messageId !== email.messageId;
  if (changed) await tx.store.put({ ...email, threadId, messageId });
  await tx.done;
  return changed;
}
