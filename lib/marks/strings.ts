/**
 * The words of the list marks and thread status lines (issue 16), through the browser's
 * i18n (STYLE §14, locales/*.yml `marks.*`). The one log line stays English: users do not see it.
 */
import { t } from '../i18n';

export const MARK_WORDS = {
  sent: () => t('marks.sent'),
  delivered: () => t('marks.delivered'),
  deliveredApple: () => t('marks.deliveredApple'),
  opened: (n: number) => t('marks.opened', { count: String(n) }),
  replied: () => t('marks.replied'),
  lastOpen: (when: string) => t('marks.lastOpen', { when }),
  via: (name: string) => t('marks.via', { name }),
  details: () => t('marks.details'),
  label: () => t('marks.label'),
  mute: () => t('marks.mute'),
  unmute: () => t('marks.unmute'),
  muted: () => t('marks.muted'),
  /** The thread status line: "Opened 2× — last 7 Dec 2026, 14:02 · via Gmail's image proxy". */
  line: (state: string, last: string | null) => (last ? t('marks.line', { state, when: last }) : state),
  unknownLayout: (site: string) => `[openping] ${site} changed: a message list OpenPing does not know is left unmarked`,
} as const;
