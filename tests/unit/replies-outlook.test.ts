// @vitest-environment happy-dom
/**
 * The Outlook reply reader (issue 19) on conversations built like the real reading pane: the
 * structure of Mailvelope's trimmed copies of outlook.office.com (2025-11-17) — a
 * `[data-app-section=ConversationContainer]` whose items are `div[aria-expanded]` each holding a
 * header with `span[aria-label="From: <address>"]`, a `[data-testid=RecipientWell]` and the body
 * `div[id^=UniqueMessageBody]` — plus each item's `[data-testid=SentReceivedSavedTime]` date.
 * The real markup itself is checked by scripts/check-realworld-webmail.ts, never copied here.
 */
import { describe, expect, it } from 'vitest';
import { parseShownTime } from '../../lib/replies';
import { outlookOwnAddresses, readOutlookConversation, repliesInOutlookConversation } from '../../lib/webmail/features/replies-outlook';

const BASE = 'https://track.example.net/p/acct123/';
const T = 'trackerOutlookReply01';
const ME = 'ada.sender@outlook.com';
const OWN = [ME];
const SENT = new Date(2026, 11, 1, 9, 0).getTime();

interface Item {
  from: string;
  label?: 'From' | 'Von';
  name?: string;
  /** Minutes after SENT, or the shown text itself; null: no date shown. */
  at: number | string | null;
  to?: string;
  pixel?: boolean;
  /** A collapsed item: header and date, no body. */
  collapsed?: boolean;
}

function shown(at: number): string {
  return new Date(SENT + at * 60_000).toLocaleString('en-US', { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
}

function conversation(items: Item[], options: { heading?: string; wrapItems?: boolean } = {}): Document {
  const doc = document.implementation.createHTMLDocument('Mail - Ada Sender - Outlook');
  doc.body.innerHTML = `<div id="primaryMailboxRoot_X@Y" role="treeitem" title="${ME}"></div>
    <div role="main" data-app-section="MailReadCompose"><div id="ConversationReadingPaneContainer">
    <div data-app-section="ConversationContainer"><div role="heading">${options.heading ?? 'Q3 budget'}</div><div class="ZOM9m"></div></div></div></div>`;
  const list = doc.querySelector('.ZOM9m')!;
  items.forEach((item, i) => {
    const time = item.at === null ? '' : `<div data-testid="SentReceivedSavedTime" title="${typeof item.at === 'number' ? shown(item.at) : item.at}">${typeof item.at === 'number' ? shown(item.at) : item.at}</div>`;
    const sender = `<span class="o4zjZ" aria-label="${item.label ?? 'From'}: ${item.name ? `${item.name} &lt;${item.from}&gt;` : item.from}"><span class="OZZZK">${item.name ?? item.from}</span></span>`;
    const body = item.collapsed
      ? ''
      : `<div role="document"><div id="UniqueMessageBody_${i + 1}" aria-label="Message body" class="XbIp4"><div class="BIZfh"><p>Text ${i}</p>${item.pixel ? `<img src="${BASE}${T}.gif" width="1" height="1">` : ''}</div></div></div>`;
    const header = `<div class="uSg02"><div class="PW01N">${sender}</div>${time}<div aria-label="Message actions" role="toolbar"><button aria-label="Reply">Reply</button></div></div>
      <div class="DrnCK"><div data-testid="RecipientWell"><span aria-label="To: ${item.to ?? 'grace@example.org'}">To: ${item.to ?? 'grace@example.org'}</span></div></div>`;
    const inner = `<div class="wide-content-host"><div aria-label="Email message">${header}${body}</div></div>`;
    const wrapper = doc.createElement('div');
    wrapper.className = 'aVla3';
    // Real items are `div[aria-expanded]`; without it the reader falls back to the item's own ancestors.
    wrapper.innerHTML = options.wrapItems === false ? inner : `<div aria-expanded="${item.collapsed ? 'false' : 'true'}" class="BS0OK">${inner}</div>`;
    list.append(wrapper);
  });
  return doc;
}

const grace = { name: 'Grace Hopper', address: 'grace@example.org' };

describe('Outlook reply reader', () => {
  it('reads each item’s sender from its From label, its date, and finds the tracked item by its pixel', () => {
    const doc = conversation([{ from: ME, at: 0, pixel: true }, { from: grace.address, name: grace.name, at: 30 }]);
    const messages = readOutlookConversation(doc, BASE, 'en-US');
    expect(messages).toEqual([
      { from: { name: null, address: ME }, at: SENT, trackers: [T] },
      { from: grace, at: SENT + 30 * 60_000, trackers: [] },
    ]);
    expect(repliesInOutlookConversation(doc, BASE, OWN, 'en-US')).toEqual([{ tracker: T, reply: { by: grace, at: SENT + 30 * 60_000, others: [] } }]);
    expect(outlookOwnAddresses(doc)).toEqual([ME]);
  });

  it('the sender’s own follow-up and their own forwarded copy are no reply', () => {
    const doc = conversation([
      { from: ME, at: 0, pixel: true },
      { from: ME, at: 60 },
      { from: 'Ada.Sender@Outlook.com', name: 'Ada Sender', at: 90, to: 'boss@example.com' },
    ]);
    expect(repliesInOutlookConversation(doc, BASE, OWN, 'en-US')).toEqual([]);
  });

  it('a colleague in Cc who answers counts and is named; several repliers are all named, the first first', () => {
    const carol = { name: 'Carol Cc', address: 'carol@example.com' };
    const doc = conversation([
      { from: ME, at: 0, pixel: true, to: 'grace@example.org; bob@example.com' },
      { from: carol.address, name: carol.name, at: 10 },
      { from: 'bob@example.com', at: 20 },
      { from: grace.address, name: grace.name, at: 30 },
    ]);
    expect(repliesInOutlookConversation(doc, BASE, OWN, 'en-US')).toEqual([
      { tracker: T, reply: { by: carol, at: SENT + 10 * 60_000, others: [{ name: null, address: 'bob@example.com' }, grace] } },
    ]);
  });

  it('a thread the recipient renamed is still found by the pixel; an earlier message is no reply', () => {
    const doc = conversation(
      [
        { from: grace.address, name: grace.name, at: -60 },
        { from: ME, at: 0, pixel: true },
        { from: grace.address, name: grace.name, at: 5 },
      ],
      { heading: 'RE: something else entirely' },
    );
    expect(repliesInOutlookConversation(doc, BASE, OWN, 'en-US')).toEqual([{ tracker: T, reply: { by: grace, at: SENT + 5 * 60_000, others: [] } }]);
    expect(repliesInOutlookConversation(conversation([{ from: grace.address, at: -60 }, { from: ME, at: 0, pixel: true }]), BASE, OWN, 'en-US')).toEqual([]);
  });

  it('mail to oneself: an item from the user to the user is never a reply', () => {
    const doc = conversation([{ from: ME, at: 0, pixel: true, to: ME }, { from: ME, at: 3, to: ME }]);
    expect(repliesInOutlookConversation(doc, BASE, OWN, 'en-US')).toEqual([]);
  });

  it('a collapsed item above (header, no body) does not lend its sender to the next item', () => {
    for (const wrapItems of [true, false]) {
      const doc = conversation([{ from: grace.address, at: 40, collapsed: true }, { from: ME, at: 0, pixel: true }], { wrapItems });
      expect(readOutlookConversation(doc, BASE, 'en-US').map((m) => m.from.address)).toEqual([ME]);
      expect(repliesInOutlookConversation(doc, BASE, OWN, 'en-US')).toEqual([]);
    }
  });

  it('a layout it does not know guesses nothing: no conversation, no sender label, no date, no known user', () => {
    const doc = conversation([{ from: ME, at: 0, pixel: true }, { from: grace.address, at: null }]);
    expect(repliesInOutlookConversation(doc, BASE, OWN, 'en-US')).toEqual([]);
    const bare = conversation([{ from: ME, at: 0, pixel: true }, { from: grace.address, at: 30 }]);
    bare.querySelector('[data-app-section="ConversationContainer"]')!.removeAttribute('data-app-section');
    expect(readOutlookConversation(bare, BASE, 'en-US')).toEqual([]);
    const unlabelled = conversation([{ from: ME, at: 0, pixel: true }, { from: grace.address, at: 30 }]);
    for (const el of unlabelled.querySelectorAll('.o4zjZ')) el.removeAttribute('aria-label');
    expect(readOutlookConversation(unlabelled, BASE, 'en-US')).toEqual([]);
    expect(repliesInOutlookConversation(conversation([{ from: ME, at: 0, pixel: true }, { from: grace.address, at: 30 }]), BASE, [], 'en-US')).toEqual([]);
  });

  it('German labels and day-first dates; a slashed date outside en-US is not guessed', () => {
    const de = conversation([
      { from: ME, label: 'Von', at: 'Di 01.12.2026 09:00', pixel: true },
      { from: grace.address, label: 'Von', at: 'Mo 07.12.2026 10:42' },
    ]);
    expect(repliesInOutlookConversation(de, BASE, OWN, 'de-DE')).toEqual([
      { tracker: T, reply: { by: { name: null, address: grace.address }, at: new Date(2026, 11, 7, 10, 42).getTime(), others: [] } },
    ]);
    expect(parseShownTime('Mon 07/12/2026 10:42', 'en-GB')).toBeNull();
    expect(parseShownTime('Mon 12/7/2026 10:42 AM', 'en-US')).toBe(new Date(2026, 11, 7, 10, 42).getTime());
    expect(parseShownTime('Yesterday 10:42', 'en-US')).toBeNull();
    expect(parseShownTime('Mon 10:42', 'en-US')).toBeNull();
  });
});
