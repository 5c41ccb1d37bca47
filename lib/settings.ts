import { browser } from 'wxt/browser';
import { defaultServerUrl } from './config';

/** What the background keeps in browser.storage.local (never in globals: MV3 workers die). */
export interface Identity {
  /** Base URL of the tracking server's API, e.g. http://localhost:8787 */
  server: string;
  account: string;
  token: string;
  /** `<public url>/p/<account>/`, as returned by POST /v1/accounts */
  pixelBase: string;
}

export interface Settings {
  server: string;
  /** Initial state of the Track switch in a new compose. */
  trackByDefault: boolean;
  notifyReopens: boolean;
  /** Quiet hours as "HH:MM" local time; null when off. */
  quietFrom: string | null;
  quietTo: string | null;
}

export const defaultSettings: Settings = {
  server: defaultServerUrl,
  trackByDefault: true,
  notifyReopens: true,
  quietFrom: null,
  quietTo: null,
};

const SETTINGS_KEY = 'settings';
const IDENTITY_KEY = 'identity';

export async function loadSettings(): Promise<Settings> {
  const stored = (await browser.storage.local.get(SETTINGS_KEY))[SETTINGS_KEY] as Partial<Settings> | undefined;
  return { ...defaultSettings, ...stored };
}

export async function saveSettings(patch: Partial<Settings>): Promise<Settings> {
  const next = { ...(await loadSettings()), ...patch };
  await browser.storage.local.set({ [SETTINGS_KEY]: next });
  return next;
}

export async function loadIdentity(): Promise<Identity | null> {
  const stored = (await browser.storage.local.get(IDENTITY_KEY))[IDENTITY_KEY] as Identity | undefined;
  return stored ?? null;
}

export async function saveIdentity(identity: Identity | null): Promise<void> {
  if (identity) await browser.storage.local.set({ [IDENTITY_KEY]: identity });
  else await browser.storage.local.remove(IDENTITY_KEY);
}
