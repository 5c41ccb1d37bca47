/**
 * Key rotation (issue 21): when a browser is revoked, the revoking browser makes key version n+1 and
 * hands it to each remaining browser through the server, wrapped so that only that browser can open it.
 *
 * Each browser holds an ECDH P-256 key pair (WebCrypto; the private half is made non-extractable and
 * kept in IndexedDB, which stores CryptoKey objects as they are — W3C WebCrypto §"Structured clone").
 * The server keeps its public half on the device's record. To wrap key n+1 for device D, the revoking
 * browser makes a fresh ephemeral pair, derives the ECDH shared secret with D's public key, expands it
 * with HKDF-SHA-256 (RFC 5869; the info names the device and the version) into an AES-GCM key, and seals
 * the raw new key with lib/seal.ts under associated data naming the device and the version. This is the
 * ECIES shape (ephemeral-static ECDH + KDF + AEAD; SEC 1 v2 §5.1).
 *
 *   wrapped = <ephemeral public key, raw uncompressed point, base64url>~<sealed blob>
 *
 * The revoked browser is simply not wrapped for: it never gets n+1; the server sees public keys and
 * ciphertext only. A wrap moved to another device or version fails authentication (UnreadableError).
 */
import { exportKey, fromBase64url, importKey, openSealed, seal, toBase64url, UnreadableError, type AccountKey } from './seal';

const EC = { name: 'ECDH', namedCurve: 'P-256' } as const;
/** An uncompressed P-256 point (SEC 1 §2.3.3): 0x04 ‖ x ‖ y, 65 bytes, 87 base64url characters. */
export const PUBLIC_KEY = /^[A-Za-z0-9_-]{87}$/;

/** This browser's pair: the private half cannot be exported, not even by the extension itself. */
export async function generateDeviceKeyPair(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(EC, false, ['deriveBits'])) as CryptoKeyPair;
}

export async function exportPublicKey(key: CryptoKey): Promise<string> {
  return toBase64url(new Uint8Array(await crypto.subtle.exportKey('raw', key)));
}

async function importPublicKey(text: string): Promise<CryptoKey> {
  const raw = PUBLIC_KEY.test(text) ? fromBase64url(text) : null;
  if (!raw || raw.length !== 65 || raw[0] !== 4) throw new Error('A device public key is an uncompressed P-256 point in base64url.');
  return crypto.subtle.importKey('raw', raw, EC, false, []);
}

function label(device: string, version: number): string {
  return `openping-key-wrap\0${device}\0${version}`;
}

async function wrappingKey(privateKey: CryptoKey, publicKey: CryptoKey, device: string, version: number): Promise<AccountKey> {
  const shared = await crypto.subtle.deriveBits({ name: 'ECDH', public: publicKey }, privateKey, 256);
  const ikm = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
  const key = await crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new TextEncoder().encode(label(device, version)) },
    ikm,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
  return { version, key };
}

/** Wraps `key` for one device, given the public key the server holds for it. */
export async function wrapForDevice(key: AccountKey, device: string, devicePublicKey: string): Promise<string> {
  const recipient = await importPublicKey(devicePublicKey);
  const ephemeral = (await crypto.subtle.generateKey(EC, true, ['deriveBits'])) as CryptoKeyPair;
  const wrapping = await wrappingKey(ephemeral.privateKey, recipient, device, key.version);
  const sealed = await seal(wrapping, label(device, key.version), (await exportKey(key)).raw);
  return `${await exportPublicKey(ephemeral.publicKey)}~${sealed}`;
}

/** Opens a wrap made for this device; throws UnreadableError for a wrap that is not this device's or was changed. */
export async function unwrapForDevice(wrapped: string, device: string, version: number, privateKey: CryptoKey): Promise<AccountKey> {
  const [ephemeralText, sealed, ...rest] = typeof wrapped === 'string' ? wrapped.split('~') : [];
  if (!ephemeralText || !sealed || rest.length > 0) throw new UnreadableError('malformed');
  let ephemeral: CryptoKey;
  try {
    ephemeral = await importPublicKey(ephemeralText);
  } catch {
    throw new UnreadableError('malformed');
  }
  const wrapping = await wrappingKey(privateKey, ephemeral, device, version);
  const raw = await openSealed(wrapping, label(device, version), sealed);
  try {
    return await importKey({ version, raw });
  } catch {
    throw new UnreadableError('malformed');
  }
}
