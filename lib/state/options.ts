/**
 * The options page's model (STYLE §8). Preferences are written straight to
 * storage; anything touching the server or the account goes through the
 * background, which owns them.
 */
import { signal, type Signal } from '@preact/signals';
import { browser } from 'wxt/browser';
import { normalizeServer } from '../api';
import { db, type HitRecord } from '../db';
import { healthText, t } from '../i18n';
import { send } from '../messages';
import { defaultSettings, loadIdentity, loadSettings, saveSettings, type Settings } from '../settings';
import { accountFingerprint, serverUrlError } from '../setup';
import { toCsv } from './export';
import { createSetupCheckModel, type SetupCheckModel } from './setup-check';

export interface Notice {
  kind: 'ok' | 'error' | 'info';
  text: string;
}

export interface OptionsModel {
  settings: Signal<Settings>;
  serverDraft: Signal<string>;
  /** A short fingerprint of the account id (lib/setup.ts), never the id itself. */
  account: Signal<string | null>;
  /** The setup checklist, shown in place of a bare connection test. */
  checklist: SetupCheckModel;
  notice: Signal<Notice | null>;
  busy: Signal<boolean>;
  load(): Promise<void>;
  update(patch: Partial<Settings>): Promise<void>;
  saveServer(): Promise<void>;
  exportCsv(): Promise<{ filename: string; csv: string }>;
  deleteEverything(): Promise<void>;
}

/**
 * The origin pattern a server needs as a host permission. Firefox's permissions.request() refuses a
 * pattern with a port that the manifest's optional `http://localhost/*` should cover — "Cannot request
 * origin permission for http://localhost:8787/* since it was not declared in the manifest" (Firefox 153
 * ESR, tests/e2e-firefox) — so Firefox asks for the host without it, which covers every port there as in
 * Chrome (wxt.config.ts OPTIONAL_ORIGINS). Chrome keeps the port: no wider grant than the server needs.
 */
export function originPattern(server: string, firefox: boolean = import.meta.env.FIREFOX): string {
  const url = new URL(normalizeServer(server));
  return firefox ? `${url.protocol}//${url.hostname}/*` : `${url.origin}/*`;
}

/**
 * Whether the manifest grants `server` at install (the build's own server). Firefox refuses to ask for it
 * again (above), and in its MV2 build the user cannot withdraw it, so there is nothing to ask; Chrome is
 * still asked (it answers at once when granted, and lets the user restrict site access). Synchronous, as
 * the request must stay inside the click: getManifest is.
 */
export function grantedAtInstall(
  server: string,
  manifest: { permissions?: string[]; host_permissions?: string[] } = browser.runtime.getManifest(),
): boolean {
  const origin = `${new URL(normalizeServer(server)).origin}/*`;
  return [...(manifest.host_permissions ?? []), ...(manifest.permissions ?? [])].includes(origin);
}

/**
 * Asks for access to the server's origin. Must run inside the click
 * (permissions.request needs a user gesture: developer.chrome.com/docs/extensions/reference/api/permissions).
 */
export function requestServerAccess(server: string): Promise<boolean> {
  let origin: string;
  try {
    if (import.meta.env.FIREFOX && grantedAtInstall(server)) return Promise.resolve(true);
    origin = originPattern(server);
  } catch {
    return Promise.resolve(false);
  }
  return browser.permissions.request({ origins: [origin] }).catch(() => false);
}

export function createOptionsModel(checklist: SetupCheckModel = createSetupCheckModel()): OptionsModel {
  const settings = signal<Settings>(defaultSettings);
  const serverDraft = signal(defaultSettings.server);
  const account = signal<string | null>(null);
  const notice = signal<Notice | null>(null);
  const busy = signal(false);

  async function guarded(job: () => Promise<void>): Promise<void> {
    busy.value = true;
    try {
      await job();
    } catch (error) {
      notice.value = { kind: 'error', text: error instanceof Error ? error.message : String(error) };
    } finally {
      busy.value = false;
    }
  }

  return {
    settings,
    serverDraft,
    account,
    notice,
    busy,
    checklist,
    async load() {
      settings.value = await loadSettings();
      serverDraft.value = settings.value.server;
      const identity = await loadIdentity();
      account.value = identity ? await accountFingerprint(identity.account) : null;
    },
    async update(patch) {
      settings.value = await saveSettings(patch);
    },
    saveServer() {
      const server = serverDraft.value.trim();
      const refused = serverUrlError(server);
      if (refused) {
        notice.value = { kind: 'error', text: t('optionsSetup.notSaved', { reason: refused }) };
        return Promise.resolve();
      }
      const access = requestServerAccess(server);
      return guarded(async () => {
        if (!(await access)) {
          notice.value = { kind: 'error', text: t('options.notSavedPermission', { server }) };
          return;
        }
        const res = await send({ type: 'changeServer', server });
        await this.load();
        notice.value = res.ok
          ? { kind: 'ok', text: t('optionsSetup.saved') }
          : { kind: 'error', text: res.error ?? t('options.notUsable') };
      }).then(() => (notice.value?.kind === 'ok' ? checklist.run() : undefined));
    },
    async exportCsv() {
      const database = await db();
      const emails = (await database.getAllFromIndex('emails', 'bySortAt')).reverse().filter((e) => e.tracking !== 'armed');
      const byTracker = new Map<string, HitRecord[]>();
      for (const hit of await database.getAll('hits')) {
        const list = byTracker.get(hit.tracker) ?? [];
        list.push(hit);
        byTracker.set(hit.tracker, list);
      }
      const csv = toCsv(emails, byTracker);
      return { filename: `openping-${new Date().toISOString().slice(0, 10)}.csv`, csv };
    },
    deleteEverything() {
      return guarded(async () => {
        const res = await send({ type: 'deleteEverything' });
        await this.load();
        notice.value = res.ok
          ? { kind: 'ok', text: t('options.deleted') }
          : { kind: 'error', text: res.error ?? t('options.notDeleted') };
      });
    },
  };
}
