/**
 * The one watcher both reply readers share (issue 19): a MutationObserver on the page, not a timer
 * (STYLE §4), that rescans after changes and reports each reply once per page load.
 */
import type { Reply } from '../../replies';

export type ReportReply = (tracker: string, reply: Reply, own: string[]) => void;

export function watchReplies(
  doc: Document,
  ownOf: (doc: Document) => string[],
  find: (own: string[]) => { tracker: string; reply: Reply }[],
  report: ReportReply,
  signal: AbortSignal,
): void {
  const reported = new Set<string>();
  let queued = false;
  const scan = () => {
    queued = false;
    if (signal.aborted) return;
    const own = ownOf(doc);
    if (own.length === 0) return; // Not knowing the user, nothing is guessed.
    for (const { tracker, reply } of find(own)) {
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
