/**
 * Starts reply detection in a webmail tab (issue 19): asks the background for the pixel base, runs the
 * site's reader, and hands each reply to the background, which keeps it (lib/reply-store.ts).
 */
import { send } from '../../messages';
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
