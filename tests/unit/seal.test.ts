import { describe, expect, it } from 'vitest';
import {
  exportKey,
  fromBase64url,
  generateAccountKey,
  importKey,
  keyring,
  openSealed,
  reseal,
  seal,
  sealedVersion,
  toBase64url,
  UnreadableError,
} from '../../lib/seal';

const TRACKER = 'AAAAAAAAAAAAAAAAAAAAAA';
const OTHER = 'BBBBBBBBBBBBBBBBBBBBBB';
const PLAIN = JSON.stringify({ subject: 'Quarterly numbers — Zoë', recipients: ['ann@example.com'] });

/** Flips one bit of the base64url part `part` (0 version, 1 nonce, 2 ciphertext) at byte `at`. */
function flip(sealed: string, part: 1 | 2, at: number): string {
  const parts = sealed.split('.');
  const bytes = fromBase64url(parts[part]!)!;
  bytes[at]! ^= 1;
  parts[part] = toBase64url(bytes);
  return parts.join('.');
}

async function expectUnreadable(p: Promise<unknown>, why?: string): Promise<void> {
  const err = await p.then(
    (v) => v,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnreadableError);
  expect((err as Error).message).toBe('could not be read');
  if (why) expect((err as UnreadableError).why).toBe(why);
}

describe('seal / openSealed', () => {
  it('round-trips, with a fresh nonce each time and the plaintext nowhere in the blob', async () => {
    const key = await generateAccountKey();
    const a = await seal(key, TRACKER, PLAIN);
    const b = await seal(key, TRACKER, PLAIN);
    expect(a).not.toBe(b);
    expect(a.split('.')[1]).not.toBe(b.split('.')[1]);
    expect(sealedVersion(a)).toBe(1);
    expect(a).not.toContain('Quarterly');
    expect(await openSealed(key, TRACKER, a)).toBe(PLAIN);
  });

  it('fails closed on tampering: any flipped bit of the nonce, the ciphertext or the tag', async () => {
    const key = await generateAccountKey();
    const sealed = await seal(key, TRACKER, PLAIN);
    const ctLength = fromBase64url(sealed.split('.')[2]!)!.length;
    await expectUnreadable(openSealed(key, TRACKER, flip(sealed, 1, 0)), 'authentication');
    for (const at of [0, Math.floor(ctLength / 2), ctLength - 1]) {
      await expectUnreadable(openSealed(key, TRACKER, flip(sealed, 2, at)), 'authentication');
    }
    // Truncated, extended, garbage: never an exception other than UnreadableError.
    await expectUnreadable(openSealed(key, TRACKER, sealed.slice(0, -4)));
    await expectUnreadable(openSealed(key, TRACKER, sealed + 'AAAA'));
    await expectUnreadable(openSealed(key, TRACKER, 'not a blob'), 'malformed');
    await expectUnreadable(openSealed(key, TRACKER, ''), 'malformed');
  });

  it('fails closed under another key, and for another tracker (the tracker id is associated data)', async () => {
    const key = await generateAccountKey();
    const stranger = await generateAccountKey();
    const sealed = await seal(key, TRACKER, PLAIN);
    await expectUnreadable(openSealed(stranger, TRACKER, sealed), 'authentication');
    await expectUnreadable(openSealed(key, OTHER, sealed), 'authentication');
  });

  it('fails closed when the version is changed, even to one the reader holds', async () => {
    const v1 = await generateAccountKey(1);
    const ring = keyring([v1, { version: 2, key: v1.key }]); // same key bytes under two versions
    const sealed = await seal(v1, TRACKER, PLAIN);
    await expectUnreadable(openSealed(ring, TRACKER, sealed.replace(/^1\./, '2.')), 'authentication');
    await expectUnreadable(openSealed(v1, TRACKER, sealed.replace(/^1\./, '7.')), 'no-key');
  });

  it('rotation: re-seals under the new version; old blobs open with the ring, not with the new key alone', async () => {
    const v1 = await generateAccountKey(1);
    const v2 = await generateAccountKey(2);
    const old = await seal(v1, TRACKER, PLAIN);
    const ring = keyring([v1, v2]);
    expect(ring.current.version).toBe(2);
    await expectUnreadable(openSealed(v2, TRACKER, old), 'no-key');
    const rotated = await reseal(ring, TRACKER, old);
    expect(sealedVersion(rotated)).toBe(2);
    expect(await openSealed(v2, TRACKER, rotated)).toBe(PLAIN);
    // A browser that dropped v1 after rotation cannot read what was not re-sealed, and says so.
    await expectUnreadable(openSealed(keyring([v2]), TRACKER, old), 'no-key');
    expect(await reseal(ring, TRACKER, rotated)).toBe(rotated);
    await expectUnreadable(reseal(ring, TRACKER, flip(rotated, 2, 0)), 'authentication');
  });

  it('exports and imports a key (what goes into storage and through pairing)', async () => {
    const key = await generateAccountKey(3);
    const exported = await exportKey(key);
    expect(fromBase64url(exported.raw)).toHaveLength(32);
    const back = await importKey(exported);
    expect(await openSealed(back, TRACKER, await seal(key, TRACKER, PLAIN))).toBe(PLAIN);
    await expect(importKey({ version: 1, raw: 'short' })).rejects.toThrow(/32 bytes/);
    await expect(importKey({ version: 0, raw: exported.raw })).rejects.toThrow(/version/);
  });

  it('base64url is canonical: other spellings of the same bytes are refused', () => {
    expect(fromBase64url('AQ')).toEqual(new Uint8Array([1]));
    expect(fromBase64url('AR')).toBeNull();
    expect(fromBase64url('A')).toBeNull();
    expect(fromBase64url('AQ==')).toBeNull();
  });
});
