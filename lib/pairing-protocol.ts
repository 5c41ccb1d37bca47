/**
 * The pairing protocol (issue 21), pure: browser A shows a code, browser B types it (or scans its QR
 * code) and joins A's account with the account's sealing keys — which never reach the server.
 *
 *   code = <pairing id, 8 chars, minted by the server> + <secret, 16 chars, minted by browser A>
 *
 * both in Crockford's base32 (https://www.crockford.com/base32.html: no I, L, O, U; case-insensitive;
 * I/L read as 1 and O as 0, so what a person misreads still parses), shown as six groups of four.
 *
 * From the secret, both browsers derive two things:
 * - a wrapping key, under which A uploads its keyring (sealed like any blob, lib/seal.ts);
 * - a proof, whose SHA-256 A uploads as the pairing's verifier; B presents the proof to join. The server
 *   counts wrong proofs and burns the pairing after a few (backend/pairing.ts), so guessing the secret
 *   online gets a handful of tries per 10-minute pairing.
 *
 * Why PBKDF2 and not HKDF alone: the server (or whoever reads its database) keeps the wrapped keyring
 * and the verifier, and can try secrets offline against either for as long as it likes — the online
 * limits do not bind it. The secret is 80 random bits, short enough to type; HKDF would make one guess
 * one cheap hash, leaving 2^80 cheap hashes, within reach of the largest hashing efforts. PBKDF2-HMAC-
 * SHA-256 at 600,000 iterations (the OWASP Password Storage Cheat Sheet's figure for it, 2023) makes
 * each guess 600,000 hashes: about 2^99 hashes for the whole space. PBKDF2 is the one stretching
 * function WebCrypto offers (Argon2/scrypt are not in it), and one derivation costs well under a second
 * once per pairing. HKDF then splits the stretched bits into the two keys (RFC 5869 §3.3: expansion
 * with distinct `info`), so the verifier reveals nothing about the wrapping key.
 *
 * The salt is a fixed domain string: a salt stops precomputed tables over likely passwords, and a
 * random 80-bit secret has no likely values to precompute. (The pairing id cannot be the salt: the
 * server mints it in the same call that stores the wrapped keyring.)
 */
import { exportKey, fromBase64url, importKey, openSealed, seal, toBase64url, type AccountKey, type Keyring, keyring } from './seal';

export const PAIRING_ID_CHARS = 8;
export const SECRET_CHARS = 16;
/** 16 base32 characters carry 80 bits. */
export const SECRET_BITS = SECRET_CHARS * 5;
export const PBKDF2_ITERATIONS = 600_000;
const SALT = 'openping-pair-v1';

export const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const PAIRING_ID = /^[0-9A-HJKMNP-TV-Z]{8}$/;

export class PairingCodeError extends Error {
  constructor(message = 'This is not a pairing code: it is 24 letters and digits, as shown on the other browser.') {
    super(message);
    this.name = 'PairingCodeError';
  }
}

/** `count` random Crockford base32 characters (each from 5 random bits, no modulo bias). */
export function randomBase32(count: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(count));
  let out = '';
  for (const b of bytes) out += CROCKFORD[b & 31];
  return out;
}

export function newSecret(): string {
  return randomBase32(SECRET_CHARS);
}

/** The code to show: six groups of four. */
export function formatCode(pairingId: string, secret: string): string {
  if (!PAIRING_ID.test(pairingId) || secret.length !== SECRET_CHARS) throw new PairingCodeError('A pairing code needs a pairing id of 8 and a secret of 16 base32 characters.');
  return (pairingId + secret).match(/.{4}/g)!.join('-');
}

/** Reads a typed or scanned code; spaces, dashes and case do not matter, I/L mean 1 and O means 0. */
export function parseCode(text: string): { pairingId: string; secret: string } {
  const cleaned = text
    .toUpperCase()
    .replace(/[\s-]+/g, '')
    .replace(/[IL]/g, '1')
    .replace(/O/g, '0');
  if (cleaned.length !== PAIRING_ID_CHARS + SECRET_CHARS || ![...cleaned].every((c) => CROCKFORD.includes(c))) throw new PairingCodeError();
  return { pairingId: cleaned.slice(0, PAIRING_ID_CHARS), secret: cleaned.slice(PAIRING_ID_CHARS) };
}

export interface PairingKeys {
  /** Seals the keyring for the trip through the server. */
  wrap: AccountKey;
  /** What B shows the server to join (base64url of 32 bytes). */
  proof: string;
}

export async function deriveKeys(secret: string, iterations = PBKDF2_ITERATIONS): Promise<PairingKeys> {
  if (secret.length !== SECRET_CHARS || ![...secret].every((c) => CROCKFORD.includes(c))) throw new PairingCodeError();
  const enc = new TextEncoder();
  const password = await crypto.subtle.importKey('raw', enc.encode(secret), 'PBKDF2', false, ['deriveBits']);
  const stretched = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: enc.encode(SALT), iterations }, password, 256);
  const prk = await crypto.subtle.importKey('raw', stretched, 'HKDF', false, ['deriveBits', 'deriveKey']);
  const hkdf = (info: string) => ({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: enc.encode(info) });
  const wrapKey = await crypto.subtle.deriveKey(hkdf('openping-pair-wrap'), prk, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  const proof = new Uint8Array(await crypto.subtle.deriveBits(hkdf('openping-pair-proof'), prk, 256));
  return { wrap: { version: 1, key: wrapKey }, proof: toBase64url(proof) };
}

/** What the server stores to check a proof: SHA-256 of it, base64url. */
export async function verifierOf(proof: string): Promise<string> {
  const bytes = fromBase64url(proof);
  if (!bytes || bytes.length !== 32) throw new Error('A pairing proof is 32 bytes of base64url.');
  return toBase64url(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}

/** The associated data of the wrapped keyring: it can only be opened as one. */
const WRAP_LABEL = 'openping-pairing-keyring';

/** A's side: the wrapped keyring and the verifier to upload with POST /v1/pairings. */
export async function wrapKeyring(ring: Keyring, keys: PairingKeys): Promise<{ wrapped: string; verifier: string }> {
  const exported = await Promise.all([...ring.all].map(([version, key]) => exportKey({ version, key })));
  return { wrapped: await seal(keys.wrap, WRAP_LABEL, JSON.stringify({ keys: exported })), verifier: await verifierOf(keys.proof) };
}

/** B's side: the keyring from the server's answer; throws UnreadableError if the secret was not the one. */
export async function unwrapKeyring(wrapped: string, keys: PairingKeys): Promise<Keyring> {
  const plain = JSON.parse(await openSealed(keys.wrap, WRAP_LABEL, wrapped)) as { keys: { version: number; raw: string }[] };
  return keyring(await Promise.all(plain.keys.map(importKey)));
}
