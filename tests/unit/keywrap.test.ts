/** Key rotation's wrapping (lib/keywrap.ts): only the device wrapped for opens it; anything else fails closed. */
import { describe, expect, it } from 'vitest';
import { exportPublicKey, generateDeviceKeyPair, unwrapForDevice, wrapForDevice } from '../../lib/keywrap';
import { exportKey, generateAccountKey, keyring, openSealed, reseal, sealedVersion, seal, UnreadableError } from '../../lib/seal';

const A = 'a'.repeat(22);
const B = 'b'.repeat(22);

describe('wrapping a rotated key for a device', () => {
  it('the device wrapped for unwraps the very key; its private key never leaves WebCrypto', async () => {
    const pair = await generateDeviceKeyPair();
    expect(pair.privateKey.extractable).toBe(false);
    const key = await generateAccountKey(2);
    const wrapped = await wrapForDevice(key, A, await exportPublicKey(pair.publicKey));
    const opened = await unwrapForDevice(wrapped, A, 2, pair.privateKey);
    expect(opened.version).toBe(2);
    expect((await exportKey(opened)).raw).toBe((await exportKey(key)).raw);
    expect(wrapped).not.toContain((await exportKey(key)).raw);
  });

  it('a revoked device (not wrapped for) cannot unwrap another device\'s wrap', async () => {
    const kept = await generateDeviceKeyPair();
    const revoked = await generateDeviceKeyPair();
    const wrapped = await wrapForDevice(await generateAccountKey(2), A, await exportPublicKey(kept.publicKey));
    await expect(unwrapForDevice(wrapped, A, 2, revoked.privateKey)).rejects.toBeInstanceOf(UnreadableError);
    await expect(unwrapForDevice(wrapped, B, 2, revoked.privateKey)).rejects.toBeInstanceOf(UnreadableError);
  });

  it('a wrap is bound to its device id and version', async () => {
    const pair = await generateDeviceKeyPair();
    const wrapped = await wrapForDevice(await generateAccountKey(3), A, await exportPublicKey(pair.publicKey));
    await expect(unwrapForDevice(wrapped, B, 3, pair.privateKey)).rejects.toBeInstanceOf(UnreadableError);
    await expect(unwrapForDevice(wrapped, A, 4, pair.privateKey)).rejects.toBeInstanceOf(UnreadableError);
  });

  it('a tampered wrap fails closed: ciphertext, ephemeral key, or shape', async () => {
    const pair = await generateDeviceKeyPair();
    const other = await generateDeviceKeyPair();
    const wrapped = await wrapForDevice(await generateAccountKey(2), A, await exportPublicKey(pair.publicKey));
    const [eph, sealed] = wrapped.split('~') as [string, string];
    const flipped = sealed.slice(0, -2) + (sealed.at(-2) === 'A' ? 'B' : 'A') + sealed.at(-1);
    await expect(unwrapForDevice(`${eph}~${flipped}`, A, 2, pair.privateKey)).rejects.toBeInstanceOf(UnreadableError);
    await expect(unwrapForDevice(`${await exportPublicKey(other.publicKey)}~${sealed}`, A, 2, pair.privateKey)).rejects.toBeInstanceOf(UnreadableError);
    for (const bad of ['', '~', sealed, `${eph}~${sealed}~x`, `xyz~${sealed}`]) {
      await expect(unwrapForDevice(bad, A, 2, pair.privateKey)).rejects.toBeInstanceOf(UnreadableError);
    }
  });

  it('rejects a public key that is not a P-256 point', async () => {
    await expect(wrapForDevice(await generateAccountKey(2), A, 'A'.repeat(87))).rejects.toThrow(/P-256/);
    await expect(wrapForDevice(await generateAccountKey(2), A, 'short')).rejects.toThrow(/P-256/);
  });

  it('after rotation, re-sealed blobs open with the unwrapped key and not with the old one alone', async () => {
    const pair = await generateDeviceKeyPair();
    const v1 = await generateAccountKey(1);
    const v2 = await generateAccountKey(2);
    const blob = await seal(v1, 'tracker1', 'subject');
    const resealed = await reseal(keyring([v1, v2]), 'tracker1', blob);
    expect(sealedVersion(resealed)).toBe(2);
    const got = await unwrapForDevice(await wrapForDevice(v2, A, await exportPublicKey(pair.publicKey)), A, 2, pair.privateKey);
    expect(await openSealed(keyring([v1, got]), 'tracker1', resealed)).toBe('subject');
    await expect(openSealed(keyring([v1]), 'tracker1', resealed)).rejects.toBeInstanceOf(UnreadableError);
  });
});
