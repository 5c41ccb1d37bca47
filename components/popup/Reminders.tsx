import { useEffect, useMemo } from 'preact/hooks';
import type { EmailRecord } from '../../lib/db';
import { t } from '../../lib/i18n';
import type { Reminder } from '../../lib/reminders';
import { emailTitle, formatTime, recipientLabel } from '../../lib/state/format';
import { createRemindersModel } from '../../lib/state/reminders';

/** "if no reply from Ada" / "if not opened": each language orders the words its own way. */
function conditionText(condition: Reminder['condition'], who: string): string {
  if (condition === 'no-reply') return who ? t('reminders.ifNoReplyFrom', { who }) : t('reminders.ifNoReply');
  return who ? t('reminders.ifNotOpenedFrom', { who }) : t('reminders.ifNotOpened');
}

/** Due and upcoming follow-up reminders (issue 19), above the list; nothing when there are none. */
export function Reminders({ emails, onOpen }: { emails: readonly EmailRecord[]; onOpen: (tracker: string) => void }) {
  const model = useMemo(() => createRemindersModel(), []);
  useEffect(() => {
    void model.load();
    return model.watch();
  }, [model]);
  const all = model.reminders.value;
  if (all.length === 0) return null;
  const dueSet = new Set(model.due.value.map((r) => r.tracker));
  const row = (r: Reminder) => {
    const email = emails.find((e) => e.tracker === r.tracker);
    const subject = email ? emailTitle(email) : r.tracker;
    const who = email ? recipientLabel(email.recipients, 1) : '';
    return (
      <li data-openping="reminder" data-due={dueSet.has(r.tracker) ? 'true' : 'false'} key={r.tracker}>
        <button type="button" class="link" onClick={() => onOpen(r.tracker)}>
          {subject}
        </button>{' '}
        <span class="hint">
          {conditionText(r.condition, who)} · {dueSet.has(r.tracker) ? t('reminders.due') : formatTime(r.dueAt)}
        </span>{' '}
        <button type="button" data-action="snooze" onClick={() => void model.snooze(r.tracker, 1)}>
          {t('reminders.snooze')}
        </button>
        <button type="button" data-action="drop" onClick={() => void model.drop(r.tracker)}>
          {t('reminders.drop')}
        </button>
      </li>
    );
  };
  return (
    <section class="reminders" data-openping="reminders" aria-label={t('reminders.label')}>
      <ul>{[...model.due.value, ...model.upcoming.value].map(row)}</ul>
    </section>
  );
}
