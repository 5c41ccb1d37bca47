/**
 * Starts reply detection in a webmail tab (issue 19): asks the background for the pixel base, runs the
 * site's reader, and hands each reply to the background, which keeps it (lib/reply-store.ts).
 */
import { send } from '../../messages';
import type { Webmail } from '../types';
import { watchGmailReplies } from './replies-gmail';

export async function startReplyDetection(site: Webmail, doc: Document, signal: AbortSignal): Promise<void> {
  const { pixelBase } = await send({ type: 'identity' }).catch(() => ({ pixelBase: null }));
  if (!pixelBase || signal.aborted) return;
  const report = (tracker: string, reply: Parameters<Parameters<typeof watchGmailReplies>[2]>[1], own: string[]) =>
    void send({ type: 'replied', tracker, reply, own }).catch(() => {
      // "Extension context invalidated" after an update: expected (STYLE §4).
    });
  // Outlook's reader is not written yet (its conversation items need the fixture's reading pane).
  if (site === 'gmail') watchGmailReplies(doc, pixelBase, report, signal);
}
