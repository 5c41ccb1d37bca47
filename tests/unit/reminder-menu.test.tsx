// @vitest-environment happy-dom
/** The follow-up menu beside the Track switch (issue 19 item 2): days, a date, the condition, in the user's words. */
import { render } from 'preact';
import { act } from 'preact/test-utils';
import { signal } from '@preact/signals';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ReminderMenu,
  dateInputRange,
  dateInputTime,
  isComplete,
  type ReminderChoice,
} from '../../components/ReminderMenu';
import { useLocale } from './i18n-setup';

/** Monday 30 November 2026, 15:20 local. */
const NOW = new Date(2026, 10, 30, 15, 20).getTime();

let container: HTMLElement;
beforeEach(() => {
  document.body.innerHTML = '';
  container = document.createElement('div');
  document.body.append(container);
});
afterEach(async () => {
  render(null, container);
  await useLocale('en');
});

function mount(choice = signal<ReminderChoice | null>(null)) {
  act(() => render(<ReminderMenu choice={choice} now={() => NOW} />, container));
  return choice;
}

const q = <T extends Element>(sel: string) => container.querySelector<T>(sel);

function pick(select: HTMLSelectElement | HTMLInputElement, value: string) {
  act(() => {
    select.value = value;
    select.dispatchEvent(new Event('change', { bubbles: true }));
  });
}

describe('date input rules', () => {
  it('offers tomorrow to a year ahead, as local days', () => {
    expect(dateInputRange(NOW)).toEqual({ min: '2026-12-01', max: '2027-11-30' });
    // Late on 31 December: tomorrow is in the next year.
    expect(dateInputRange(new Date(2026, 11, 31, 23, 59).getTime()).min).toBe('2027-01-01');
  });

  it('a chosen day rings at 9:00 local time; today, the past, impossible days and more than a year ahead do not', () => {
    expect(dateInputTime('2026-12-01', NOW)).toBe(new Date(2026, 11, 1, 9, 0).getTime());
    expect(dateInputTime('2027-11-30', NOW)).toBe(new Date(2027, 10, 30, 9, 0).getTime());
    for (const bad of ['2026-11-30', '2026-11-02', '2027-12-01', '2027-02-30', '2026-13-01', '2026-12-1', '', 'tomorrow']) {
      expect(dateInputTime(bad, NOW), bad).toBeNull();
    }
  });
});

describe('ReminderMenu', () => {
  it('offers none, 1/3/7 days and a date, each with an accessible name; the condition shows once one is chosen', () => {
    const choice = mount();
    const when = q<HTMLSelectElement>('[data-openping="remind-when"]')!;
    expect(when.getAttribute('aria-label')).toBe('Follow-up reminder');
    expect([...when.options].map((o) => [o.value, o.textContent])).toEqual([
      ['', 'No reminder'],
      ['1', 'Remind me in 1 day'],
      ['3', 'Remind me in 3 days'],
      ['7', 'Remind me in 7 days'],
      ['date', 'On a date…'],
    ]);
    expect(q('[data-openping="remind-if"]')).toBeNull();

    pick(when, '3');
    expect(choice.value).toEqual({ condition: 'no-reply', afterDays: 3, at: null });
    const cond = q<HTMLSelectElement>('[data-openping="remind-if"]')!;
    expect(cond.getAttribute('aria-label')).toBe('Remind me if');
    expect([...cond.options].map((o) => o.textContent)).toEqual(['if no reply', 'if not opened']);
    pick(cond, 'not-opened');
    expect(choice.value).toEqual({ condition: 'not-opened', afterDays: 3, at: null });
    pick(q<HTMLSelectElement>('[data-openping="remind-when"]')!, '');
    expect(choice.value).toBeNull();
  });

  it('"On a date…" shows a date input from tomorrow; a valid day is kept at 9:00, an invalid one is refused and said', () => {
    const choice = mount();
    expect(q('[data-openping="remind-date"]')).toBeNull();
    pick(q<HTMLSelectElement>('[data-openping="remind-when"]')!, 'date');
    const input = q<HTMLInputElement>('[data-openping="remind-date"]')!;
    expect(input.type).toBe('date');
    expect(input.getAttribute('aria-label')).toBe('Reminder date');
    expect(input.min).toBe('2026-12-01');
    expect(input.max).toBe('2027-11-30');
    // Nothing is sent for a date not picked yet.
    expect(choice.value).toEqual({ condition: 'no-reply', afterDays: null, at: null });
    expect(isComplete(choice.value)).toBe(false);

    pick(input, '2026-11-30'); // today: too soon
    expect(choice.value!.at).toBeNull();
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(q('[data-openping="remind-error"]')!.getAttribute('role')).toBe('alert');
    expect(q('[data-openping="remind-error"]')!.textContent).toBe('Choose a day from tomorrow to a year from now');
    expect(isComplete(choice.value)).toBe(false);

    pick(q<HTMLInputElement>('[data-openping="remind-date"]')!, '2026-12-04');
    expect(choice.value).toEqual({ condition: 'no-reply', afterDays: null, at: new Date(2026, 11, 4, 9, 0).getTime() });
    expect(isComplete(choice.value)).toBe(true);
    expect(q('[data-openping="remind-date"]')!.getAttribute('aria-invalid')).toBeNull();
    expect(q('[data-openping="remind-error"]')).toBeNull();

    // Back to days: the date goes.
    pick(q<HTMLSelectElement>('[data-openping="remind-when"]')!, '1');
    expect(choice.value).toEqual({ condition: 'no-reply', afterDays: 1, at: null });
    expect(q('[data-openping="remind-date"]')).toBeNull();
  });

  it('is keyboard reachable: native controls only, none taken out of the tab order', () => {
    mount(signal<ReminderChoice | null>({ condition: 'no-reply', afterDays: null, at: null }));
    const controls = [...container.querySelectorAll('select, input')];
    expect(controls.map((c) => c.getAttribute('data-openping'))).toEqual(['remind-when', 'remind-date', 'remind-if']);
    for (const c of controls) {
      expect(c.getAttribute('tabindex')).toBeNull();
      expect(c.getAttribute('aria-label')).toBeTruthy();
    }
  });

  it.each([
    ['de', 'In 3 Tagen erinnern', 'An einem Datum …'],
    ['fr', 'Me le rappeler dans 3 jours', 'À une date…'],
    ['es', 'Recordármelo en 3 días', 'En una fecha…'],
  ])('speaks %s', async (locale, three, onDate) => {
    await useLocale(locale);
    mount();
    const texts = [...q<HTMLSelectElement>('[data-openping="remind-when"]')!.options].map((o) => o.textContent);
    expect(texts[2]).toBe(three);
    expect(texts[4]).toBe(onDate);
    expect(texts.join(' ')).not.toMatch(/Remind|reminder/);
  });
});
