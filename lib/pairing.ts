/**
 * Pairing, the background's side (issue 21; the protocol itself is lib/pairing-protocol.ts): browser A
 * makes a code, browser B joins A's account with it; the browsers of an account, listed and revoked.
 */
import { browser } from 'wxt/browser';
import { normalizeServer, request, type Credentials } from './api';
import { t } from './i18n';
import { clearAll } from './db';
import { installSelfBlockRules } from './dnr';
import { clearOutbox } from './outbox';
import { deriveKeys, formatCode, newSecret, parseCode, unwrapKeyring, wrapKeyring } from './pairing-protocol';
import { ensureDeviceKey, loadKeyring, markShared, rotateKey, saveKeyring } from './sealed-sync';
import { initialStatus, loadIdentity, saveIdentity, saveStatus, touchData, type Identity } from './settings';

export interface DeviceView {
  id: string;
  name: string | null;
  createdAt: number;
  current: boolean;
  /** Null for a browser from before key rotation: a rotation cannot reach it (it must be paired again). */
  publicKey: string | null;
}

/** A's side: a code for another browser, valid 10 minutes, once. */
export async function startPairing(): Promise<{ code: string; expiresAt: number }> {
  const identity = await loadIdentity();
  if (!identity) throw new Error(t('errors.noAccountYet'));
  const ring = await loadKeyring(identity.account);
  await ensureDeviceKey(identity);
  const secret = newSecret();
  const keys = await deriveKeys(secret);
  const body = await wrapKeyring(ring, keys);
  const made = await request<{ pairing: string; expiresAt: number }>(identity.server, '/v1/pairings', { method: 'POST', token: identity.token, body });
  await markShared();
  return { code: formatCode(made.pairing, secret), expiresAt: made.expiresAt };
}

/** What this browser calls itself in the other browsers' lists. */
function browserName(): string {
  const ua = navigator.userAgent;
  const name = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom/.test(ua) ? 'Chrome' : 'Browser';
  const os = /Windows/.test(ua) ? 'Windows' : /Mac OS/.test(ua) ? 'macOS' : /CrOS/.test(ua) ? 'ChromeOS' : /Linux/.test(ua) ? 'Linux' : null;
  return os ? `${name} on ${os}` : name;
}

/**
 * B's side: joins the account the code belongs to, on this browser's tracking server. This browser's
 * own list goes (its pixels point at its old account); the account's emails arrive through the sync.
 */
export async function joinAccount(codeText: string, server: string): Promise<void> {
  const { pairingId, secret } = parseCode(codeText);
  const keys = await deriveKeys(secret);
  const joined = await request<{ account: string; token: string; pixelBase: string; wrapped: string }>(server, `/v1/pairings/${pairingId}/join`, {
    method: 'POST',
    body: { proof: keys.proof, name: browserName() },
  });
  const ring = await unwrapKeyring(joined.wrapped, keys);
  await clearAll();
  await clearOutbox();
  await saveIdentity({ server: normalizeServer(server), account: joined.account, token: joined.token, pixelBase: joined.pixelBase });
  await saveKeyring(joined.account, ring);
  await markShared();
  // Registered now so that a rotation made before this browser's first sync still reaches it.
  await ensureDeviceKey({ server: normalizeServer(server), account: joined.account, token: joined.token, pixelBase: joined.pixelBase }).catch((e) =>
    console.warn('[openping] device key not registered yet; retried at the next sync', e),
  );
  await browser.storage.local.remove(['sealedPending']);
  await installSelfBlockRules(joined.pixelBase);
  await saveStatus(initialStatus);
  await touchData();
}

export async function listDevices(creds: Credentials): Promise<DeviceView[]> {
  return (await request<{ devices: DeviceView[] }>(creds.server, '/v1/devices', { token: creds.token })).devices;
}

/**
 * Logs that browser out, then rotates the account key so it cannot read what is written from now on,
 * nor the blobs (re-sealed). Returns the names of browsers the new key could not reach (no registered
 * key: from before rotation) — they must be paired again.
 */
export async function revokeDevice(identity: Identity, device: string): Promise<string[]> {
  await request(identity.server, `/v1/devices/${encodeURIComponent(device)}`, { method: 'DELETE', token: identity.token });
  return (await rotateKey(identity)).leftOut;
}
