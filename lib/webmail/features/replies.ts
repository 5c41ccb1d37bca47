/**
 * Starts reply detection in a webmail tab (issue 19): asks the background for the pixel base, runs the
 * site's reader, and hands each reply to the background, which keeps it (lib/reply-store.ts).
 */
import type { MarksSource } from '../../marks/client';
import { send, type MarkInfo } from '../../messages';
import { replyFromRow, type Reply } from '../../replies';
import type { WebmailViews } from '../types';
import type { ReportReply } from './replies-watch';

/**
 * `watch`: the site's open-thread reader (replies-gmail.ts or replies-outlook.ts), passed by each
 * entrypoint so a content script carries only its own site's reader.
 */
export async function startReplyDetection(
  watch: (doc: Document, pixelBase: string, report: ReportReply, signal: AbortSignal) => void,
  doc: Document,
  signal: AbortSignal,
): Promise<void> {
  const { pixelBase } = await send({ type: 'identity' }).catch(() => ({ pixelBase: null }));
  if (!pixelBase || signal.aborted) return;
  const report: ReportReply = (tracker, reply, own) =>
    void send({ type: 'replied', tracker, reply, own }).catch(() => {
      // "Extension context invalidated" after an update: expected (STYLE §4).
    });
  watch(doc, pixelBase, report, signal);
}

/**
 * A reply a list row shows for a tracked message (lib/replies.ts `replyFromRow`): only for a message that
 * began its thread (one message at send), so a higher count with another participant is someone else's
 * later message. A row whose layout the site's adapter does not know (`rowActivity` null) guesses nothing.
 */
export function replyOfRow(views: WebmailViews, row: HTMLElement, mark: MarkInfo, own: readonly string[]): Reply | null {
  if (!mark.startedThread || mark.sentAt === null || mark.state === 'replied' || !views.rowActivity) return null;
  const activity = views.rowActivity(row);
  return activity ? replyFromRow(activity, { count: 1, at: mark.sentAt }, own) : null;
}

/** The list marks' hook for replies seen in rows: reports each (tracker, reply time) once per page load. */
export function rowReplies(views: WebmailViews, doc: Document, source: MarksSource): ((row: HTMLElement, mark: MarkInfo) => void) | undefined {
  const ownOf = views.ownAddresses;
  if (!views.rowActivity || !ownOf) return undefined;
  const reported = new Set<string>();
  return (row, mark) => {
    const own = ownOf(doc);
    if (own.length === 0) return; // Not knowing the user, nothing is guessed.
    const reply = replyOfRow(views, row, mark, own);
    if (!reply) return;
    const key = `${mark.tracker}|${reply.at}`;
    if (reported.has(key)) return;
    reported.add(key);
    void source.request({ type: 'replied', tracker: mark.tracker, reply, own });
  };
}
