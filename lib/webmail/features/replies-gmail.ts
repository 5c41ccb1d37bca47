/**
 * Reply detection in Gmail's open thread (issue 19 item 1; STYLE §16: one
 * view feature per file). The thread is recognised by the tracked message in
 * it — the user's own message carrying their pixel — not by its subject,
 * which a recipient may change; every later message from someone else is a
 * reply (lib/replies.ts decides). What is read stays in the browser. List
 * rows are read by gmail.ts `gmailRowActivity` (features/replies.ts `replyOfRow`).
 */
import { trackerFromSrc } from '../../pixel';
import { parseShownTime, trackedReplies, type ReadMessage, type Reply } from '../../replies';
import * as S from '../gmail-selectors';
import { watchReplies, type ReportReply } from './replies-watch';

function first<E extends Element = HTMLElement>(root: ParentNode, selector: readonly string[]): E | null {
  for (const s of selector) {
    const found = root.querySelector<E>(s);
    if (found) return found;
  }
  return null;
}

function all(root: ParentNode, selector: readonly string[]): HTMLElement[] {
  for (const s of selector) {
    const found = [...root.querySelectorAll<HTMLElement>(s)];
    if (found.length) return found;
  }
  return [];
}

/**
 * When a Gmail message was received, from its legacy id: the id's upper bits are its time in epoch ms
 * (the hex id shifted right by 20 bits; documented by the gmail.js and Gmail API communities, e.g.
 * stackoverflow.com/q/28577795), so no localized date needs parsing. Null for anything else.
 */
export function timeOfMessageId(id: string | null): number | null {
  if (!id || !/^[0-9a-f]{12,16}$/i.test(id)) return null;
  const ms = Number(BigInt(`0x${id}`) >> 20n);
  // Gmail began in 2004; anything outside 2004..2100 is not a time-based id.
  return ms > 1_072_915_200_000 && ms < 4_102_444_800_000 ? ms : null;
}

export type GmailThreadMessage = ReadMessage;

/** The messages an open thread shows, in page order; [] when the page shows no thread this reader knows. */
export function readGmailThread(root: ParentNode, pixelBase: string, lang = ''): GmailThreadMessage[] {
  return all(root, S.threadMessage).map((node) => {
    const sender = first(node, S.messageSender);
    const address = sender?.getAttribute('email')?.trim() ?? '';
    const name = sender?.getAttribute('name')?.trim() || sender?.textContent?.trim() || null;
    const byId = timeOfMessageId(node.getAttribute('data-legacy-message-id'));
    // The shown date is the fallback, read only where it cannot be misread (day and month order).
    const parsed = parseShownTime(first(node, S.messageDate)?.getAttribute('title'), lang);
    const trackers = [...node.querySelectorAll('img')]
      .map((img) => trackerFromSrc(img.getAttribute('src') ?? '', pixelBase))
      .filter((t): t is string => t !== null);
    return { from: { name, address }, at: byId ?? parsed, trackers };
  });
}

/** Every tracked message of the thread that has a reply, with the reply. */
export function repliesInGmailThread(root: ParentNode, pixelBase: string, own: readonly string[], lang = ''): { tracker: string; reply: Reply }[] {
  return trackedReplies(readGmailThread(root, pixelBase, lang), own);
}

/** The signed-in address Gmail puts in the tab title ("Inbox - ada@example.com - Gmail"). */
export function gmailOwnAddresses(doc: Document): string[] {
  return doc.title.match(/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g) ?? [];
}

/** Watches the page for open threads and reports each reply once per page load; stops when `signal` aborts. */
export function watchGmailReplies(doc: Document, pixelBase: string, report: ReportReply, signal: AbortSignal): void {
  const lang = doc.documentElement.lang || navigator.language || '';
  watchReplies(doc, gmailOwnAddresses, (own) => repliesInGmailThread(doc, pixelBase, own, lang), report, signal);
}
