import { useEffect, useMemo } from 'preact/hooks';
import type { EmailRecord } from '../../lib/db';
import type { Reminder } from '../../lib/reminders';
import { emailTitle, formatTime, recipientLabel } from '../../lib/state/format';
import { createRemindersModel } from '../../lib/state/reminders';

/** Due and upcoming follow-up reminders (issue 19), above the list; nothing when there are none. English until its i18n keys land. */
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
          {r.condition === 'no-reply' ? 'if no reply' : 'if not opened'}
          {who && ` from ${who}`} · {dueSet.has(r.tracker) ? 'due' : formatTime(r.dueAt)}
        </span>{' '}
        <button type="button" data-action="snooze" onClick={() => void model.snooze(r.tracker, 1)}>
          Snooze 1 day
        </button>
        <button type="button" data-action="drop" onClick={() => void model.drop(r.tracker)}>
          Drop
        </button>
      </li>
    );
  };
  return (
    <section class="reminders" data-openping="reminders" aria-label="Follow-up reminders">
      <ul>{[...model.due.value, ...model.upcoming.value].map(row)}</ul>
    </section>
  );
}
