// @vitest-environment happy-dom
/**
 * List marks (issue 16) on rows laid out as Gmail's and Outlook's: matched by the webmail's ids,
 * by subject only where unambiguous, never a wrong mark; unknown layouts logged once and left
 * alone; recycled rows lose a mark that no longer fits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MarkIndex } from '../../lib/marks/index';
import type { MarksSource } from '../../lib/marks/client';
import type { MarkInfo } from '../../lib/messages';
import { renderRows, startListMarks } from '../../lib/webmail/features/list-marks';
import { gmail, legacyFromPerm } from '../../lib/webmail/gmail';
import { outlook } from '../../lib/webmail/outlook';

function mark(tracker: string, fields: Partial<MarkInfo> = {}): MarkInfo {
  return {
    tracker,
    threadId: null,
    messageId: null,
    subject: null,
    sentAt: 1,
    state: 'sent',
    substate: null,
    opens: 0,
    lastOpenAt: null,
    lastOpenPlace: null,
    lastOpenVia: null,
    muted: false,
    ...fields,
  };
}

/** A Gmail list row as public extensions describe it (gmail-selectors.ts `listRow`). */
function gmailRow(thread: string | null, subject: string): string {
  const ids = thread ? ` data-thread-id="#thread-f:1" data-legacy-thread-id="${thread}" data-legacy-last-message-id="${thread}"` : '';
  return `<tr class="zA"><td class="xY a4W"><div class="xS"><div class="xT"><div class="y6"><span class="bog"><span${ids}>${subject}</span></span></div></div></div></td></tr>`;
}

function source(marks: MarkInfo[]): MarksSource & { requests: unknown[] } {
  const requests: unknown[] = [];
  const index = new MarkIndex(marks);
  return {
    requests,
    marks: () => marks,
    index: () => index,
    subscribe: () => () => undefined,
    request: async (message) => {
      requests.push(message);
      return null;
    },
  };
}

function render(html: string, marks: MarkInfo[], adapter = gmail) {
  document.body.innerHTML = html;
  const src = source(marks);
  const logs: string[] = [];
  const options = { webmail: adapter.name, views: adapter.views!, doc: document, source: src, signal: new AbortController().signal };
  const region = document.body;
  const run = () => renderRows(options, region, region.querySelectorAll<HTMLElement>(adapter.views!.rowSelector), new Set(), () => logs.push('changed'));
  run();
  return { src, logs, run, marksIn: (i: number) => document.querySelectorAll(adapter.views!.rowSelector)[i]!.querySelectorAll('[data-openping="mark"]') };
}

afterEach(() => {
  document.body.innerHTML = '';
});

describe('Gmail rows', () => {
  const table = (rows: string) => `<div role="main"><table><tbody>${rows}</tbody></table></div>`;

  it('marks the row of a tracked thread by its id, with state and opens', () => {
    const { marksIn } = render(table(gmailRow('18c9258990d90001', 'Hello') + gmailRow('18c9258990d90002', 'Other')), [
      mark('t1', { threadId: '18c9258990d90001', state: 'opened', opens: 2 }),
    ]);
    const [m] = marksIn(0);
    expect(m!.getAttribute('data-state')).toBe('opened');
    expect(m!.getAttribute('data-opens')).toBe('2');
    expect(m!.parentElement!.classList.contains('y6')).toBe(true);
    expect(marksIn(1)).toHaveLength(0);
  });

  it('matches by an unambiguous subject and keeps the row’s ids for the tracker', () => {
    const { marksIn, src } = render(table(gmailRow('18c9258990d90001', 'Lunch') + gmailRow('18c9258990d90002', 'Other')), [mark('t1', { subject: 'Lunch' })]);
    expect(marksIn(0)).toHaveLength(1);
    expect(src.requests).toEqual([{ type: 'ids', tracker: 't1', ids: { thread: '18c9258990d90001', message: '18c9258990d90001' } }]);
  });

  it('gives no mark when two tracked emails share the subject, or two rows show it', () => {
    const twoEmails = render(table(gmailRow('a1a1a1a1a1a1', 'Lunch')), [mark('t1', { subject: 'Lunch' }), mark('t2', { subject: 'Lunch' })]);
    expect(twoEmails.marksIn(0)).toHaveLength(0);
    const twoRows = render(table(gmailRow('a1a1a1a1a1a1', 'Lunch') + gmailRow('b2b2b2b2b2b2', 'Lunch')), [mark('t1', { subject: 'Lunch' })]);
    expect(twoRows.marksIn(0)).toHaveLength(0);
    expect(twoRows.marksIn(1)).toHaveLength(0);
    expect(twoRows.src.requests).toEqual([]);
  });

  it('takes a row whose id belongs to no tracked email for untracked, whatever its subject, when the email has ids', () => {
    const { marksIn } = render(table(gmailRow('b2b2b2b2b2b2', 'Lunch')), [mark('t1', { subject: 'Lunch', threadId: 'a1a1a1a1a1a1' })]);
    expect(marksIn(0)).toHaveLength(0);
  });

  it('takes a recycled row’s mark away when it shows another message', () => {
    const r = render(table(gmailRow('a1a1a1a1a1a1', 'Lunch')), [mark('t1', { threadId: 'a1a1a1a1a1a1' })]);
    expect(r.marksIn(0)).toHaveLength(1);
    const span = document.querySelector('[data-legacy-thread-id]')!;
    span.setAttribute('data-legacy-thread-id', 'c3c3c3c3c3c3');
    span.setAttribute('data-legacy-last-message-id', 'c3c3c3c3c3c3');
    r.run();
    expect(r.marksIn(0)).toHaveLength(0);
  });

  it('leaves a row it does not know untouched and says so once', () => {
    const r = render(table('<tr class="zA"><td>no subject cell</td></tr><tr class="zA"><td>nor here</td></tr>'), [mark('t1', { threadId: 'a1a1a1a1a1a1' })]);
    expect(r.logs).toEqual(['changed', 'changed']); // renderRows reports each; the feature logs the first only
    expect(document.querySelectorAll('[data-openping]')).toHaveLength(0);
  });

  it('reads the notice’s thread-f id as the rows’ legacy hex id', () => {
    expect(legacyFromPerm('thread-f:1786000000000000001|msg-f:1786000000000000002', 'thread-f')).toBe('18c9258990d90001');
    expect(legacyFromPerm('thread-f:1786000000000000001|msg-f:1786000000000000002', 'msg-f')).toBe('18c9258990d90002');
    expect(legacyFromPerm('nothing here', 'thread-f')).toBeNull();
  });
});

describe('Outlook rows', () => {
  const list = (rows: string) => `<div id="MailList"><div role="listbox">${rows}</div></div>`;
  const row = (convid: string, subject: string) =>
    `<div role="option" data-convid="${convid}"><div><span>Grace Hopper</span></div><div><span class="x1">${subject}</span><span>10:02</span></div></div>`;

  it('marks a row by its conversation id, beside the subject, and keeps the subject’s text alone', () => {
    const r = render(list(row('AQQkADAw1', 'Budget') + row('AQQkADAw2', 'Other')), [mark('t1', { subject: 'Budget', threadId: 'AQQkADAw1' })], outlook);
    expect(r.marksIn(0)).toHaveLength(1);
    expect(document.querySelector('.x1')!.textContent).toBe('Budget');
    r.run();
    expect(r.marksIn(0)).toHaveLength(1);
  });

  it('matches a new message’s row by its unique subject and learns the conversation id', () => {
    const r = render(list(row('AQQkADAw1', 'Budget') + row('AQQkADAw2', 'Other')), [mark('t1', { subject: 'Budget' })], outlook);
    expect(r.marksIn(0)).toHaveLength(1);
    expect(r.marksIn(1)).toHaveLength(0);
    expect(r.src.requests).toEqual([{ type: 'ids', tracker: 't1', ids: { thread: 'AQQkADAw1', message: null } }]);
  });
});

describe('the card’s Mute button', () => {
  it('mutes from the card by keyboard-reachable button, shows the muted state, and unmutes', async () => {
    document.body.innerHTML = `<div role="main"><table><tbody>${gmailRow('a1a1a1a1a1a1', 'Budget')}</tbody></table></div>`;
    let marks = [mark('t1', { threadId: 'a1a1a1a1a1a1', state: 'opened', opens: 1 })];
    const listeners = new Set<() => void>();
    const requests: unknown[] = [];
    const src: MarksSource = {
      marks: () => marks,
      index: () => new MarkIndex(marks),
      subscribe: (fn) => (listeners.add(fn), () => listeners.delete(fn)),
      request: async (message) => {
        requests.push(message);
        return (message.type === 'mute' ? { ok: true } : null) as never;
      },
    };
    const controller = new AbortController();
    startListMarks({ webmail: 'gmail', views: gmail.views!, doc: document, source: src, signal: controller.signal });
    const host = document.querySelector<HTMLElement>('[data-openping="mark"]')!;
    expect(host.getAttribute('aria-label')).toBe('OpenPing status: Opened 1×');
    expect(host.hasAttribute('data-muted')).toBe(false);

    host.dispatchEvent(new FocusEvent('focusin', { bubbles: true }));
    const shadow = host.shadowRoot!;
    const button = shadow.querySelector<HTMLButtonElement>('[data-openping="mark-mute"]')!;
    // A real button in the card, after Details: Tab from the mark reaches both.
    expect(button.tagName).toBe('BUTTON');
    expect([...shadow.querySelectorAll('button')].map((b) => b.getAttribute('data-openping'))).toEqual(['mark-details', 'mark-mute']);
    expect(button.textContent).toBe('Mute notifications');
    expect(shadow.querySelector<HTMLElement>('.muted')!.hidden).toBe(true);

    button.click();
    expect(requests).toContainEqual({ type: 'mute', tracker: 't1', muted: true });
    await expect.poll(() => button.textContent).toBe('Notify me again');
    expect(shadow.querySelector<HTMLElement>('.muted')!.hidden).toBe(false);
    expect(shadow.querySelector('.muted')!.textContent).toBe('Notifications muted');

    // The background's data change reloads the marks: the mark's name says it is muted.
    marks = [{ ...marks[0]!, muted: true }];
    for (const fn of listeners) fn();
    expect(host.hasAttribute('data-muted')).toBe(true);
    expect(host.getAttribute('aria-label')).toBe('OpenPing status: Opened 1× · Notifications muted');

    button.click();
    expect(requests).toContainEqual({ type: 'mute', tracker: 't1', muted: false });
    await expect.poll(() => button.textContent).toBe('Mute notifications');
    marks = [{ ...marks[0]!, muted: false }];
    for (const fn of listeners) fn();
    expect(host.hasAttribute('data-muted')).toBe(false);
    expect(shadow.querySelector<HTMLElement>('.muted')!.hidden).toBe(true);
    controller.abort();
  });
});
