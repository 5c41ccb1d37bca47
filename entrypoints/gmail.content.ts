import { defineContentScript } from 'wxt/utils/define-content-script';
import { startComposeTracking } from '../lib/compose';
import { gmail } from '../lib/webmail/gmail';
import { startReplyDetection } from '../lib/webmail/features/replies';

export default defineContentScript({
  matches: ['https://mail.google.com/*'],
  runAt: 'document_idle',
  main(ctx) {
    startComposeTracking(gmail, ctx);
    void startReplyDetection('gmail', document, ctx.signal);
  },
});
