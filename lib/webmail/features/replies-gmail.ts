/**
 * Reply detection in Gmail's open thread (issue 19 item 1; STYLE §16: one
 * view feature per file). The thread is recognised by the tracked message in
 * it — the user's own message carrying their pixel — not by its subject,
 * which a recipient may change; every later message from someone else is a
 * reply (lib/replies.ts decides). What is read stays in the browser.
 *
 * Not covered yet: list rows (message count and participants, lib/replies.ts
 * `replyFromRow`) need the row marks' thread ids (issue 16's list marks).
 */
import { trackerFromSrc } from '../../pixel';
import { findReply, type Reply, type ThreadMessage } from '../../replies';
import * as S from '../gmail-selectors';

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

export interface GmailThreadMessage extends ThreadMessage {
  /** OpenPing trackers whose pixel this message carries (the user's sent message). */
  trackers: string[];
}

/** The messages an open thread shows, in page order; [] when the page shows no thread this reader knows. */
export function readGmailThread(root: ParentNode, pixelBase: string): GmailThreadMessage[] {
  return all(root, S.threadMessage).map((node) => {
    const sender = first(node, S.messageSender);
    const address = sender?.getAttribute('email')?.trim() ?? '';
    const name = sender?.getAttribute('name')?.trim() || sender?.textContent?.trim() || null;
    const byId = timeOfMessageId(node.getAttribute('data-legacy-message-id'));
    const titled = first(node, S.messageDate)?.getAttribute('title');
    const parsed = titled ? Date.parse(titled) : NaN;
    const trackers = [...node.querySelectorAll('img')]
      .map((img) => trackerFromSrc(img.getAttribute('src') ?? '', pixelBase))
      .filter((t): t is string => t !== null);
    return { from: { name, address }, at: byId ?? (Number.isFinite(parsed) ? parsed : null), trackers };
  });
}

/** Every tracked message of the thread that has a reply, with the reply. */
export function repliesInGmailThread(root: ParentNode, pixelBase: string, own: readonly string[]): { tracker: string; reply: Reply }[] {
  const messages = readGmailThread(root, pixelBase);
  const found: { tracker: string; reply: Reply }[] = [];
  for (const message of messages) {
    if (message.at === null) continue;
    for (const tracker of message.trackers) {
      const reply = findReply(message.at, messages, own);
      if (reply) found.push({ tracker, reply });
    }
  }
  return found;
}

/** The signed-in address Gmail puts in the tab title ("Inbox - ada@example.com - Gmail"). */
function ownAddresses(doc: Document): string[] {
  return doc.title.match(/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g) ?? [];
}

/**
 * Watches the page for open threads and reports each reply once per page load. A MutationObserver on
 * the page, not a timer (STYLE §4); stops when `signal` aborts.
 */
export function watchGmailReplies(
  doc: Document,
  pixelBase: string,
  report: (tracker: string, reply: Reply, own: string[]) => void,
  signal: AbortSignal,
): void {
  const reported = new Set<string>();
  let queued = false;
  const scan = () => {
    queued = false;
    if (signal.aborted) return;
    const own = ownAddresses(doc);
    if (own.length === 0) return; // Not knowing the user, nothing is guessed.
    for (const { tracker, reply } of repliesInGmailThread(doc, pixelBase, own)) {
      const key = `${tracker}|${reply.by.address}|${reply.at}|${reply.others.length}`;
      if (reported.has(key)) continue;
      reported.add(key);
      report(tracker, reply, own);
    }
  };
  const observer = new MutationObserver(() => {
    if (!queued) {
      queued = true;
      queueMicrotask(scan);
    }
  });
  observer.observe(doc.body, { childList: true, subtree: true });
  signal.addEventListener('abort', () => observer.disconnect(), { once: true });
  scan();
}
