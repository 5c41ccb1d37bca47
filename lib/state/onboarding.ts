/**
 * The setup page's model (issue 15 item 5; STYLE §8): the tracking server to
 * use (the build's default, or the user's own URL) and the setup checklist.
 */
import { signal, type Signal } from '@preact/signals';
import { normalizeServer } from '../api';
import { t } from '../i18n';
import { send } from '../messages';
import { loadSettings } from '../settings';
import { serverUrlError } from '../setup';
import { requestServerAccess } from './options';
import { createSetupCheckModel, type SetupCheckModel } from './setup-check';

export interface OnboardingModel {
  serverDraft: Signal<string>;
  /** A sentence about the server field: a refused URL, or what saving did. */
  notice: Signal<{ kind: 'ok' | 'error'; text: string } | null>;
  busy: Signal<boolean>;
  checklist: SetupCheckModel;
  load(): Promise<void>;
  /** Validates the draft, switches to it when it differs, then runs the checklist. Call inside the click. */
  useServer(): Promise<void>;
}

export function createOnboardingModel(checklist: SetupCheckModel = createSetupCheckModel()): OnboardingModel {
  const serverDraft = signal('');
  const notice = signal<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const busy = signal(false);
  return {
    serverDraft,
    notice,
    busy,
    checklist,
    async load() {
      serverDraft.value = (await loadSettings()).server;
    },
    useServer() {
      const draft = serverDraft.value.trim();
      const refused = serverUrlError(draft);
      if (refused) {
        notice.value = { kind: 'error', text: refused };
        return Promise.resolve();
      }
      // permissions.request needs the click's user gesture: ask before anything is awaited.
      const access = requestServerAccess(draft);
      return (async () => {
        busy.value = true;
        try {
          const current = (await loadSettings()).server;
          if (normalizeServer(draft) !== normalizeServer(current)) {
            if (!(await access)) {
              notice.value = { kind: 'error', text: t('onboarding.noAccess', { server: draft }) };
              return;
            }
            const res = await send({ type: 'changeServer', server: draft });
            if (!res.ok) {
              notice.value = { kind: 'error', text: res.error ?? t('options.notUsable') };
              return;
            }
            notice.value = { kind: 'ok', text: t('onboarding.saved', { server: normalizeServer(draft) }) };
          } else {
            notice.value = null;
          }
        } finally {
          busy.value = false;
        }
        await checklist.run();
      })();
    },
  };
}
