/**
 * The follow-up menu next to the Track switch (issue 19 item 2): remind me in
 * 1 / 3 / 7 days if no reply / if not opened. It only sets the compose's
 * choice; lib/compose.ts hands it to the background at send
 * (lib/reminders.ts keeps and fires it).
 */
import { signal, type Signal } from '@preact/signals';
import type { ReminderCondition } from '../lib/reminders';

/** The choices offered, in days. Kept here, not in lib/reminders (IndexedDB, alarms): this runs in the webmail page. */
export const REMINDER_DAYS = [1, 3, 7] as const;

export interface ReminderChoice {
  condition: ReminderCondition;
  afterDays: number | null;
  at: number | null;
}

const choices = new WeakMap<HTMLElement, Signal<ReminderChoice | null>>();

/** The reminder chosen in the compose rooted at `root` (null: none). */
export function reminderChoiceFor(root: HTMLElement): Signal<ReminderChoice | null> {
  let choice = choices.get(root);
  if (!choice) choices.set(root, (choice = signal<ReminderChoice | null>(null)));
  return choice;
}

/** The browser's words for the menu are English until the i18n keys land (lib/i18n.ts; issue 19 left this). */
export function ReminderMenu({ choice }: { choice: Signal<ReminderChoice | null> }) {
  const current = choice.value;
  const when = current?.afterDays ? String(current.afterDays) : current?.at ? 'date' : '';
  return (
    <span class="openping-remind" data-openping="remind">
      <select
        aria-label="Remind me"
        data-openping="remind-when"
        value={when}
        onChange={(e) => {
          const v = (e.currentTarget as HTMLSelectElement).value;
          choice.value = v === '' ? null : { condition: current?.condition ?? 'no-reply', afterDays: Number(v), at: null };
        }}
      >
        <option value="">No reminder</option>
        {REMINDER_DAYS.map((d) => (
          <option value={String(d)}>{d === 1 ? 'Remind in 1 day' : `Remind in ${d} days`}</option>
        ))}
      </select>
      {current && (
        <select
          aria-label="Remind if"
          data-openping="remind-if"
          value={current.condition}
          onChange={(e) =>
            (choice.value = { ...current, condition: (e.currentTarget as HTMLSelectElement).value as ReminderCondition })
          }
        >
          <option value="no-reply">if no reply</option>
          <option value="not-opened">if not opened</option>
        </select>
      )}
    </span>
  );
}
