import { defineContentScript } from 'wxt/utils/define-content-script';
import { startWebmailFeatures } from '../lib/webmail/features';
import { startSentIds } from '../lib/webmail/features/sent-ids';
import { gmail } from '../lib/webmail/gmail';
import { startReplyDetection } from '../lib/webmail/features/replies';
import { watchGmailReplies } from '../lib/webmail/features/replies-gmail';

export default defineContentScript({
  matches: ['https://mail.google.com/*'],
  runAt: 'document_idle',
  main(ctx) {
    startWebmailFeatures(gmail, ctx, startSentIds);
    void startReplyDetection(watchGmailReplies, document, ctx.signal);
  },
});
