/**
 * The popup's follow-up reminders (issue 19 item 2; STYLE §8): due and
 * upcoming reminders, read from IndexedDB; snooze and drop go through the
 * background, which owns the alarms.
 */
import { computed, signal, type ReadonlySignal } from '@preact/signals';
import { browser } from 'wxt/browser';
import { send } from '../messages';
import { listReminders, type Reminder } from '../reminders';
import { DATA_CHANGED } from '../settings';

export interface RemindersModel {
  reminders: ReadonlySignal<Reminder[]>;
  due: ReadonlySignal<Reminder[]>;
  upcoming: ReadonlySignal<Reminder[]>;
  load(): Promise<void>;
  snooze(tracker: string, days: number): Promise<void>;
  drop(tracker: string): Promise<void>;
  watch(): () => void;
}

export function createRemindersModel(now: () => number = Date.now): RemindersModel {
  const reminders = signal<Reminder[]>([]);
  const due = computed(() => reminders.value.filter((r) => r.dueAt <= now()));
  const upcoming = computed(() => reminders.value.filter((r) => r.dueAt > now()));
  async function load() {
    reminders.value = await listReminders();
  }
  return {
    reminders,
    due,
    upcoming,
    load,
    async snooze(tracker, days) {
      await send({ type: 'snoozeReminder', tracker, days });
      await load();
    },
    async drop(tracker) {
      await send({ type: 'dropReminder', tracker });
      await load();
    },
    watch() {
      const listener = (changes: Record<string, unknown>, area: string) => {
        if (area === 'local' && DATA_CHANGED in changes) void load();
      };
      browser.storage.onChanged.addListener(listener);
      return () => browser.storage.onChanged.removeListener(listener);
    },
  };
}
