/**
 * Reply detection in Outlook on the web's open conversation (issue 19 item 1; STYLE §16). The
 * reading pane shows a conversation's items, each a header (sender, date) above its body; the
 * tracked item is the user's own, carrying their pixel — never found by the subject, which a
 * recipient may change. Every later item from someone else is a reply (lib/replies.ts decides).
 *
 * Checked against real markup (Mailvelope's trimmed copies of outlook.office.com, 2025-11-17, in
 * scripts/check-realworld-webmail.ts): there each item's sender is a `span[aria-label="From: <address>"]`
 * (German "Von:"), its body `div[id^=UniqueMessageBody]`; those templates show no date, so on them
 * no reply is guessed. Nothing read leaves the browser.
 */
import { trackerFromSrc } from '../../pixel';
import { parseShownTime, trackedReplies, type ReadMessage, type Reply } from '../../replies';
import * as sel from '../outlook-selectors';
import type { Recipient } from '../types';
import { watchReplies, type ReportReply } from './replies-watch';

const EMAIL = /[^\s<>()"';,:]+@[^\s<>()"';,:]+\.[^\s<>()"';,:]+/;

function isSenderLabel(el: Element): boolean {
  return !el.closest(sel.recipientWell) && !el.closest(sel.messageView) && EMAIL.test(el.getAttribute('aria-label') ?? '');
}

/**
 * The item a body belongs to: its expandable item (real markup: `div[aria-expanded]` around header and
 * body, Mailvelope 2025-11), else its highest ancestor inside the conversation holding no other body
 * and no other sender — a collapsed item above has a sender but no body, and must not lend it.
 */
function itemOf(body: HTMLElement, conversation: Element): HTMLElement {
  const expandable = body.parentElement?.closest<HTMLElement>('[aria-expanded]');
  if (expandable && expandable !== conversation && conversation.contains(expandable)) return expandable;
  let item = body;
  for (let up = body.parentElement; up && up !== conversation; up = up.parentElement) {
    if (up.querySelectorAll(sel.messageView).length > 1) break;
    if ([...up.querySelectorAll(sel.itemSenderCandidates)].filter(isSenderLabel).length > 1) break;
    item = up;
  }
  return item;
}

/** The item's sender: the first labelled element outside its body and recipients whose label holds an address. */
function senderOf(item: HTMLElement, body: HTMLElement): Recipient | null {
  for (const el of item.querySelectorAll<HTMLElement>(sel.itemSenderCandidates)) {
    if (body.contains(el) || !isSenderLabel(el)) continue;
    const label = el.getAttribute('aria-label') ?? '';
    const address = EMAIL.exec(label)![0];
    // "From: Ada Lovelace <ada@…>": the name between the prefix and the address, when the label gives one.
    const named = label.slice(label.indexOf(':') + 1).replace(address, '').replace(/[<>]/g, '').trim();
    const text = el.textContent?.trim() ?? '';
    // Shown text that is an address (the real templates show one) is no name.
    const name = named || (text && !EMAIL.test(text) ? text : null);
    return { name, address };
  }
  return null;
}

/** The conversation's items in page order; [] when no conversation this reader knows is open. */
export function readOutlookConversation(root: ParentNode, pixelBase: string, lang: string): ReadMessage[] {
  const conversation = root.querySelector(sel.conversation);
  if (!conversation) return [];
  const messages: ReadMessage[] = [];
  for (const body of conversation.querySelectorAll<HTMLElement>(sel.messageView)) {
    if (body.closest('[contenteditable="true"]')) continue; // an inline reply's editor, not an item
    const item = itemOf(body, conversation);
    const from = senderOf(item, body);
    if (!from) continue; // an item laid out in a way this reader does not know is left out
    const time = item.querySelector(sel.itemTime);
    const at = parseShownTime(time?.getAttribute('title'), lang) ?? parseShownTime(time?.textContent, lang);
    const trackers = [...body.querySelectorAll('img')]
      .map((img) => trackerFromSrc(img.getAttribute('src') ?? '', pixelBase))
      .filter((t): t is string => t !== null);
    messages.push({ from, at, trackers });
  }
  return messages;
}

/** Every tracked item of the open conversation that has a reply, with the reply. */
export function repliesInOutlookConversation(root: ParentNode, pixelBase: string, own: readonly string[], lang: string): { tracker: string; reply: Reply }[] {
  return trackedReplies(readOutlookConversation(root, pixelBase, lang), own);
}

/** The signed-in address: the folder tree's mailbox root (its `title`), else the account flyout's when open. */
export function outlookOwnAddresses(doc: Document): string[] {
  const shown = doc.querySelector(sel.ownAddress)?.getAttribute('title') ?? doc.querySelector(sel.ownAddressFallback)?.textContent ?? '';
  const address = EMAIL.exec(shown)?.[0];
  return address ? [address.toLowerCase()] : [];
}

/** Watches the reading pane's conversations and reports each reply once per page load; stops when `signal` aborts. */
export function watchOutlookReplies(doc: Document, pixelBase: string, report: ReportReply, signal: AbortSignal): void {
  const lang = doc.documentElement.lang || navigator.language || '';
  watchReplies(doc, outlookOwnAddresses, (own) => repliesInOutlookConversation(doc, pixelBase, own, lang), report, signal);
}
