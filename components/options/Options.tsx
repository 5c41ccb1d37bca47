import { useSignal } from '@preact/signals';
import { Devices } from './Devices';
import { t } from '../../lib/i18n';
import { NotificationHygiene } from './Notifications';
import type { OptionsModel } from '../../lib/state/options';
import { Checklist } from '../onboarding/Checklist';

function download(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function Options({ model }: { model: OptionsModel }) {
  const confirmDelete = useSignal(false);
  const s = model.settings.value;
  const quietOn = s.quietFrom !== null && s.quietTo !== null;
  const notice = model.notice.value;

  return (
    <main class="options" data-openping="options">
      <h1>{t('options.title')}</h1>
      {notice && (
        <p class={`notice notice--${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'} data-openping="notice">
          {notice.text}
        </p>
      )}

      <section>
        <h2>{t('options.serverHeading')}</h2>
        <p class="hint">{t('options.serverHint')}</p>
        <label>
          {t('options.serverUrl')}
          <input
            type="text"
            inputMode="url"
            name="server"
            value={model.serverDraft.value}
            onInput={(e) => (model.serverDraft.value = (e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <div class="row">
          <button type="button" data-action="save-server" disabled={model.busy.value} onClick={() => void model.saveServer()}>
            {t('options.save')}
          </button>
        </div>
        <p class="hint" data-openping="account">
          {model.account.value ? t('options.account', { account: model.account.value }) : t('options.noAccount')}
        </p>
        <label class="check">
          <input
            type="checkbox"
            name="allowLocalServer"
            checked={s.allowLocalServer}
            onChange={(e) => void model.update({ allowLocalServer: (e.currentTarget as HTMLInputElement).checked })}
          />
          {t('optionsSetup.allowLocal')}
        </label>
        <p class="hint">{t('optionsSetup.allowLocalHint')}</p>
        <Checklist model={model.checklist} />
        <p class="hint">
          <a href="/onboarding.html">{t('optionsSetup.setupLink')}</a>
        </p>
      </section>

      <section>
        <h2>{t('options.trackingHeading')}</h2>
        <label class="check">
          <input
            type="checkbox"
            name="trackByDefault"
            checked={s.trackByDefault}
            onChange={(e) => void model.update({ trackByDefault: (e.currentTarget as HTMLInputElement).checked })}
          />
          {t('options.trackByDefault')}
        </label>
      </section>

      <section>
        <h2>{t('options.notificationsHeading')}</h2>
        <label class="check">
          <input
            type="checkbox"
            name="notifyFirstOpens"
            checked={s.notifyFirstOpens}
            onChange={(e) => void model.update({ notifyFirstOpens: (e.currentTarget as HTMLInputElement).checked })}
          />
          {t('options.notifyFirstOpens')}
        </label>
        <label class="check">
          <input
            type="checkbox"
            name="notifyReopens"
            checked={s.notifyReopens}
            onChange={(e) => void model.update({ notifyReopens: (e.currentTarget as HTMLInputElement).checked })}
          />
          {t('options.notifyReopens')}
        </label>
        <label class="check">
          <input
            type="checkbox"
            name="quiet"
            checked={quietOn}
            onChange={(e) =>
              void model.update(
                (e.currentTarget as HTMLInputElement).checked
                  ? { quietFrom: '22:00', quietTo: '07:00' }
                  : { quietFrom: null, quietTo: null },
              )
            }
          />
          {t('options.quietHours')}
        </label>
        {quietOn && (
          <div class="row">
            <label>
              {t('options.quietFrom')}
              <input
                type="time"
                name="quietFrom"
                value={s.quietFrom ?? ''}
                onChange={(e) => void model.update({ quietFrom: (e.currentTarget as HTMLInputElement).value || null })}
              />
            </label>
            <label>
              {t('options.quietTo')}
              <input
                type="time"
                name="quietTo"
                value={s.quietTo ?? ''}
                onChange={(e) => void model.update({ quietTo: (e.currentTarget as HTMLInputElement).value || null })}
              />
            </label>
          </div>
        )}
        <NotificationHygiene model={model} />
      </section>

      <section>
        <h2>{t('options.dataHeading')}</h2>
        <div class="row">
          <button
            type="button"
            data-action="export"
            onClick={() => void model.exportCsv().then(({ filename, csv }) => download(filename, csv))}
          >
            {t('options.export')}
          </button>
          {confirmDelete.value ? (
            <>
              <button
                type="button"
                class="danger"
                data-action="confirm-delete-all"
                disabled={model.busy.value}
                onClick={() => void model.deleteEverything().then(() => (confirmDelete.value = false))}
              >
                {t('options.confirmDeleteAll')}
              </button>
              <button type="button" onClick={() => (confirmDelete.value = false)}>
                {t('options.cancel')}
              </button>
            </>
          ) : (
            <button type="button" class="danger" data-action="delete-all" onClick={() => (confirmDelete.value = true)}>
              {t('options.deleteAll')}
            </button>
          )}
        </div>
        <p class="hint">{t('options.deleteHint')}</p>
      </section>
      <Devices />
    </main>
  );
}
