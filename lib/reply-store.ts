/**
 * Keeps a reply the page showed (lib/replies.ts) on the email's record. The
 * content script's word is checked here: it runs in a page, so every field is
 * validated and only the email's own reply fields change.
 */
import { db } from './db';
import { mergeReply, type Reply } from './replies';
import type { Recipient } from './webmail/types';

function recipient(value: unknown): Recipient | null {
  if (!value || typeof value !== 'object') return null;
  const { name, address } = value as { name?: unknown; address?: unknown };
  if (typeof address !== 'string' || address.trim() === '' || address.length > 320) return null;
  return { name: typeof name === 'string' && name.trim() ? name.trim().slice(0, 200) : null, address: address.trim() };
}

/** The reply as sent by a page, or null when it is malformed. */
export function validReply(value: unknown, now = Date.now()): Reply | null {
  if (!value || typeof value !== 'object') return null;
  const { by, at, others } = value as { by?: unknown; at?: unknown; others?: unknown };
  const who = recipient(by);
  // A page's date in the future by more than a day is a misread, not a reply.
  if (!who || typeof at !== 'number' || !Number.isFinite(at) || at > now + 86_400_000) return null;
  const rest = (Array.isArray(others) ? others : []).slice(0, 50).map(recipient).filter((r): r is Recipient => r !== null);
  return { by: who, at, others: rest };
}

/** Records the reply; true when the email changed. A tracker this browser did not send is ignored. */
export async function recordReply(tracker: string, raw: unknown, own: unknown): Promise<boolean> {
  const reply = validReply(raw);
  const addresses = (Array.isArray(own) ? own : []).filter((a): a is string => typeof a === 'string' && a.includes('@'));
  if (!reply || addresses.length === 0) return false;
  const database = await db();
  const tx = database.transaction('emails', 'readwrite');
  const email = await tx.store.get(tracker);
  if (!email || email.tracking === 'armed' || email.sentAt === null || reply.at <= email.sentAt) {
    await tx.done;
    return false;
  }
  const fields = mergeReply(email, reply, addresses);
  if (fields) await tx.store.put({ ...email, ...fields });
  await tx.done;
  return fields !== null;
}
