/**
 * Replies seen from the page (issue 19, item 1): the rules that turn what the
 * user's own Gmail or Outlook tab shows about a tracked message's thread into
 * the `replied` state (SPEC §1). Pure functions: the page readers
 * (lib/webmail/features/replies-*.ts) hand in what they read, the background
 * stores the verdict. Nothing here leaves the browser.
 *
 * A thread is found by the id kept at send (the thread link), never by its
 * subject: a recipient may rename the thread, and a subject is not unique.
 */
import type { Recipient } from './webmail/types';

/** One message of a thread, as the page shows it. */
export interface ThreadMessage {
  from: Recipient;
  /** Epoch ms the page gives for it; null when the page does not say (then no reply is guessed from it). */
  at: number | null;
  /** Its own subject when the page shows one (a forward is not a reply). */
  subject?: string | null;
}

/** A reply: who, and when (as the page showed them). */
export interface Reply {
  by: Recipient;
  at: number;
  /** Everyone else who replied too, first to last (a message sent to several people). */
  others: Recipient[];
}

function same(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

function isOwn(address: string, own: readonly string[]): boolean {
  return own.some((o) => same(o, address));
}

/**
 * Whether a message to these recipients may be tracked: mail to oneself (every recipient is one of the
 * user's own addresses) never is — its only reader is the sender.
 */
export function trackable(recipients: readonly Recipient[], own: readonly string[]): boolean {
  return recipients.some((r) => r.address.trim() !== '' && !isOwn(r.address, own));
}

/** A forward's subject prefix in the languages the webmails write (Gmail "Fwd:", Outlook "FW:", "WG:", "TR:", "RV:", "Enc:"). */
const FORWARD = /^\s*(fwd?|wg|tr|rv|enc|doorst)\s*:/i;

export function isForward(subject: string | null): boolean {
  return subject !== null && FORWARD.test(subject);
}

/**
 * The first reply to a message sent at `sentAt`, from the thread's messages: a later message from anyone
 * but the user — a recipient, a colleague in Cc, someone a recipient brought in. The sender's own later
 * messages (a follow-up, a forwarded copy) never count; a message the page gives no time for is not
 * guessed at. Null when there is none.
 */
export function findReply(sentAt: number, messages: readonly ThreadMessage[], own: readonly string[]): Reply | null {
  if (own.length === 0) return null; // Not knowing who "someone else" is, nothing is guessed.
  const replies = messages
    .filter((m): m is ThreadMessage & { at: number } => m.at !== null && m.at > sentAt)
    .filter((m) => m.from.address.trim() !== '' && !isOwn(m.from.address, own))
    // A recipient forwarding the message back (to the user or with the user in copy) passes it on; it answers nothing.
    .filter((m) => !isForward(m.subject ?? null))
    .sort((a, b) => a.at - b.at);
  const first = replies[0];
  if (!first) return null;
  const others: Recipient[] = [];
  for (const m of replies.slice(1)) {
    if (!same(m.from.address, first.from.address) && !others.some((o) => same(o.address, m.from.address))) others.push(m.from);
  }
  return { by: first.from, at: first.at, others };
}

const MONTH = /\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\b/i;

/**
 * A date as a page shows it in the user's language, when it can be read without guessing: ISO, an
 * English month name ("Mon, Dec 7, 2026 10:42 AM"), day-first dotted dates ("Mo 07.12.2026 10:42",
 * German and others that write them) and slashed dates only where the page's language orders them
 * month-first (en-US). "07/12/2026" elsewhere may be either — null, and no reply is guessed from it.
 * A time without a year ("Mon 10:42", "Yesterday") is null too.
 */
export function parseShownTime(text: string | null | undefined, lang: string): number | null {
  const shown = text?.replace(/[\u200e\u200f\u202a-\u202e]/g, '').trim();
  if (!shown) return null;
  const dotted = /\b(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})(?:\D+(\d{1,2}):(\d{2}))?/.exec(shown);
  if (dotted) {
    const [, d, m, y, h = '0', min = '0'] = dotted;
    const at = new Date(Number(y), Number(m) - 1, Number(d), Number(h), Number(min)).getTime();
    return Number(d) <= 31 && Number(m) <= 12 ? at : null;
  }
  const iso = /^\d{4}-\d{2}-\d{2}T/.test(shown);
  const slashed = /\d{1,2}\/\d{1,2}\/\d{4}/.test(shown);
  if (!iso && !MONTH.test(shown) && !(slashed && /^en-us$/i.test(lang.trim()))) return null;
  if (!/\d{4}/.test(shown)) return null;
  const at = Date.parse(shown);
  return Number.isFinite(at) ? at : null;
}

/** A thread message as a page reader gives it: with the OpenPing trackers whose pixel it carries (the user's sent message). */
export interface ReadMessage extends ThreadMessage {
  trackers: string[];
}

/** Every tracked message of an open thread that has a reply, with the reply (found by its pixel, never its subject). */
export function trackedReplies(messages: readonly ReadMessage[], own: readonly string[]): { tracker: string; reply: Reply }[] {
  const found: { tracker: string; reply: Reply }[] = [];
  for (const message of messages) {
    if (message.at === null) continue;
    for (const tracker of message.trackers) {
      const reply = findReply(message.at, messages, own);
      if (reply) found.push({ tracker, reply });
    }
  }
  return found;
}

/**
 * What a list row tells without opening the thread: a count of messages and the participants'
 * names. A row proves a reply only when it shows more messages than at send and a participant who
 * is not the user; it names every such participant (the first shown first) and is dated by the
 * row's last message — the open thread tells more exactly who wrote when.
 */
export function replyFromRow(
  row: { count: number; participants: readonly Recipient[]; lastAt: number | null },
  sent: { count: number; at: number },
  own: readonly string[],
): Reply | null {
  if (own.length === 0) return null; // Not knowing who "someone else" is, nothing is guessed.
  if (row.count <= sent.count || row.lastAt === null || row.lastAt <= sent.at) return null;
  const others = row.participants.filter((p) => p.address.trim() !== '' && !isOwn(p.address, own));
  const unique = others.filter((p, i) => others.findIndex((q) => same(q.address, p.address)) === i);
  // Several people replied (a message to several, a colleague in Cc): the first shown, and the rest.
  return unique[0] ? { by: unique[0], at: row.lastAt, others: unique.slice(1) } : null;
}

/** Who replied, in a few words: "Ada Lovelace" / "Ada Lovelace +2". */
export function replierLabel(reply: Pick<Reply, 'by' | 'others'>): string {
  const name = reply.by.name?.trim() || reply.by.address;
  return reply.others.length > 0 ? `${name} +${reply.others.length}` : name;
}

/** The reply as the email record keeps it (EmailRecord.repliedAt/repliedBy/repliedOthers). */
export interface ReplyFields {
  repliedAt: number;
  repliedBy: Recipient;
  repliedOthers: Recipient[];
}

/**
 * The email's reply fields after the page showed `reply`: the earliest reply wins (a later look at the
 * thread adds who else replied); null when nothing changes. Mail to oneself is never marked.
 */
export function mergeReply(
  email: { recipients: readonly Recipient[]; repliedAt?: number | null; repliedBy?: Recipient | null; repliedOthers?: Recipient[] | null },
  reply: Reply,
  own: readonly string[],
): ReplyFields | null {
  if (!trackable(email.recipients, own)) return null;
  const people = [reply.by, ...reply.others];
  if (email.repliedAt == null || !email.repliedBy) return { repliedAt: reply.at, repliedBy: reply.by, repliedOthers: reply.others };
  const known = [email.repliedBy, ...(email.repliedOthers ?? [])];
  const added = people.filter((p) => !known.some((k) => same(k.address, p.address)));
  const earlier = reply.at < email.repliedAt;
  if (!earlier && added.length === 0) return null;
  if (earlier) {
    const rest = [...known, ...added].filter((p) => !same(p.address, reply.by.address));
    return { repliedAt: reply.at, repliedBy: reply.by, repliedOthers: rest };
  }
  return { repliedAt: email.repliedAt, repliedBy: email.repliedBy, repliedOthers: [...(email.repliedOthers ?? []), ...added] };
}
