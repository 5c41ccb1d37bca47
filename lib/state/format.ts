/**
 * Plain-words formatting shared by the popup and the notifications. Pure
 * functions but for the words, which come from the browser's i18n in the
 * user's language (lib/i18n.ts).
 */
import type { EmailRecord, HitRecord } from '../db';
import { t, uiLocale, viaWords } from '../i18n';
import type { Recipient } from '../webmail/types';

export type EmailState = 'sent' | 'delivered' | 'opened' | 'replied';

/** Kinds that tell "the recipient's mail system has it" without a person (SPEC §1 `delivered`). */
export const MACHINE_KINDS = new Set(['prefetch', 'scanner', 'bot']);

export function emailState(email: Pick<EmailRecord, 'opens' | 'machineHits' | 'repliedAt'>): EmailState {
  // A reply proves delivery and reading, whatever the pixel saw (SPEC §1 `replied`; issue 19).
  if (email.repliedAt != null) return 'replied';
  if (email.opens > 0) return 'opened';
  if (email.machineHits > 0) return 'delivered';
  return 'sent';
}

/**
 * What the UI can say beyond the state: `apple-mpp` when an email is `delivered` and every machine hit
 * is Apple Mail Privacy Protection's fetch on delivery — Apple hides whether it was read (SPEC §1).
 * The state stays `delivered`; this only words it.
 */
export type EmailSubstate = 'apple-mpp' | 'not-sent';

/** `not-sent`: a pixel copied for another mail app (lib/anyapp.ts) that has not been sent yet; the state stays `sent`. */
export function emailSubstate(
  email: Pick<EmailRecord, 'opens' | 'machineHits' | 'appleMppHits' | 'repliedAt'> & Partial<Pick<EmailRecord, 'tracking' | 'source'>>,
): EmailSubstate | null {
  if (email.tracking === 'armed' && email.source === 'another-app') return 'not-sent';
  // Records seeded outside lib/sync (an old backup, a test page) may lack the count: no claim then.
  const mpp = email.appleMppHits ?? 0;
  return emailState(email) === 'delivered' && mpp > 0 && mpp === email.machineHits ? 'apple-mpp' : null;
}

export function recipientLabel(recipients: readonly Recipient[], max = 2): string {
  if (recipients.length === 0) return '';
  const names = recipients.slice(0, max).map(recipientName);
  const more = recipients.length - names.length;
  return more > 0 ? `${names.join(', ')} +${more}` : names.join(', ');
}

/** What to call a recipient in a few words: the name, or the address when there is none. */
export function recipientName(r: Recipient): string {
  return r.name?.trim() || r.address;
}

/**
 * A recipient in full: "Ada Lovelace <ada@example.com>", or the address alone
 * when the name is missing or is the address itself (webmails fill the name
 * with the address for a recipient typed in by hand).
 */
export function recipientFull(r: Recipient): string {
  const name = r.name?.trim();
  return name && name.toLowerCase() !== r.address.trim().toLowerCase() ? `${name} <${r.address}>` : r.address;
}

export function emailTitle(email: Pick<EmailRecord, 'subject' | 'tracker'>): string {
  if (email.subject === null) return t('email.otherBrowser', { id: email.tracker.slice(0, 8) });
  return email.subject.trim() || t('email.noSubject');
}

/** "Berlin, DE"; null when the hit has no place. */
export function placeOf(hit: Pick<HitRecord, 'geo'>): string | null {
  const geo = hit.geo;
  if (!geo) return null;
  const parts = [geo.city ?? geo.region, geo.country].filter((p): p is string => !!p);
  return parts.length ? parts.join(', ') : null;
}

/**
 * Security gateways, by vendor: product names, the same in every language. The
 * providers' proxies are worded in the locales (`via.*`, lib/i18n.ts viaWords).
 */
const VIA_NAMES: Record<string, string> = {
  // Security gateways, by vendor (backend/classify/data/networks.ts, network.ts).
  'microsoft-defender': 'Microsoft Defender for Office 365',
  'microsoft-office': 'Microsoft Office',
  mimecast: 'Mimecast',
  proofpoint: 'Proofpoint',
  barracuda: 'Barracuda',
  cisco: 'Cisco Secure Email',
  'trend-micro': 'Trend Micro',
  zix: 'Zix',
  appriver: 'AppRiver',
  symantec: 'Symantec Email Security',
  hornetsecurity: 'Hornetsecurity',
  retarus: 'Retarus',
};

export function viaLabel(via: string | null): string | null {
  if (!via) return null;
  return viaWords(via) ?? VIA_NAMES[via] ?? via;
}

/** The network in a few words: "Deutsche Telekom AG" or the prefix. */
export function networkOf(hit: Pick<HitRecord, 'network'>): string | null {
  const n = hit.network;
  if (!n) return null;
  return n.org ?? (n.asn !== null ? `AS${n.asn}` : n.prefix);
}

/** "via Gmail's image proxy" when a provider proxy fetched it, else null. */
function proxyLabel(hit: Pick<HitRecord, 'via'>): string | null {
  // A provider proxy's address says where the proxy is, not where the reader is.
  const via = viaLabel(hit.via);
  return via && hit.via?.endsWith('-proxy') ? t('popup.via', { via }) : null;
}

/** Where the reader was, for a row: the place, or the proxy that hides it. */
export function readerPlace(hit: Pick<HitRecord, 'geo' | 'via'>): string | null {
  return proxyLabel(hit) ?? placeOf(hit);
}

/** Where an open came from, for a notification: place and network, else the intermediary. */
export function originLabel(hit: Pick<HitRecord, 'geo' | 'via' | 'network'>): string {
  return proxyLabel(hit) ?? [placeOf(hit), networkOf(hit)].filter(Boolean).join(' · ');
}

export function timeAgo(at: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 45) return t('time.justNow');
  const m = Math.round(s / 60);
  if (m < 60) return t('time.minutesAgo', { n: String(m) });
  const h = Math.round(m / 60);
  if (h < 24) return t('time.hoursAgo', { n: String(h) });
  const d = Math.round(h / 24);
  if (d < 30) return t('time.daysAgo', { n: String(d) });
  return new Date(at).toLocaleDateString(uiLocale());
}

export function formatTime(at: number): string {
  return new Date(at).toLocaleString(uiLocale(), { dateStyle: 'medium', timeStyle: 'short' });
}

/** "Opened 3× · last 5 min ago · Berlin, DE" / "Delivered — …" / "Delivered to Apple Mail — …" / "Sent 2 h ago — …". */
export function statusLine(email: EmailRecord, now = Date.now()): string {
  if (emailSubstate(email) === 'not-sent') return t('reply.notSent');
  const state = emailState(email);
  if (state === 'replied') return replyLine(email, now);
  if (state === 'opened') {
    const parts = [t('status.opened', { count: String(email.opens) })];
    if (email.lastOpenAt !== null) parts.push(t('status.lastOpen', { ago: timeAgo(email.lastOpenAt, now) }));
    if (email.lastOpenPlace) parts.push(email.lastOpenPlace);
    return parts.join(' · ');
  }
  if (email.sentAt !== null && email.sentAt > now + 60_000 && state === 'sent') {
    return t('status.scheduled', { time: formatTime(email.sentAt) });
  }
  if (state === 'delivered') {
    return emailSubstate(email) === 'apple-mpp' ? t('status.deliveredApple') : t('status.delivered');
  }
  return email.sentAt !== null ? t('status.sentNotOpened', { ago: timeAgo(email.sentAt, now) }) : t('status.notOpened');
}

/**
 * "Replied by Ada Lovelace +1 · 2 h ago — seen in your inbox", and when the pixel saw no person
 * (machine fetches only, or nothing): that opens could not be observed (issue 19).
 */
export function replyLine(email: EmailRecord, now = Date.now()): string {
  const name = email.repliedBy ? email.repliedBy.name?.trim() || email.repliedBy.address : t('reply.someone');
  const by = email.repliedOthers?.length ? `${name} +${email.repliedOthers.length}` : name;
  const line =
    email.repliedAt != null
      ? t('reply.lineWhen', { by, ago: timeAgo(email.repliedAt, now) })
      : t('reply.line', { by });
  if (email.opens > 0) return t('reply.opened', { line, count: String(email.opens) });
  return t('reply.unobserved', { line });
}

/**
 * Under the status of an Apple Mail reader's email (`apple-mpp`), in the detail. MPP loads remote images
 * on delivery, read or not, through Apple's relay (RESEARCH §1), so its fetches say nothing of reading.
 */
export function appleMppNote(): string {
  return t('status.appleNote');
}

export function kindLabel(kind: HitRecord['kind']): string {
  return t(`kind.${kind}`);
}

/** Why a non-open hit does not count, in words (shown under the reason); null for an open. */
export function kindExplanation(kind: HitRecord['kind']): string | null {
  return kind === 'open' ? null : t(`kindWhy.${kind}`);
}
