// @vitest-environment happy-dom
/**
 * Replies read from Gmail list rows (issue 19): rows shaped as Gmail's (the structure public Gmail-list
 * readers of 2024–26 read, as in tests/fixtures/gmail-2026-12-lists.html): `tr.zA`, the sender cell
 * `.yW` with one `span.bA4 > span[email][name]` per sender and `span.bx0` the count, the subject's
 * `span[data-legacy-thread-id][data-legacy-last-message-id]`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MarkInfo } from '../../lib/messages';
import { replyFromRow } from '../../lib/replies';
import type { MarksSource } from '../../lib/marks/client';
import { MarkIndex } from '../../lib/marks/index';
import { renderRows } from '../../lib/webmail/features/list-marks';
import { replyOfRow, rowReplies } from '../../lib/webmail/features/replies';
import { gmail } from '../../lib/webmail/gmail';

const views = gmail.views!;
const ME = { email: 'ada.lovelace@example.com', name: 'me' };
const OWN = [ME.email];
const SENT = Date.UTC(2026, 11, 1, 9, 0);
const idAt = (ms: number) => (BigInt(ms) << 20n).toString(16);

function row(people: { email: string; name: string }[], count: number | null, lastAt: number, options: { to?: boolean; subject?: string } = {}): HTMLElement {
  const senders = people.map((p) => `<span class="bA4"><span class="yP" email="${p.email}" name="${p.name}">${p.name}</span></span>`).join(', ');
  document.body.innerHTML = `<div role="main"><table><tbody><tr class="zA yO" role="row">
    <td class="yX xY"><div class="yW">${options.to ? '<span>To: </span>' : ''}${senders}${count ? ` <span class="bx0">${count}</span>` : ''}</div></td>
    <td class="xY a4W"><div class="xS" role="link"><div class="xT"><div class="y6"><span class="bog"><span data-thread-id="#thread-f:1" data-legacy-thread-id="${idAt(SENT)}" data-legacy-last-message-id="${idAt(lastAt)}">${options.subject ?? 'Q3 budget'}</span></span></div></div></div></td>
  </tr></tbody></table></div>`;
  return document.querySelector('tr.zA')!;
}

function mark(overrides: Partial<MarkInfo> = {}): MarkInfo {
  return {
    tracker: 'trackerRowReply000001', threadId: idAt(SENT), messageId: idAt(SENT), subject: 'Q3 budget', sentAt: SENT, state: 'sent', substate: null,
    opens: 0, lastOpenAt: null, lastOpenPlace: null, lastOpenVia: null, startedThread: true, muted: false, ...overrides,
  };
}

const grace = { email: 'grace@example.org', name: 'Grace Hopper' };
const carol = { email: 'carol@example.com', name: 'Carol (Cc)' };
const LATER = SENT + 45 * 60_000;

afterEach(() => {
  location.hash = '';
});

describe('Gmail list rows', () => {
  it('reads the senders, the count and the last message’s time from the row', () => {
    expect(views.rowActivity!(row([ME, grace], 2, LATER))).toEqual({
      count: 2,
      participants: [{ name: 'me', address: ME.email }, { name: grace.name, address: grace.email }],
      lastAt: LATER,
    });
  });

  it('"me, Grace Hopper (2)" for a message that began its thread is Grace’s reply, dated by the row', () => {
    expect(replyOfRow(views, row([ME, grace], 2, LATER), mark(), OWN)).toEqual({ by: { name: grace.name, address: grace.email }, at: LATER, others: [] });
  });

  it('the sender’s own follow-up or forwarded copy ("me (2)") is no reply; one message is none either', () => {
    expect(replyOfRow(views, row([ME], 2, LATER), mark(), OWN)).toBeNull();
    expect(replyOfRow(views, row([ME], null, SENT), mark(), OWN)).toBeNull();
  });

  it('a colleague in Cc and several recipients who answered are all named', () => {
    expect(replyOfRow(views, row([ME, carol, grace], 4, LATER), mark(), OWN)).toEqual({
      by: { name: carol.name, address: carol.email },
      at: LATER,
      others: [{ name: grace.name, address: grace.email }],
    });
  });

  it('a thread the recipient renamed still counts: the row is the tracked thread by its ids, its subject is not read', () => {
    expect(replyOfRow(views, row([ME, grace], 2, LATER, { subject: 'Re: something else' }), mark(), OWN)?.by.address).toBe(grace.email);
  });

  it('mail to oneself is never a reply', () => {
    expect(replyOfRow(views, row([ME, ME], 2, LATER), mark(), OWN)).toBeNull();
    expect(replyFromRow({ count: 2, participants: [{ name: null, address: ME.email }], lastAt: LATER }, { count: 1, at: SENT }, OWN)).toBeNull();
  });

  it('guesses nothing where the row cannot tell: a reply sent into a thread, a Sent list, an unknown layout, no known user', () => {
    // The tracked message answered an older thread: the count at send is not known.
    expect(replyOfRow(views, row([ME, grace], 2, LATER), mark({ startedThread: false }), OWN)).toBeNull();
    // Sent lists name the recipients: "To: Grace Hopper (2)" could be the user's own follow-up.
    expect(views.rowActivity!(row([grace], 2, LATER, { to: true }))).toBeNull();
    location.hash = '#sent';
    expect(views.rowActivity!(row([grace], 2, LATER))).toBeNull();
    location.hash = '#inbox';
    const unknown = row([ME, grace], 2, LATER);
    unknown.querySelector('.yW')!.className = 'renamed';
    expect(views.rowActivity!(unknown)).toBeNull();
    expect(replyOfRow(views, unknown, mark(), OWN)).toBeNull();
    expect(replyOfRow(views, row([ME, grace], 2, LATER), mark(), [])).toBeNull();
    // A count that is not a number ("2 drafts", localized words): not read.
    const odd = row([ME, grace], 2, LATER);
    odd.querySelector('.bx0')!.textContent = 'zwei';
    expect(views.rowActivity!(odd)).toBeNull();
  });

  it('a row already replied, or a reply no later than the send, is left alone', () => {
    expect(replyOfRow(views, row([ME, grace], 2, LATER), mark({ state: 'replied' }), OWN)).toBeNull();
    expect(replyOfRow(views, row([ME, grace], 2, SENT), mark(), OWN)).toBeNull();
  });
});

describe('the list marks report replies seen in rows', () => {
  function render(marks: MarkInfo[], title = 'Me - ada.lovelace@example.com - Gmail') {
    document.title = title;
    const requests: unknown[] = [];
    const index = new MarkIndex(marks);
    const source: MarksSource = { marks: () => marks, index: () => index, subscribe: () => () => undefined, request: async (m) => (requests.push(m), null) };
    const options = { webmail: 'gmail' as const, views, doc: document, source, signal: new AbortController().signal, onMatch: rowReplies(views, document, source) };
    const run = () => renderRows(options, document.body, document.querySelectorAll<HTMLElement>(views.rowSelector), new Set(), () => undefined);
    return { requests, run };
  }

  it('a row matched by its thread id reports the reply once, with the user’s address', () => {
    row([ME, grace], 2, LATER);
    const { requests, run } = render([mark()]);
    run();
    run();
    expect(requests).toEqual([{ type: 'replied', tracker: 'trackerRowReply000001', reply: { by: { name: grace.name, address: grace.email }, at: LATER, others: [] }, own: OWN }]);
  });

  it('a row matched only by its subject, or a page that names no user, reports nothing', () => {
    row([ME, grace], 2, LATER);
    const bySubject = render([mark({ threadId: null, messageId: null })]);
    bySubject.run();
    expect(document.querySelectorAll('[data-openping="mark"]')).toHaveLength(1); // marked, yet no reply guessed
    expect(bySubject.requests.filter((m) => (m as { type: string }).type === 'replied')).toEqual([]);
    const anonymous = render([mark()], 'Gmail');
    anonymous.run();
    expect(anonymous.requests).toEqual([]);
  });
});

describe('Outlook list rows', () => {
  it('are not read: no real row layout is known, so an answered conversation’s row guesses no reply', async () => {
    const { outlook } = await import('../../lib/webmail/outlook');
    const { rowReplies } = await import('../../lib/webmail/features/replies');
    const { createMarksSource } = await import('../../lib/marks/client');
    const views = outlook.views!;
    // The ribbon fixture's inbox row of a conversation Grace answered.
    document.body.innerHTML = `<div id="MailList"><div role="listbox"><div role="option" aria-selected="false" data-convid="AQQkADAwATMwMAItYjBiZi0abc">
      <div class="hcptT"><div><span class="OZZZK" title="grace@example.org">Grace Hopper; Ada Sender</span></div><div><span class="TtcXM">Q3 budget</span><span class="_rWRU">10:42</span></div></div></div></div></div>`;
    const row = document.querySelector<HTMLElement>('[role="option"]')!;
    expect(views.readRow(row)?.ids.thread).toBe('AQQkADAwATMwMAItYjBiZi0abc');
    expect(views.rowActivity?.(row) ?? null).toBeNull();
    expect(replyOfRow(views, row, mark({ threadId: 'AQQkADAwATMwMAItYjBiZi0abc', messageId: null }), ['ada.sender@outlook.com'])).toBeNull();
    expect(rowReplies(views, document, createMarksSource('outlook', new AbortController().signal))).toBeUndefined();
  });
});
