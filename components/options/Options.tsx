import { useSignal } from '@preact/signals';
import { Devices } from './Devices';
import { NotificationHygiene } from './Notifications';
import type { OptionsModel } from '../../lib/state/options';
import { Checklist } from '../onboarding/Checklist';

// This page's server and setup words, kept together for the browser's i18n (STYLE §14).
const TEXT = {
  account: (fingerprint: string) => `Account ${fingerprint}`,
  noAccount: 'No account on this server yet.',
  allowLocal: 'Allow a local server (for testing)',
  allowLocalHint:
    'Tracks through a server on this machine, your network or plain http. Recipients cannot load such pixels, so only use it to try OpenPing out.',
  setupLink: 'Open the setup page',
} as const;

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
      <h1>OpenPing settings</h1>
      {notice && (
        <p class={`notice notice--${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'} data-openping="notice">
          {notice.text}
        </p>
      )}

      <section>
        <h2>Tracking server</h2>
        <p class="hint">
          The server your pixels point to. Recipients’ mail clients must reach it, so use a public https URL. It learns
          only that a tracker was fetched — never subjects, recipients or text.
        </p>
        <label>
          Server URL
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
            Save server
          </button>
        </div>
        <p class="hint" data-openping="account">
          {model.account.value ? TEXT.account(model.account.value) : TEXT.noAccount}
        </p>
        <label class="check">
          <input
            type="checkbox"
            name="allowLocalServer"
            checked={s.allowLocalServer}
            onChange={(e) => void model.update({ allowLocalServer: (e.currentTarget as HTMLInputElement).checked })}
          />
          {TEXT.allowLocal}
        </label>
        <p class="hint">{TEXT.allowLocalHint}</p>
        <Checklist model={model.checklist} />
        <p class="hint">
          <a href="/onboarding.html">{TEXT.setupLink}</a>
        </p>
      </section>

      <section>
        <h2>Tracking</h2>
        <label class="check">
          <input
            type="checkbox"
            name="trackByDefault"
            checked={s.trackByDefault}
            onChange={(e) => void model.update({ trackByDefault: (e.currentTarget as HTMLInputElement).checked })}
          />
          Track new messages by default
        </label>
      </section>

      <section>
        <h2>Notifications</h2>
        <label class="check">
          <input
            type="checkbox"
            name="notifyReopens"
            checked={s.notifyReopens}
            onChange={(e) => void model.update({ notifyReopens: (e.currentTarget as HTMLInputElement).checked })}
          />
          Notify when a message is opened again (at most once an hour per message)
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
          Quiet hours
        </label>
        {quietOn && (
          <div class="row">
            <label>
              from
              <input
                type="time"
                name="quietFrom"
                value={s.quietFrom ?? ''}
                onChange={(e) => void model.update({ quietFrom: (e.currentTarget as HTMLInputElement).value || null })}
              />
            </label>
            <label>
              to
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
        <h2>Your data</h2>
        <div class="row">
          <button
            type="button"
            data-action="export"
            onClick={() => void model.exportCsv().then(({ filename, csv }) => download(filename, csv))}
          >
            Export all as CSV
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
                Yes, delete everything
              </button>
              <button type="button" onClick={() => (confirmDelete.value = false)}>
                Cancel
              </button>
            </>
          ) : (
            <button type="button" class="danger" data-action="delete-all" onClick={() => (confirmDelete.value = true)}>
              Delete everything…
            </button>
          )}
        </div>
        <p class="hint">Deleting erases your account and every hit on the server, and every tracked email in this browser.</p>
      </section>
      <Devices />
    </main>
  );
}
