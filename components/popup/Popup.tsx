import { useEffect, useMemo } from 'preact/hooks';
import type { AnyAppModel } from '../../lib/state/anyapp';
import type { EmailsModel, Filter } from '../../lib/state/emails';
import { createSetupStatusModel, type SetupStatusModel } from '../../lib/state/setup-status';
import { t } from '../../lib/i18n';
import { timeAgo } from '../../lib/state/format';
import { AnyAppPanel } from './AnyApp';
import { EmailDetail } from './EmailDetail';
import { EmailList } from './EmailList';
import { Reminders } from './Reminders';

const FILTERS: Array<[Filter, () => string]> = [
  ['all', () => t('popup.filterAll')],
  ['opened', () => t('popup.filterOpened')],
  ['unopened', () => t('popup.filterUnopened')],
];

/**
 * Setup incomplete (issue 15 item 7): no account yet, or a pixel URL recipients
 * cannot reach. Not an error (a fresh install is not broken), and nothing is
 * recorded meanwhile, so it says neither; one button leads to the setup page.
 */
function SetupBanner({ setup }: { setup: SetupStatusModel }) {
  const problem = setup.problem.value;
  if (!problem) return null;
  return (
    <div class="banner banner--setup" role="status" data-openping="setup" data-problem={problem.code}>
      <strong>{t('popupSetup.headline')}</strong>
      <span class="banner__detail">
        {problem.message} {t('popupSetup.untracked')}
      </span>
      <span class="banner__actions">
        <a class="button" href="/onboarding.html" target="_blank" data-action="setup">
          {t('popupSetup.button')}
        </a>
      </span>
    </div>
  );
}

function StatusBanner({ model }: { model: EmailsModel }) {
  const status = model.status.value;
  if (status.state === 'ok' || status.state === 'connecting') return null;
  const headline =
    status.state === 'unauthorized'
      ? t('popup.bannerUnauthorized')
      : status.state === 'offline'
        ? t('popup.bannerOffline')
        : t('popup.bannerError');
  return (
    <div class="banner" role="alert" data-openping="error" data-status={status.state}>
      <strong>{headline}</strong>
      {status.message && <span class="banner__detail">{status.message}</span>}
      <span class="banner__detail">
        {status.lastOkAt !== null ? `${t('popup.lastInTouch', { ago: timeAgo(status.lastOkAt) })} ` : ''}
        {t('popup.bannerMeanwhile')}
      </span>
      <span class="banner__actions">
        <button type="button" disabled={model.busy.value} onClick={() => void model.retry()}>
          {model.busy.value ? t('popup.retrying') : t('popup.retry')}
        </button>
        <a href="/options.html" target="_blank">
          {t('popup.settings')}
        </a>
      </span>
    </div>
  );
}

function EmptyState({ model }: { model: EmailsModel }) {
  return (
    <div class="empty" data-openping="empty">
      <p>
        <strong>{t('popup.emptyTitle')}</strong>
      </p>
      <ol>
        <li>{t('popup.emptyStep1')}</li>
        <li>{t('popup.emptyStep2')}</li>
        <li>{t('popup.emptyStep3')}</li>
      </ol>
      <p class="note">{t('popup.emptyNote')}</p>
      {model.server.value && <p class="note">{t('popup.emptyServer', { server: model.server.value })}</p>}
    </div>
  );
}

export function Popup({ model, setup: given, anyApp }: { model: EmailsModel; setup?: SetupStatusModel; anyApp?: AnyAppModel }) {
  useEffect(() => model.watch(), [model]);
  const setup = useMemo(() => given ?? createSetupStatusModel(), [given]);
  useEffect(() => setup.watch(), [setup]);
  // While setup is incomplete, the setup banner says what is wrong; a server error on top would
  // claim opens are recorded meanwhile, which they are not (issue 15 item 7).
  const setupKnown = setup.problem.value !== undefined;
  const needsSetup = setup.problem.value != null;
  const selected = model.selected.value;
  const total = model.total.value;
  const visible = model.visible.value;
  const searching = model.query.value.trim() !== '' || model.filter.value !== 'all';

  return (
    <main data-openping="popup" class="popup">
      <header class="header">
        <h1>{t('ext.name')}</h1>
        <a class="header__settings" href="/options.html" target="_blank" title={t('popup.settings')}>
          {t('popup.settings')}
        </a>
      </header>
      {needsSetup ? <SetupBanner setup={setup} /> : setupKnown && <StatusBanner model={model} />}
      {!selected && anyApp && !needsSetup && <AnyAppPanel model={anyApp} />}
      {selected ? (
        <EmailDetail
          email={selected}
          hits={model.selectedHits.value}
          anyApp={anyApp}
          onBack={() => void model.select(null)}
          onOpenThread={(t) => void model.openThread(t)}
          onStop={(t) => void model.stopTracking(t)}
          onDelete={(t) => void model.remove(t)}
          onMute={(t, muted) => void model.mute(t, muted)}
        />
      ) : !model.ready.value ? null : total === 0 && model.emails.value.length === 0 ? (
        <EmptyState model={model} />
      ) : (
        <>
          <Reminders emails={model.emails.value} onOpen={(t) => void model.select(t)} />
          <div class="tools">
            <input
              type="search"
              data-openping="search"
              placeholder={t('popup.search')}
              aria-label={t('popup.search')}
              value={model.query.value}
              onInput={(e) => (model.query.value = (e.currentTarget as HTMLInputElement).value)}
            />
            <div class="filters" role="group" aria-label={t('popup.filterLabel')}>
              {FILTERS.map(([value, label]) => (
                <button
                  type="button"
                  key={value}
                  data-filter={value}
                  aria-pressed={model.filter.value === value}
                  onClick={() => (model.filter.value = value)}
                >
                  {label()}
                </button>
              ))}
            </div>
          </div>
          {searching && visible.length === 0 ? (
            <p class="empty" data-openping="no-match">
              {model.complete.value ? t('popup.noMatch') : t('popup.searching')}
            </p>
          ) : (
            <EmailList emails={visible} total={searching ? visible.length : total} onOpen={(t) => void model.select(t)} />
          )}
        </>
      )}
    </main>
  );
}
