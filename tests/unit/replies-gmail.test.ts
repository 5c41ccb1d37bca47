// @vitest-environment happy-dom
/** The Gmail reply reader against the saved thread fixture (tests/fixtures/gmail-2026-11-mail.html). */
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { readGmailThread, repliesInGmailThread, timeOfMessageId } from '../../lib/webmail/features/replies-gmail';

const FIXTURE = 'tests/fixtures/gmail-2026-11-mail.html';
const BASE = 'https://track.example.net/p/acct123/';
const T = 'trackerGmailReply0001';
const OWN = ['ada.lovelace@example.com'];

let doc: Document;

/** Gmail's legacy message id for a time: the epoch ms in the upper bits. */
function idAt(ms: number): string {
  return (BigInt(ms) << 20n).toString(16);
}

/** The fixture's open thread with the user's tracked message first (as the fixture's Sent view writes it), then `after`. */
function thread(after: { email: string; name: string; at: number }[]): void {
  doc = new DOMParser().parseFromString(readFileSync(FIXTURE, 'utf8'), 'text/html');
  const main = doc.getElementById('main')!;
  main.append((doc.getElementById('thread-view') as HTMLTemplateElement).content.cloneNode(true));
  const list = main.querySelector('[role="list"]')!;
  const template = list.querySelector('[role="listitem"]')!;
  const mine = template.cloneNode(true) as HTMLElement;
  const sentAt = Date.UTC(2026, 11, 1, 9, 0);
  mine.querySelector('.adn')!.setAttribute('data-legacy-message-id', idAt(sentAt));
  mine.querySelector('.gD')!.setAttribute('email', OWN[0]!);
  mine.querySelector('.gD')!.setAttribute('name', 'me');
  mine.querySelector('.a3s')!.innerHTML =
    `Numbers attached.<img src="https://ci3.googleusercontent.com/meips/x=s0-d-e1-ft#${BASE}${T}.gif" width="1" height="1" alt="">`;
  list.replaceChildren(mine);
  for (const m of after) {
    const item = template.cloneNode(true) as HTMLElement;
    item.querySelector('.adn')!.setAttribute('data-legacy-message-id', idAt(m.at));
    item.querySelector('.gD')!.setAttribute('email', m.email);
    item.querySelector('.gD')!.setAttribute('name', m.name);
    list.append(item);
  }
}

const SENT = Date.UTC(2026, 11, 1, 9, 0);

describe('Gmail reply reader', () => {
  beforeEach(() => thread([]));

  it('reads the time from the legacy message id', () => {
    expect(timeOfMessageId('18c9a7f2b3d4e5f6')).toBe(Number(BigInt('0x18c9a7f2b3d4e5f6') >> 20n));
    expect(timeOfMessageId('not-an-id')).toBeNull();
    expect(timeOfMessageId('000000000001')).toBeNull();
  });

  it('finds the tracked message by its pixel, and no reply while the thread has only it', () => {
    const messages = readGmailThread(doc, BASE);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ trackers: [T], at: SENT, from: { address: OWN[0] } });
    expect(repliesInGmailThread(doc, BASE, OWN)).toEqual([]);
  });

  it('a later message from the recipient is a reply; the user’s own follow-up is not', () => {
    thread([{ email: OWN[0]!, name: 'me', at: SENT + 60_000 }]);
    expect(repliesInGmailThread(doc, BASE, OWN)).toEqual([]);
    thread([
      { email: OWN[0]!, name: 'me', at: SENT + 60_000 },
      { email: 'bob@example.org', name: 'Bob Stone', at: SENT + 3_600_000 },
    ]);
    expect(repliesInGmailThread(doc, BASE, OWN)).toEqual([
      { tracker: T, reply: { by: { name: 'Bob Stone', address: 'bob@example.org' }, at: SENT + 3_600_000, others: [] } },
    ]);
  });

  it('a page without the messages this reader knows guesses nothing', () => {
    doc.querySelectorAll('[data-legacy-message-id]').forEach((n) => n.removeAttribute('data-legacy-message-id'));
    doc.querySelectorAll('.adn').forEach((n) => n.classList.remove('adn'));
    expect(repliesInGmailThread(doc, BASE, OWN)).toEqual([]);
  });
});
