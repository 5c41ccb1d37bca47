import { browser } from 'wxt/browser';
import { allowLocalServerByDefault, defaultServerUrl } from './config';

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
  /** Notify of an email's first open (SPEC §1 item 4); off: only the popup and badge tell. */
  notifyFirstOpens: boolean;
  notifyReopens: boolean;
  /** Quiet hours as "HH:MM" local time; null when off. */
  quietFrom: string | null;
  quietTo: string | null;
  /**
   * "Allow a local server (for testing)": track through a pixel URL that is
   * local or not https, which recipients cannot load (SPEC §6). Starts on in a
   * build made with OPENPING_ALLOW_LOCAL_SERVER=1.
   */
  allowLocalServer: boolean;
  /** Opens of a message sent longer ago than this many days do not notify (0: no limit); its hits are still recorded. */
  notifyForDays: number;
  /** One notification a day listing the opened emails, instead of one per open. */
  notifyDigest: boolean;
  /** When the digest comes, "HH:MM" local time. */
  digestAt: string;
}

export const defaultSettings: Settings = {
  server: defaultServerUrl,
  trackByDefault: true,
  notifyFirstOpens: true,
  notifyReopens: true,
  quietFrom: null,
  quietTo: null,
  allowLocalServer: allowLocalServerByDefault,
  notifyForDays: 30,
  notifyDigest: false,
  digestAt: '18:00',
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

/**
 * How the background last got on with the server, for the popup's error
 * state and the options page. Written by the outbox, the sync and the account
 * setup; never required for correctness (the data lives in IndexedDB).
 */
export interface ConnectionStatus {
  state: 'ok' | 'connecting' | 'offline' | 'unauthorized' | 'error';
  /** Plain words for the popup when state is not ok. */
  message: string | null;
  /** Epoch ms of the last successful exchange with the server. */
  lastOkAt: number | null;
  /** Epoch ms of the next automatic retry, when one is planned. */
  retryAt: number | null;
  /** Failures in a row (drives the backoff). */
  failures: number;
}

const STATUS_KEY = 'status';

export const initialStatus: ConnectionStatus = {
  state: 'connecting',
  message: null,
  lastOkAt: null,
  retryAt: null,
  failures: 0,
};

export async function loadStatus(): Promise<ConnectionStatus> {
  const stored = (await browser.storage.local.get(STATUS_KEY))[STATUS_KEY] as ConnectionStatus | undefined;
  return stored ?? initialStatus;
}

export async function saveStatus(status: ConnectionStatus): Promise<void> {
  await browser.storage.local.set({ [STATUS_KEY]: status });
}

export const STORAGE_KEYS = { settings: SETTINGS_KEY, identity: IDENTITY_KEY, status: STATUS_KEY } as const;

/** Notes a successful exchange with the server. */
export async function recordOk(): Promise<void> {
  const prev = await loadStatus();
  if (prev.state === 'ok' && prev.failures === 0 && prev.lastOkAt !== null && Date.now() - prev.lastOkAt < 5_000) return;
  await saveStatus({ state: 'ok', message: null, lastOkAt: Date.now(), retryAt: null, failures: 0 });
}

/** Notes a failed exchange; returns the number of failures in a row (for the caller's backoff). */
export async function recordFailure(
  state: Exclude<ConnectionStatus['state'], 'ok' | 'connecting'>,
  message: string,
  retryAt: number | null,
): Promise<number> {
  const prev = await loadStatus();
  const failures = prev.failures + 1;
  await saveStatus({ state, message, lastOkAt: prev.lastOkAt, retryAt, failures });
  return failures;
}

const DATA_CHANGED_KEY = 'dataChangedAt';

/** Tells open popups that IndexedDB changed (storage.onChanged reaches every extension page). */
export async function touchData(): Promise<void> {
  await browser.storage.local.set({ [DATA_CHANGED_KEY]: Date.now() });
}

export const DATA_CHANGED = DATA_CHANGED_KEY;
