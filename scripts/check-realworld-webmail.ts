/**
 * Checks the webmail adapters against markup others captured from the real Gmail and
 * Outlook on the web (the folder described by its README: `<dir>/<file>.html`, each
 * wrapping the captured DOM in `#realdom-snapshot`). Not part of `npm test`: the files
 * live outside the repository and are never copied into it.
 *
 *   npx tsx scripts/check-realworld-webmail.ts <path/to/webmail-dom>
 *
 * Prints one line per check and exits 1 when any fails.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Window } from 'happy-dom';

const dir = process.argv[2];
if (!dir) {
  console.error('Usage: npx tsx scripts/check-realworld-webmail.ts <webmail-dom dir>');
  process.exit(2);
}

const window = new Window({ url: 'https://outlook.office.com/mail/' });
// The adapters use the page's globals (MutationObserver, InputEvent) as a content script would.
Object.assign(globalThis, { window, document: window.document, MutationObserver: window.MutationObserver, InputEvent: window.InputEvent, Node: window.Node });
const outlookModule = await import('../lib/webmail/outlook.ts');
const sel = await import('../lib/webmail/outlook-selectors.ts');
const gmailSel = await import('../lib/webmail/gmail-selectors.ts');
const outlookReplies = await import('../lib/webmail/features/replies-outlook.ts');

let failed = 0;
function check(what: string, ok: boolean, detail = ''): void {
  if (!ok) failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ` — ${detail}` : ''}`);
}

function load(file: string): Document {
  const doc = window.document as unknown as Document;
  doc.body.innerHTML = new window.DOMParser().parseFromString(readFileSync(join(dir!, file), 'utf8'), 'text/html').body.innerHTML;
  return doc;
}

// Outlook 2025-11 (Mailvelope): the ribbon with New mail, Delete, Report; the reading pane; the mailbox root.
{
  const doc = load('outlook-2025-11-reading-pane-mailvelope.html');
  const primaries = doc.querySelectorAll('.fui-SplitButton__primaryActionButton').length;
  const named = [...doc.querySelectorAll(sel.sendCandidates)].filter(outlookModule.isNamedSend);
  const fallback = [...doc.querySelectorAll(sel.sendButtonFallback)].filter(outlookModule.isFallbackSend);
  check('outlook 2025-11: no ribbon split button is taken for Send', named.length === 0 && fallback.length === 0, `${primaries} split buttons on the page`);
  check('outlook 2025-11: the reading pane is found', doc.querySelectorAll(sel.readingPane).length === 1);
  const own = doc.querySelector(sel.ownAddress)?.getAttribute('title') ?? null;
  check('outlook 2025-11: own address without the account flyout', own === 'toberndo@outlook.com', String(own));
  check('outlook 2025-11: read-mode bodies are message views', doc.querySelectorAll(sel.messageView).length === 2);
  check('outlook 2025-11: list rows carry a conversation id', doc.querySelectorAll('[role="listbox"] > [role="option"][data-convid]').length >= 1);


  // The reply reader (issue 19) on the real conversation: one received item, its sender from the
  // "From:" label (not the recipient well), no date shown there — so no reply is guessed.
  const base = 'https://track.example.net/p/acct/';
  const items = outlookReplies.readOutlookConversation(doc, base, 'de-DE');
  check(
    'outlook 2025-11: the reply reader reads the conversation item and its sender',
    items.length === 1 && items[0]!.from.address === 'sender@example.com' && items[0]!.trackers.length === 0,
    JSON.stringify(items),
  );
  check('outlook 2025-11: no date shown, no reply guessed', items[0]?.at === null && outlookReplies.repliesInOutlookConversation(doc, base, ['toberndo@outlook.com'], 'de-DE').length === 0);
  // The same real item twice, dated as Outlook's SentReceivedSavedTime would, our pixel in the first:
  // the second's sender is the reply, told apart by the item structure alone.
  const conversation = doc.querySelector(sel.conversation)!;
  const item = conversation.querySelector('[aria-expanded]')!;
  const second = item.cloneNode(true) as HTMLElement;
  second.querySelector('[aria-label^="From:"]')!.setAttribute('aria-label', 'From: grace@example.org');
  item.after(second);
  for (const [el, when] of [[item, '01.12.2026 09:00'], [second, '02.12.2026 10:30']] as const) {
    const time = doc.createElement('div');
    time.setAttribute('data-testid', 'SentReceivedSavedTime');
    time.textContent = when;
    el.querySelector('.uSg02')!.append(time);
  }
  const pixel = doc.createElement('img');
  pixel.setAttribute('src', `${base}trackerRealworld00001.gif`);
  item.querySelector('[id^="UniqueMessageBody"]')!.append(pixel);
  const replies = outlookReplies.repliesInOutlookConversation(doc, base, ['sender@example.com'], 'de-DE');
  check('outlook 2025-11: two real items, the later one from someone else is the reply', replies.length === 1 && replies[0]!.reply.by.address === 'grace@example.org', JSON.stringify(replies));
  second.remove();

  // A real 2023 compose editor put into that reading pane: the root must stay out of the ribbon.
  const editor = new window.DOMParser()
    .parseFromString(readFileSync(join(dir, 'outlook-2023-compose-body.html'), 'utf8'), 'text/html')
    .querySelector('#editorParent_1')!;
  const pane = doc.querySelector(sel.readingPane)!;
  const holder = doc.createElement('div');
  holder.innerHTML = editor.outerHTML;
  pane.append(holder);
  const body = outlookModule.composeBodiesIn(doc)[0]!;
  const { root, send } = outlookModule.composeRootOf(body as HTMLElement);
  const newMail = doc.querySelector('[aria-label="Neue E-Mail"]')!;
  check('outlook 2023 editor in the 2025 pane: the compose root holds no ribbon', !root.contains(newMail) && pane.contains(root), root.tagName);
  check('outlook 2023 editor in the 2025 pane: New mail is not Send', send !== newMail, String(send?.getAttribute('aria-label') ?? null));
}

// Gmail: the send buttons and compose of real captures match the selectors the adapter uses.
{
  const doc = load('gmail-2020-10-popout-compose.html');
  check('gmail 2020-10: one Send in the compose', doc.querySelectorAll(gmailSel.sendButton.join(', ')).length === 1);
}

console.log(failed ? `\n${failed} check(s) failed` : '\nall checks hold');
process.exitCode = failed ? 1 : 0;
