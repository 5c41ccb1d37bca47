/**
 * Ids at send (issue 16, STYLE §16): after a tracked send, the page may show the new
 * message's ids (Gmail's "Message sent · View message"). They are kept with the email, so
 * its list rows match by id. One send waiting at a time: with two sends waiting, a notice
 * could belong to either, and none is kept (the rows then match by subject where unambiguous).
 */
import type { MarksSource } from '../../marks/client';
import type { WebmailViews } from '../types';

/** A notice later than this after the send is not taken for it. */
const NOTICE_WINDOW_MS = 30_000;

interface Waiting {
  tracker: string;
  at: number;
}

export interface SentIds {
  /** Called by the compose controller right after a tracked send. */
  sent(tracker: string): void;
}

export function startSentIds(views: WebmailViews, doc: Document, source: Pick<MarksSource, 'request'>, signal: AbortSignal): SentIds {
  const selector = views.sentNoticeSelector;
  const read = views.sentNoticeIds;
  if (!selector || !read) return { sent: () => undefined };
  let waiting: Waiting[] = [];
  let observer: MutationObserver | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const stop = () => {
    observer?.disconnect();
    observer = null;
    clearTimeout(timer);
  };
  const check = (link: Element) => {
    waiting = waiting.filter((w) => Date.now() - w.at <= NOTICE_WINDOW_MS);
    const ids = read(link);
    if (!ids) return;
    if (waiting.length === 1) void source.request({ type: 'ids', tracker: waiting[0]!.tracker, ids });
    waiting = [];
    stop();
  };

  signal.addEventListener('abort', stop, { once: true });
  return {
    sent(tracker) {
      if (signal.aborted) return;
      waiting.push({ tracker, at: Date.now() });
      if (observer) return;
      // Watches only while a send waits for its notice; the notice (or its link's `param`) is
      // new or rewritten after the send, so what was on the page before is not read.
      observer = new MutationObserver((records) => {
        for (const record of records) {
          const target = record.target as Element;
          if (record.type === 'attributes' && target.matches?.(selector)) return check(target);
          for (const node of record.addedNodes) {
            if (node.nodeType !== 1) continue;
            const el = node as Element;
            const link = el.matches(selector) ? el : el.querySelector(selector);
            if (link) return check(link);
          }
        }
      });
      observer.observe(doc.body, { childList: true, subtree: true, attributes: true, attributeFilter: ['param'] });
      // One timeout, not a poll: a notice that never comes ends the watch.
      timer = setTimeout(() => {
        waiting = [];
        stop();
      }, NOTICE_WINDOW_MS);
    },
  };
}
