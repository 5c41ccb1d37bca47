import { defineContentScript } from 'wxt/utils/define-content-script';
import { startWebmailFeatures } from '../lib/webmail/features';
import { startReplyDetection } from '../lib/webmail/features/replies';
import { watchOutlookReplies } from '../lib/webmail/features/replies-outlook';
import { outlook } from '../lib/webmail/outlook';

export default defineContentScript({
  // Outlook on the web: personal (live.com) and work or school (office.com, office365.com).
  matches: ['https://outlook.live.com/*', 'https://outlook.office.com/*', 'https://outlook.office365.com/*'],
  runAt: 'document_idle',
  main(ctx) {
    startWebmailFeatures(outlook, ctx);
    void startReplyDetection(watchOutlookReplies, document, ctx.signal);
  },
});
