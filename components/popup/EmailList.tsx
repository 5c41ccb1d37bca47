import { useSignal } from '@preact/signals';
import { useLayoutEffect, useRef } from 'preact/hooks';
import { isAnyApp } from '../../lib/anyapp';
import type { EmailRecord } from '../../lib/db';
import { t } from '../../lib/i18n';
import { emailState, emailSubstate, emailTitle, recipientLabel, statusLine, timeAgo } from '../../lib/state/format';

/** Fixed row height: the list renders only the rows in view, so 10,000 emails cost what 10 do. */
export const ROW_HEIGHT = 64;
const OVERSCAN = 6;
export const FIRST_ROWS_MARK = 'openping:first-rows';

interface Props {
  emails: EmailRecord[];
  /** Rows known to exist but not read yet (scroll height before the full read). */
  total: number;
  onOpen(tracker: string): void;
}

export function EmailRow({
  email,
  top,
  position,
  count,
  onOpen,
}: {
  email: EmailRecord;
  top: number;
  /** 1-based place in the whole list, and the list's length: only a window of rows is in the DOM. */
  position?: number;
  count?: number;
  onOpen(t: string): void;
}) {
  const state = emailState(email);
  const substate = emailSubstate(email);
  const to = recipientLabel(email.recipients);
  return (
    <li
      data-openping="email"
      data-state={state}
      data-substate={substate ?? undefined}
      data-tracker={email.tracker}
      data-source={email.source ?? 'webmail'}
      class={`row row--${state}${substate ? ` row--${substate}` : ''}`}
      style={{ transform: `translateY(${top}px)` }}
      aria-posinset={position}
      aria-setsize={count}
    >
      <button type="button" class="row__button" onClick={() => onOpen(email.tracker)}>
        <span class="row__top">
          <span class="row__subject">{emailTitle(email)}</span>
          <span class="row__time">{email.sentAt !== null ? timeAgo(email.sentAt) : ''}</span>
        </span>
        <span class="row__to">{to ? t('popup.rowTo', { who: to }) : isAnyApp(email) ? t('anyApp.source') : '\u00a0'}</span>
        <span class={`row__status row__status--${state}`}>
          <span class="dot" aria-hidden="true" />
          {statusLine(email)}
        </span>
      </button>
    </li>
  );
}

/** Row index that a key moves the focus to from `index`, or null for keys the list does not handle. */
export function rowAfterKey(key: string, index: number, length: number, perPage: number): number | null {
  const last = length - 1;
  switch (key) {
    case 'ArrowDown':
      return Math.min(index + 1, last);
    case 'ArrowUp':
      return Math.max(index - 1, 0);
    case 'PageDown':
      return Math.min(index + perPage, last);
    case 'PageUp':
      return Math.max(index - perPage, 0);
    case 'Home':
      return 0;
    case 'End':
      return last;
    default:
      return null;
  }
}

export function EmailList({ emails, total, onOpen }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const scrollTop = useSignal(0);
  const height = useSignal(440);
  /** A row the keyboard moved to that was not rendered yet: focused once it is (after the scroll). */
  const pendingFocus = useRef<number | null>(null);

  const focusRow = (index: number): boolean => {
    const button = scroller.current?.querySelector<HTMLButtonElement>(`[aria-posinset="${index + 1}"] .row__button`);
    if (!button) return false;
    button.focus();
    return true;
  };

  useLayoutEffect(() => {
    if (pendingFocus.current !== null && focusRow(pendingFocus.current)) pendingFocus.current = null;
  });

  /**
   * Arrow keys, Page Up/Down, Home and End move between rows (the WAI-ARIA APG's listbox keys,
   * w3.org/WAI/ARIA/apg/patterns/listbox/); Tab still walks every row's button. The target row is
   * scrolled into view first, since only the rows in view exist.
   */
  const onKeyDown = (event: KeyboardEvent) => {
    const el = scroller.current;
    const from = (event.target as HTMLElement).closest('[aria-posinset]')?.getAttribute('aria-posinset');
    if (!el || !from) return;
    const to = rowAfterKey(event.key, Number(from) - 1, emails.length, Math.max(1, Math.floor(el.clientHeight / ROW_HEIGHT) - 1));
    if (to === null) return;
    event.preventDefault();
    const top = to * ROW_HEIGHT;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_HEIGHT > el.scrollTop + el.clientHeight) el.scrollTop = top + ROW_HEIGHT - el.clientHeight;
    scrollTop.value = el.scrollTop;
    if (!focusRow(to)) pendingFocus.current = to;
  };

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    height.value = el.clientHeight || height.value;
    const observer = new ResizeObserver(() => (height.value = el.clientHeight || height.value));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  useLayoutEffect(() => {
    // Read by tests/bench/popup.bench.ts: when the first rows are in the DOM, relative to navigation start.
    if (emails.length > 0 && performance.getEntriesByName(FIRST_ROWS_MARK).length === 0) performance.mark(FIRST_ROWS_MARK);
  }, [emails.length > 0]);

  const count = Math.max(emails.length, total);
  const first = Math.max(0, Math.floor(scrollTop.value / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(emails.length, Math.ceil((scrollTop.value + height.value) / ROW_HEIGHT) + OVERSCAN);
  const rows = [];
  for (let i = first; i < last; i++) {
    const email = emails[i]!;
    rows.push(<EmailRow key={email.tracker} email={email} top={i * ROW_HEIGHT} position={i + 1} count={count} onOpen={onOpen} />);
  }

  return (
    <div
      class="list"
      ref={scroller}
      data-openping="list"
      onScroll={(e) => (scrollTop.value = (e.currentTarget as HTMLDivElement).scrollTop)}
    >
      {/* The list's length is on each row (aria-setsize): aria-rowcount is for grids and tables, not lists. */}
      <ul class="list__inner" style={{ height: `${count * ROW_HEIGHT}px` }} onKeyDown={onKeyDown}>
        {rows}
      </ul>
    </div>
  );
}
