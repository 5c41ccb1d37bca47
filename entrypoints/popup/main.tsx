import { render } from 'preact';
import { Popup } from '../../components/popup/Popup';
import '../../components/popup/popup.css';
import { send } from '../../lib/messages';
import { createAnyAppModel } from '../../lib/state/anyapp';
import { createEmailsModel } from '../../lib/state/emails';
import { localizePage, t } from '../../lib/i18n';

localizePage(t('ext.name'));
const model = createEmailsModel();
const anyApp = createAnyAppModel();
void anyApp.load();
anyApp.watch();
const tracker = new URLSearchParams(location.search).get('tracker');
render(<Popup model={model} anyApp={anyApp} />, document.getElementById('app')!);
void model.load().then(() => {
  performance.mark('openping:all-loaded');
  if (tracker) void model.select(tracker);
  // Opening the popup is looking at the news: clear the badge, and fetch what is new right away.
  // After the first read, so the background's writes never hold up the list.
  void send({ type: 'markSeen' }).catch(() => {});
  void send({ type: 'syncNow' }).catch(() => {});
});
