/** The setup page opened on install (entrypoints/onboarding): what OpenPing learns, the server, the checklist. */
import { t } from '../../lib/i18n';
import type { OnboardingModel } from '../../lib/state/onboarding';
import { Checklist } from './Checklist';

// The page's words are in locales/*.yml (`onboarding.*`, STYLE §14).
const LEARNS = ['onboarding.learns1', 'onboarding.learns2', 'onboarding.learns3'] as const;
const NOT_LEARNS = ['onboarding.notLearns1', 'onboarding.notLearns2', 'onboarding.notLearns3'] as const;

export function Onboarding({ model }: { model: OnboardingModel }) {
  const notice = model.notice.value;
  return (
    <main class="options onboarding" data-openping="onboarding">
      <h1>{t('onboarding.title')}</h1>
      <p>{t('onboarding.intro')}</p>
      <div class="learns">
        <section>
          <h2>{t('onboarding.learnsTitle')}</h2>
          <ul>
            {LEARNS.map((key) => (
              <li key={key}>{t(key)}</li>
            ))}
          </ul>
        </section>
        <section>
          <h2>{t('onboarding.notLearnsTitle')}</h2>
          <ul>
            {NOT_LEARNS.map((key) => (
              <li key={key}>{t(key)}</li>
            ))}
          </ul>
        </section>
      </div>

      <section>
        <h2>{t('onboarding.serverTitle')}</h2>
        <p class="hint">{t('onboarding.serverHint')}</p>
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            void model.useServer();
          }}
        >
          <label>
            {t('onboarding.serverLabel')}
            <input
              type="text"
              inputMode="url"
              name="server"
              value={model.serverDraft.value}
              aria-invalid={notice?.kind === 'error' ? 'true' : undefined}
              aria-describedby="server-notice"
              onInput={(e) => (model.serverDraft.value = (e.currentTarget as HTMLInputElement).value)}
            />
          </label>
          <button type="submit" data-action="use-server" disabled={model.busy.value}>
            {t('onboarding.use')}
          </button>
        </form>
        <p
          id="server-notice"
          class={notice ? `notice notice--${notice.kind}` : undefined}
          role={notice?.kind === 'error' ? 'alert' : 'status'}
          data-openping="notice"
        >
          {notice?.text ?? ''}
        </p>
      </section>

      <Checklist model={model.checklist} />

      <p>
        <a href="/options.html">{t('onboarding.optionsLink')}</a>
      </p>
    </main>
  );
}
