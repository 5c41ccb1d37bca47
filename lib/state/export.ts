/** "Export all as CSV": one row per hit, joined with its email; emails without hits get one row of their own. */
import type { EmailRecord, HitRecord } from '../db';
import { emailState, placeOf } from './format';

export const CSV_COLUMNS = [
  'tracker',
  'subject',
  'recipients',
  'webmail',
  'sent_at',
  'state',
  'opens',
  'thread_url',
  'hit_id',
  'hit_at',
  'hit_kind',
  'hit_via',
  'hit_reason',
  'hit_place',
  'hit_network',
  'hit_asn',
  'hit_client',
] as const;

/**
 * RFC 4180 quoting; cells starting with = + - @ (or tab/CR) get a leading
 * apostrophe so a spreadsheet never runs a subject as a formula (OWASP "CSV Injection").
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());

export function toCsv(emails: readonly EmailRecord[], hitsByTracker: ReadonlyMap<string, readonly HitRecord[]>): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const email of emails) {
    const base = [
      email.tracker,
      email.subject ?? '',
      email.recipients.map((r) => (r.name ? `${r.name} <${r.address}>` : r.address)).join('; '),
      email.webmail ?? '',
      iso(email.sentAt),
      emailState(email),
      email.opens,
      email.threadUrl ?? '',
    ];
    const hits = [...(hitsByTracker.get(email.tracker) ?? [])].sort((a, b) => a.at - b.at);
    if (hits.length === 0) {
      lines.push([...base, '', '', '', '', '', '', '', '', ''].map(csvCell).join(','));
      continue;
    }
    for (const hit of hits) {
      lines.push(
        [
          ...base,
          hit.id,
          iso(hit.at),
          hit.kind,
          hit.via ?? '',
          hit.reason,
          placeOf(hit) ?? '',
          hit.network?.org ?? hit.network?.prefix ?? '',
          hit.network?.asn ?? '',
          hit.client?.name ?? '',
        ]
          .map(csvCell)
          .join(','),
      );
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}
