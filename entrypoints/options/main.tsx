import { render } from 'preact';
import { Options } from '../../components/options/Options';
import '../../components/options/options.css';
import '../../components/onboarding/checklist.css';
import { createOptionsModel } from '../../lib/state/options';
import { localizePage, t } from '../../lib/i18n';

localizePage(t('options.title'));
const model = createOptionsModel();
render(<Options model={model} />, document.getElementById('app')!);
void model.load();
