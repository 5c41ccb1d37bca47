/**
 * The follow-up menu next to the Track switch (issue 19 item 2): remind me in
 * 1 / 3 / 7 days, or on a date, if no reply / if not opened. It only sets the
 * compose's choice; lib/compose.ts hands it to the background at send
 * (lib/reminders.ts keeps and fires it).
 */
import { signal, useSignal, type Signal } from '@preact/signals';
import { t } from '../lib/i18n';
import type { ReminderCondition } from '../lib/reminders';

/** The choices offered, in days. Kept here, not in lib/reminders (IndexedDB, alarms): this runs in the webmail page. */
export const REMINDER_DAYS = [1, 3, 7] as const;
/** A date reminder rings at this local hour of its day: the start of a working day, not midnight. */
export const REMINDER_HOUR = 9;
/** How far ahead a date may be (lib/reminders.ts refuses later ones too). */
export const REMINDER_MAX_DAYS = 365;

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

/** Whether a choice names a time (a date not yet picked does not: nothing is sent for it). */
export function isComplete(choice: ReminderChoice | null): choice is ReminderChoice {
  return choice !== null && (choice.afterDays !== null || choice.at !== null);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** A local day as a date input writes it, `YYYY-MM-DD` (html.spec.whatwg.org: "valid date string"). */
export function dateInputValue(at: number): string {
  const d = new Date(at);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The earliest and latest days the date input offers: tomorrow, and a year from now (local days). */
export function dateInputRange(now: number): { min: string; max: string } {
  const today = new Date(now);
  return {
    min: dateInputValue(new Date(today.getFullYear(), today.getMonth(), today.getDate() + 1).getTime()),
    max: dateInputValue(new Date(today.getFullYear(), today.getMonth(), today.getDate() + REMINDER_MAX_DAYS).getTime()),
  };
}

/**
 * When a reminder for a date input's value rings: REMINDER_HOUR local time that day; null for a value
 * that is no day (empty, `2026-02-30`, typed half-way) or outside tomorrow … a year from now.
 */
export function dateInputTime(value: string, now: number): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]) - 1, Number(m[3])];
  const at = new Date(year, month, day, REMINDER_HOUR);
  // Date rolls 30 February over into March: such a day does not exist.
  if (at.getFullYear() !== year || at.getMonth() !== month || at.getDate() !== day) return null;
  const { min, max } = dateInputRange(now);
  // Same-length ISO day strings compare as their days do.
  return value < min || value > max ? null : at.getTime();
}

export function ReminderMenu({ choice, now = Date.now }: { choice: Signal<ReminderChoice | null>; now?: () => number }) {
  const invalid = useSignal(false);
  const current = choice.value;
  // What the date field holds as typed, so an impossible day stays visible beside its error.
  const typed = useSignal(current?.at != null ? dateInputValue(current.at) : '');
  const when = current === null ? '' : current.afterDays !== null ? String(current.afterDays) : 'date';
  const range = dateInputRange(now());
  return (
    <span class="openping-remind" data-openping="remind">
      <select
        aria-label={t('reminders.menuWhen')}
        data-openping="remind-when"
        value={when}
        onChange={(e) => {
          const v = (e.currentTarget as HTMLSelectElement).value;
          const condition = current?.condition ?? 'no-reply';
          invalid.value = false;
          typed.value = '';
          choice.value = v === '' ? null : v === 'date' ? { condition, afterDays: null, at: null } : { condition, afterDays: Number(v), at: null };
        }}
      >
        <option value="">{t('reminders.menuNone')}</option>
        {REMINDER_DAYS.map((d) => (
          <option value={String(d)}>{t('reminders.menuInDays', d)}</option>
        ))}
        <option value="date">{t('reminders.menuOnDate')}</option>
      </select>
      {when === 'date' && (
        <input
          type="date"
          aria-label={t('reminders.menuDate')}
          aria-invalid={invalid.value ? 'true' : undefined}
          aria-errormessage={invalid.value ? 'openping-remind-error' : undefined}
          data-openping="remind-date"
          min={range.min}
          max={range.max}
          value={typed.value}
          onChange={(e) => {
            const input = e.currentTarget as HTMLInputElement;
            typed.value = input.value;
            const at = dateInputTime(input.value, now());
            // An impossible or past day keeps no time; the field says so (and nothing is sent for it).
            invalid.value = input.value !== '' && at === null;
            input.setCustomValidity(invalid.value ? t('reminders.menuDateInvalid') : '');
            if (current) choice.value = { ...current, afterDays: null, at };
          }}
        />
      )}
      {when === 'date' && invalid.value && (
        <span id="openping-remind-error" role="alert" data-openping="remind-error">
          {t('reminders.menuDateInvalid')}
        </span>
      )}
      {current && (
        <select
          aria-label={t('reminders.menuIf')}
          data-openping="remind-if"
          value={current.condition}
          onChange={(e) =>
            (choice.value = { ...current, condition: (e.currentTarget as HTMLSelectElement).value as ReminderCondition })
          }
        >
          <option value="no-reply">{t('reminders.ifNoReply')}</option>
          <option value="not-opened">{t('reminders.ifNotOpened')}</option>
        </select>
      )}
    </span>
  );
}

/** Styles for the menu in the switch's shadow root (lib/compose.ts adds them after the switch's). */
export const reminderCss = `
.openping-remind { display: inline-flex; gap: 4px; align-items: center; }
.openping-remind select, .openping-remind input { font: 13px/18px system-ui, sans-serif; color: #3c4043; }
.openping-remind [aria-invalid="true"] { outline: 2px solid #d93025; }
[data-openping="remind-error"] { font: 12px system-ui, sans-serif; color: #d93025; }
`;
