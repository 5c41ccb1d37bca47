/**
 * The English words of the list marks and thread status lines (issue 16), in one small table
 * so they move to the browser's i18n (STYLE §14) as a block.
 */
export const MARK_WORDS = {
  sent: 'Sent — no open yet',
  delivered: 'Delivered — only machines so far, nobody is known to have opened it',
  deliveredApple: 'Delivered to Apple Mail — Apple hides whether it was read',
  opened: (n: number) => `Opened ${n}×`,
  replied: 'Replied',
  lastOpen: 'Last open',
  via: (name: string) => `via ${name}`,
  details: 'Details',
  /** The thread status line: "Opened 2× — last 7 Dec 2026, 14:02 · via Gmail's image proxy". */
  line: (state: string, last: string | null) => (last ? `${state} — last ${last}` : state),
  label: 'OpenPing status',
  unknownLayout: (site: string) => `[openping] ${site} changed: a message list OpenPing does not know is left unmarked`,
} as const;
