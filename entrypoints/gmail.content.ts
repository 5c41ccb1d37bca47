import { defineContentScript } from 'wxt/utils/define-content-script';
import { startComposeTracking } from '../lib/compose';
import { gmail } from '../lib/webmail/gmail';

export default defineContentScript({
  matches: ['https://mail.google.com/*'],
  runAt: 'document_idle',
  main(ctx) {
    startComposeTracking(gmail, ctx);
  },
});
