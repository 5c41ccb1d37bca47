import { useSignal } from '@preact/signals';
import { useLayoutEffect, useRef } from 'preact/hooks';
import type { EmailRecord } from '../../lib/db';
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

export function EmailRow({ email, top, onOpen }: { email: EmailRecord; top: number; onOpen(t: string): void }) {
  const state = emailState(email);
  const substate = emailSubstate(email);
  const to = recipientLabel(email.recipients);
  return (
    <li
      data-openping="email"
      data-state={state}
      data-substate={substate ?? undefined}
      data-tracker={email.tracker}
      class={`row row--${state}${substate ? ` row--${substate}` : ''}`}
      style={{ transform: `translateY(${top}px)` }}
    >
      <button type="button" class="row__button" onClick={() => onOpen(email.tracker)}>
        <span class="row__top">
          <span class="row__subject">{emailTitle(email)}</span>
          <span class="row__time">{email.sentAt !== null ? timeAgo(email.sentAt) : ''}</span>
        </span>
        <span class="row__to">{to ? `To ${to}` : '\u00a0'}</span>
        <span class={`row__status row__status--${state}`}>
          <span class="dot" aria-hidden="true" />
          {statusLine(email)}
        </span>
      </button>
    </li>
  );
}

export function EmailList({ emails, total, onOpen }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const scrollTop = useSignal(0);
  const height = useSignal(440);

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
    rows.push(<EmailRow key={email.tracker} email={email} top={i * ROW_HEIGHT} onOpen={onOpen} />);
  }

  return (
    <div
      class="list"
      ref={scroller}
      data-openping="list"
      onScroll={(e) => (scrollTop.value = (e.currentTarget as HTMLDivElement).scrollTop)}
    >
      <ul class="list__inner" style={{ height: `${count * ROW_HEIGHT}px` }} aria-rowcount={count}>
        {rows}
      </ul>
    </div>
  );
}
