// @vitest-environment happy-dom
/**
 * Every Gmail selector against the saved fixture, with expected match counts
 * per alternative (refined-github's selectors test does the same). The page is
 * put in the state a user sees: a thread with an inline reply open, and a
 * pop-out compose.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as S from '../../lib/webmail/gmail-selectors';

const FIXTURE = 'tests/fixtures/gmail-2026-11-mail.html';

let doc: Document;

beforeAll(() => {
  doc = new DOMParser().parseFromString(readFileSync(FIXTURE, 'utf8'), 'text/html');
  const template = (id: string) => (doc.getElementById(id) as HTMLTemplateElement).content.cloneNode(true);
  doc.getElementById('main')!.append(template('thread-view'));
  doc.getElementById('reply-area')!.append(template('compose'));
  const dialog = doc.createElement('div');
  dialog.setAttribute('role', 'dialog');
  dialog.className = 'nH Hd';
  dialog.append(template('compose'));
  doc.getElementById('compose-dock')!.append(dialog);
  // Gmail shows Send + archive in replies only; the fixture's script does the same.
  dialog.querySelector('.Uo')!.remove();
});

/** Expected matches in the whole page, one number per alternative, in order. */
const expected: Record<keyof typeof S, number[]> = {
  body: [2, 2],
  composeRoot: [2, 1, 2],
  subject: [2],
  threadSubject: [1, 1],
  recipientChip: [0, 0],
  recipientLegacyInput: [0],
  fromInput: [2],
  sendButton: [2, 2],
  sendAndArchiveButton: [1],
  moreSendOptions: [2, 2],
  scheduleSend: [0],
  legacyThreadId: [2],
  main: [1],
  messageBody: [1, 1],
  messageImage: [1, 1],
  // Lists and threads (issue 16): this page shows a thread, no list; tests/unit/marks-gmail.test.ts has the lists.
  listRow: [0],
  rowIds: [1],
  rowSubject: [0],
  rowMarkAnchor: [0, 0],
  // Issue 19, a row's senders and count: no list here (tests/unit/replies-rows.test.ts reads the lists fixture).
  rowParticipantsCell: [0],
  rowParticipant: [1],
  rowCount: [0],
  threadHeading: [1, 1],
  threadMessage: [1],
  messageSender: [1, 1],
  sentNoticeLink: [0],
  // The fixture's thread shows no date element; the reply reader dates messages by their legacy id.
  messageDate: [0],
};

describe('Gmail selectors against tests/fixtures/gmail-2026-11-mail.html', () => {
  it('lists an expectation for every exported selector', () => {
    expect(Object.keys(expected).sort()).toEqual(Object.keys(S).sort());
  });

  for (const [name, counts] of Object.entries(expected)) {
    it(`${name} matches ${counts.join(' / ')}`, () => {
      const selector = S[name as keyof typeof S];
      expect(selector.map((alternative) => doc.querySelectorAll(alternative).length)).toEqual(counts);
    });
  }

  it('tells Send from Send + archive and from the schedule arrow', () => {
    for (const alternative of S.sendButton) {
      for (const el of doc.querySelectorAll(alternative)) {
        expect(el.classList.contains('Uo')).toBe(false);
        expect(el.getAttribute('aria-haspopup')).not.toBe('true');
        expect(el.classList.contains('aoO')).toBe(true);
      }
    }
  });

  it('finds one body, one Send and one subject inside each compose root', () => {
    for (const root of doc.querySelectorAll(S.composeRoot[0]!)) {
      for (const selector of [S.body, S.sendButton, S.subject, S.moreSendOptions]) {
        expect(root.querySelectorAll(selector[0]!).length).toBe(1);
      }
    }
  });

  it('finds message images only outside composes', () => {
    for (const img of doc.querySelectorAll(S.messageImage[0]!)) {
      expect(img.closest('[g_editable]')).toBeNull();
      expect(img.getAttribute('src')).toMatch(/^https:\/\/ci3\.googleusercontent\.com\/meips\/.+#https:/);
    }
  });

  it('reads recipient chips once Gmail renders them', () => {
    const listbox = doc.querySelector('.M9 [name="to"] [role="listbox"]')!;
    listbox.innerHTML = '<div role="option" data-name="Bob Stone" data-hovercard-id="bob@example.org">Bob Stone</div>';
    expect(S.recipientChip.map((a) => doc.querySelectorAll(a).length)).toEqual([1, 1]);
    listbox.textContent = '';
  });

  it('finds Schedule send in the menu Gmail opens from the arrow', () => {
    const menu = doc.createElement('div');
    menu.setAttribute('role', 'menu');
    menu.innerHTML = '<div role="menuitem" selector="scheduledSend">Programar envío</div>';
    doc.body.append(menu);
    expect(doc.querySelectorAll(S.scheduleSend[0]!).length).toBe(1);
    menu.remove();
  });
});
