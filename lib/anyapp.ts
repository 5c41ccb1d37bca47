/**
 * A tracking pixel for any mail app (issue 20): the popup copies the pixel of
 * SPEC §6 to the clipboard, the user pastes it into Apple Mail, Outlook,
 * Thunderbird or a phone and sends from there. Pure rules here (no browser
 * APIs); the background's handlers and the popup's model call them.
 *
 * When it was sent: the server turns the tracker `sent` at its first fetch from
 * a network the account's API calls never came from (backend/anysend.ts), and
 * the feed shows it as the first hit that is not `presend`; or the user says
 * "I sent it" (a PUT `sent`). Whichever came first wins, as on the server.
 */
import type { EmailRecord, HitRecord } from './db';
import { t, uiLocale } from './i18n';
import { pixelUrl } from './pixel';

export type EmailSource = NonNullable<EmailRecord['source']>;

export function isAnyApp(email: Pick<EmailRecord, 'source'>): boolean {
  return email.source === 'another-app';
}

/** Exactly the `<img>` of SPEC §6: what a rich-text compose inserts as an invisible image. */
export function pixelHtml(pixelBase: string, tracker: string): string {
  return `<img src="${escapeAttribute(pixelUrl(pixelBase, tracker))}" width="1" height="1" alt="">`;
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/**
 * What a plain-text compose gets instead: a line that says what it is, so a user who sees it in a
 * message deletes it rather than sends it (pasted as text, an image does nothing).
 */
export function pixelPlainText(pixelBase: string, tracker: string): string {
  return t('anyApp.plainText', { url: pixelUrl(pixelBase, tracker) });
}

/** "Untitled message 14:05" for a label left empty; labels are cut to 200 characters. */
export function labelOrDefault(label: string, now: Date): string {
  const text = label.trim().slice(0, 200);
  if (text) return text;
  return t('anyApp.untitled', { time: now.toLocaleTimeString(uiLocale(), { hour: '2-digit', minute: '2-digit' }) });
}

/** The record of a pixel just copied, before it is sent. */
export function anyAppRecordFields(label: string, autoSend: boolean, now: number): Partial<EmailRecord> {
  return { subject: label, source: 'another-app', autoSend, tracking: 'armed', sentAt: null, sortAt: now };
}

/**
 * A feed hit that is not `presend` means the server has the tracker sent: for an email still waiting
 * here, its earliest such hit is the send (sentBy `first-fetch`). One the user marked sent later than
 * that hit was sent by the fetch first, as the server keeps it.
 */
export function applyServerSend(email: EmailRecord, hits: readonly HitRecord[]): EmailRecord {
  if (!isAnyApp(email) || email.tracking === 'stopped') return email;
  let first: number | null = null;
  for (const hit of hits) if (hit.kind !== 'presend' && (first === null || hit.at < first)) first = hit.at;
  if (first === null) return email;
  if (email.tracking === 'sent' && email.sentAt !== null && email.sentAt <= first) return email;
  return { ...email, tracking: 'sent', sentAt: first, sortAt: Math.max(email.sortAt, first), sentBy: 'first-fetch' };
}

/** An "I sent it" from the popup. */
export function markedSent(email: EmailRecord, now: number): EmailRecord {
  return { ...email, tracking: 'sent', sentAt: now, sentBy: 'you' };
}

/** A fetch this soon after sending, from the network and app that showed the draft, is probably the sender's. */
export const PROBABLY_YOU_WINDOW_MS = 60 * 60_000;

export interface ProbablyYou {
  /** The draft fetch it matches. */
  draft: HitRecord;
  /** Milliseconds after sending. */
  after: number;
}

function sameClient(a: HitRecord['client'], b: HitRecord['client']): boolean {
  if (a === null || b === null) return a === b;
  return a.name === b.name && a.os === b.os;
}

/**
 * Opens of a pasted pixel that are probably the sender's own: within PROBABLY_YOU_WINDOW_MS after
 * sending, from the same network (/24 or /48) and the same app (name and system) as a fetch of the
 * draft. Where the sender reads the sent copy in the app they wrote it in, its fetch looks exactly
 * like a recipient's to the server; a colleague on the same office network with the same app would
 * look the same too, hence "probably", and the user says which it was ("This was me").
 */
export function probablyYou(email: Pick<EmailRecord, 'source' | 'sentAt'>, hits: readonly HitRecord[]): Map<string, ProbablyYou> {
  const found = new Map<string, ProbablyYou>();
  if (!isAnyApp(email) || email.sentAt === null) return found;
  const drafts = hits.filter((h) => h.kind === 'presend' && h.network !== null);
  if (drafts.length === 0) return found;
  for (const hit of hits) {
    if (hit.kind !== 'open' || hit.network === null) continue;
    const after = hit.at - email.sentAt;
    if (after < 0 || after > PROBABLY_YOU_WINDOW_MS) continue;
    const draft = drafts.find((d) => d.network!.prefix === hit.network!.prefix && sameClient(d.client, hit.client));
    if (draft) found.set(hit.id, { draft, after });
  }
  return found;
}

/** The hits that count for an email: an another-app email's probable own views are left out of its opens. */
export function countedHits(email: Pick<EmailRecord, 'source' | 'sentAt'>, hits: readonly HitRecord[]): readonly HitRecord[] {
  const own = probablyYou(email, hits);
  return own.size === 0 ? hits : hits.filter((h) => !own.has(h.id));
}

export type Verdict = 'keeps' | 'inlines' | 'strips' | 'unsure';

/**
 * What each mail app does to a pasted remote image, as docs/any-app.md found it (sources there, 2026-12):
 * `keeps` sends it as a remote image, fetched when the recipient views the message; `inlines` sends a
 * copy inside the message (never fetched); `strips` drops it or sends plain text; `unsure`: no source
 * found. The popup warns for every verdict but `keeps`.
 */
export const MAIL_APPS: ReadonlyArray<{ id: string; verdict: Verdict }> = [
  { id: 'thunderbird', verdict: 'keeps' },
  { id: 'outlook-windows', verdict: 'inlines' },
  { id: 'outlook-new', verdict: 'unsure' },
  { id: 'outlook-mac', verdict: 'unsure' },
  { id: 'apple-mail', verdict: 'unsure' },
  { id: 'gmail-mobile', verdict: 'strips' },
  { id: 'outlook-mobile', verdict: 'strips' },
];
