import { render } from 'preact';
import { Onboarding } from '../../components/onboarding/Onboarding';
import '../../components/options/options.css';
import '../../components/onboarding/checklist.css';
import { localizePage, t } from '../../lib/i18n';
import { createOnboardingModel } from '../../lib/state/onboarding';

localizePage(t('onboarding.title'));

const model = createOnboardingModel();
render(<Onboarding model={model} />, document.getElementById('app')!);
// The checklist runs by itself on the configured server as soon as the page opens.
void model.load().then(() => model.checklist.run());
