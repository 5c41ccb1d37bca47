/**
 * The webmail view features of a page (STYLE §16), each in its own file, registered with the
 * adapter and cancelled by the content script's one signal: the compose switch
 * (lib/compose.ts), ids at send, list marks, the thread status line.
 */
import type { ContentScriptContext } from 'wxt/utils/content-script-context';
import { startComposeTracking } from '../../compose';
import { createMarksSource } from '../../marks/client';
import type { WebmailAdapter } from '../types';
import { startListMarks } from './list-marks';
import { rowReplies } from './replies';
import type { startSentIds } from './sent-ids';
import { startThreadStatus } from './thread-status';

/**
 * `sentIds`: the ids-at-send feature, passed by entrypoints whose webmail shows a notice after a
 * send (Gmail), so the others do not carry it (each content script is held to 25 KB gzipped).
 */
export function startWebmailFeatures(adapter: WebmailAdapter, ctx: ContentScriptContext, sentIdsFeature?: typeof startSentIds): void {
  const views = adapter.views;
  if (!views) {
    startComposeTracking(adapter, ctx);
    return;
  }
  const source = createMarksSource(adapter.name, ctx.signal);
  const sentIds = sentIdsFeature?.(views, document, source, ctx.signal);
  startComposeTracking(adapter, ctx, document, sentIds && ((tracker) => sentIds.sent(tracker)));
  startListMarks({ webmail: adapter.name, views, doc: document, source, signal: ctx.signal, onMatch: rowReplies(views, document, source) });
  startThreadStatus({ webmail: adapter.name, views, doc: document, source, signal: ctx.signal });
}
