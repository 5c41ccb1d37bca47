/**
 * Sealing (issue 21): what the extension keeps of an email — subject, recipients, thread link, reminder —
 * is stored on the tracking server only as ciphertext the server cannot read. AES-GCM 256 under the
 * account's sealing key (WebCrypto; the same `crypto.subtle` in the extension and in Node 20 for tests).
 *
 * A sealed blob is the string `<version>.<nonce>.<ciphertext>` (base64url parts):
 * - `version` names the account key it was sealed under, so a key rotation can re-seal blob by blob while
 *   browsers still holding the old key read the rest;
 * - `nonce` is 96 fresh random bits per write — the size NIST SP 800-38D §8.2.2 recommends for random
 *   IVs; with random nonces one key must stay under 2^32 seals (§8.3), far beyond one person's mail;
 * - the tracker id and the version are the associated data: a blob copied onto another tracker, or its
 *   version number changed, fails authentication like any other tampering.
 *
 * `openSealed` fails closed: whatever is wrong (tampered bytes, another key, another tracker, a version
 * this browser has no key for, a malformed string) it throws UnreadableError — "could not be read" —
 * and never returns anything derived from unauthenticated bytes.
 */

export const UNREADABLE_MESSAGE = 'could not be read';

export class UnreadableError extends Error {
  constructor(readonly why: 'malformed' | 'no-key' | 'authentication') {
    super(UNREADABLE_MESSAGE);
    this.name = 'UnreadableError';
  }
}

/** One version of the account's sealing key. */
export interface AccountKey {
  version: number;
  key: CryptoKey;
}

/** Every key version a browser holds; `current` seals, all of them open. */
export interface Keyring {
  current: AccountKey;
  /** By version; holds `current` too. */
  all: ReadonlyMap<number, CryptoKey>;
}

/** Upper bound of a key version: small enough to stay a safe integer in any JSON reader. */
export const MAX_KEY_VERSION = 2 ** 31 - 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Domain separation: these bytes could never be confused with another protocol's associated data. */
const AAD_PREFIX = 'openping-seal-v1';

const SEALED = /^([1-9][0-9]{0,9})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]+)$/;

export async function generateAccountKey(version = 1): Promise<AccountKey> {
  checkVersion(version);
  const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
  return { version, key };
}

export async function exportKey(key: AccountKey): Promise<{ version: number; raw: string }> {
  return { version: key.version, raw: toBase64url(new Uint8Array(await crypto.subtle.exportKey('raw', key.key))) };
}

export async function importKey(stored: { version: number; raw: string }): Promise<AccountKey> {
  checkVersion(stored.version);
  const raw = fromBase64url(stored.raw);
  if (!raw || raw.length !== 32) throw new Error('A sealing key is 32 bytes of base64url.');
  const key = await crypto.subtle.importKey('raw', raw, { name: 'AES-GCM' }, true, ['encrypt', 'decrypt']);
  return { version: stored.version, key };
}

export function keyring(keys: readonly AccountKey[]): Keyring {
  if (keys.length === 0) throw new Error('A keyring needs at least one key.');
  const all = new Map<number, CryptoKey>();
  let current = keys[0]!;
  for (const k of keys) {
    all.set(k.version, k.key);
    if (k.version > current.version) current = k;
  }
  return { current, all };
}

function checkVersion(version: number): void {
  if (!Number.isInteger(version) || version < 1 || version > MAX_KEY_VERSION) throw new Error(`A key version is an integer from 1 to ${MAX_KEY_VERSION}.`);
}

function associatedData(tracker: string, version: number): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${AAD_PREFIX}\0${tracker}\0${version}`);
}

/** Seals `plaintext` for `tracker` under the keyring's current key, with a fresh nonce. */
export async function seal(ring: Keyring | AccountKey, tracker: string, plaintext: string): Promise<string> {
  const { version, key } = 'current' in ring ? ring.current : ring;
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const ciphertext = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv: nonce, additionalData: associatedData(tracker, version), tagLength: TAG_BYTES * 8 },
    key,
    new TextEncoder().encode(plaintext),
  );
  return `${version}.${toBase64url(nonce)}.${toBase64url(new Uint8Array(ciphertext))}`;
}

/** The key version a sealed blob names, or null when it is not a sealed blob at all. */
export function sealedVersion(sealed: string): number | null {
  const match = SEALED.exec(sealed);
  return match ? Number(match[1]) : null;
}

/** Opens a blob sealed for `tracker`; throws UnreadableError for anything it cannot authenticate. */
export async function openSealed(ring: Keyring | AccountKey, tracker: string, sealed: string): Promise<string> {
  const match = typeof sealed === 'string' ? SEALED.exec(sealed) : null;
  const nonce = match ? fromBase64url(match[2]!) : null;
  const ciphertext = match ? fromBase64url(match[3]!) : null;
  if (!match || !nonce || nonce.length !== NONCE_BYTES || !ciphertext || ciphertext.length < TAG_BYTES) throw new UnreadableError('malformed');
  const version = Number(match[1]);
  if (version > MAX_KEY_VERSION) throw new UnreadableError('malformed');
  const key = 'current' in ring ? ring.all.get(version) : ring.version === version ? ring.key : undefined;
  if (!key) throw new UnreadableError('no-key');
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: nonce, additionalData: associatedData(tracker, version), tagLength: TAG_BYTES * 8 },
      key,
      ciphertext,
    );
  } catch {
    throw new UnreadableError('authentication');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(plain);
  } catch {
    // Authenticated but not UTF-8: only a buggy writer with the key makes this; still never show it.
    throw new UnreadableError('malformed');
  }
}

/**
 * Re-seals a blob under the keyring's current key (key rotation): opens it with whichever version it
 * names, seals it again with a fresh nonce. A blob already under the current version is returned as is.
 */
export async function reseal(ring: Keyring, tracker: string, sealed: string): Promise<string> {
  if (sealedVersion(sealed) === ring.current.version) {
    await openSealed(ring, tracker, sealed); // still fail closed on a damaged blob
    return sealed;
  }
  return seal(ring, tracker, await openSealed(ring, tracker, sealed));
}

// ── base64url without padding (RFC 4648 §5) ────────────────────────────────

export function toBase64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Null for anything that is not canonical unpadded base64url. */
export function fromBase64url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  let binary: string;
  try {
    binary = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  } catch {
    return null;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  // Non-canonical trailing bits would let two strings name the same bytes.
  return toBase64url(bytes) === text ? bytes : null;
}
