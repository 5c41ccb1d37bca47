import { describe, expect, it } from 'vitest';
import { judgeJoin, newPairingId, PAIRING_MAX_WRONG, PAIRING_TTL_MS, type PairingRecord } from '../../backend/pairing';
import {
  deriveKeys,
  formatCode,
  newSecret,
  PAIRING_ID,
  PairingCodeError,
  parseCode,
  SECRET_BITS,
  unwrapKeyring,
  wrapKeyring,
} from '../../lib/pairing-protocol';
import { generateAccountKey, keyring, openSealed, seal, UnreadableError } from '../../lib/seal';

const TRACKER = 'AAAAAAAAAAAAAAAAAAAAAA';

describe('pairing code', () => {
  it('is a server pairing id and an 80-bit secret in six groups of four, read back however it is typed', () => {
    const id = newPairingId();
    expect(id).toMatch(PAIRING_ID);
    const secret = newSecret();
    expect(SECRET_BITS).toBeGreaterThanOrEqual(80);
    const code = formatCode(id, secret);
    expect(code).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){5}$/);
    expect(parseCode(code)).toEqual({ pairingId: id, secret });
    expect(parseCode(` ${code.toLowerCase().replace(/-/g, ' ')} `)).toEqual({ pairingId: id, secret });
    // Crockford: I and L are 1, O is 0.
    expect(parseCode('0000-0000-0000-0000-0000-000I').secret).toBe('0000000000000001');
    expect(parseCode('O000-0000-0000-0000-0000-000L').pairingId).toBe('00000000');
  });

  it('refuses what is not a code: wrong length, U, punctuation', () => {
    expect(() => parseCode('ABCD-EFGH')).toThrow(PairingCodeError);
    expect(() => parseCode('UBCD-EFGH-JKMN-PQRS-TVWX-YZ01')).toThrow(PairingCodeError);
    expect(() => parseCode('ABCD-EFGH-JKMN-PQRS-TVWX-YZ0!')).toThrow(PairingCodeError);
  });

  it('secrets and pairing ids do not repeat', () => {
    expect(new Set(Array.from({ length: 2000 }, newSecret)).size).toBe(2000);
    expect(new Set(Array.from({ length: 2000 }, newPairingId)).size).toBe(2000);
  });
});

describe('keyring through the server', () => {
  it('the right secret unwraps the keyring; the joiner reads what the first browser sealed', async () => {
    const v1 = await generateAccountKey(1);
    const v2 = await generateAccountKey(2);
    const secret = newSecret();
    const a = await deriveKeys(secret);
    const { wrapped, verifier } = await wrapKeyring(keyring([v1, v2]), a);
    expect(verifier).not.toBe(a.proof);
    const b = await deriveKeys(secret);
    expect(b.proof).toBe(a.proof);
    const ring = await unwrapKeyring(wrapped, b);
    expect(ring.current.version).toBe(2);
    expect(await openSealed(ring, TRACKER, await seal(v1, TRACKER, 'hello'))).toBe('hello');
    expect(await openSealed(ring, TRACKER, await seal(v2, TRACKER, 'again'))).toBe('again');
  });

  it('a wrong secret fails closed, and its proof does not match the verifier', async () => {
    const v1 = await generateAccountKey(1);
    const { wrapped, verifier } = await wrapKeyring(keyring([v1]), await deriveKeys(newSecret()));
    const wrong = await deriveKeys(newSecret());
    await expect(unwrapKeyring(wrapped, wrong)).rejects.toBeInstanceOf(UnreadableError);
    const pairing = record({ verifier });
    expect(judgeJoin(pairing, wrong.proof, 0)).toEqual({ ok: false, why: 'wrong', burned: false });
  });
});

function record(over: Partial<PairingRecord>): PairingRecord {
  return { id: 'ABCDEFGH', account: 'acc', wrapped: 'w', verifier: 'v', createdAt: 0, expiresAt: PAIRING_TTL_MS, wrong: 0, usedAt: null, ...over };
}

describe('judgeJoin (the rule both stores apply)', () => {
  it('expiry: works until 10 minutes, then never', async () => {
    const keys = await deriveKeys(newSecret(), 1000);
    const { verifier } = await wrapKeyring(keyring([await generateAccountKey()]), keys);
    const pairing = record({ verifier });
    expect(PAIRING_TTL_MS).toBe(600_000);
    expect(judgeJoin(pairing, keys.proof, PAIRING_TTL_MS - 1)).toEqual({ ok: true });
    expect(judgeJoin(pairing, keys.proof, PAIRING_TTL_MS)).toEqual({ ok: false, why: 'expired' });
  });

  it('reuse: a used pairing refuses even the right proof', async () => {
    const keys = await deriveKeys(newSecret(), 1000);
    const { verifier } = await wrapKeyring(keyring([await generateAccountKey()]), keys);
    expect(judgeJoin(record({ verifier, usedAt: 5 }), keys.proof, 10)).toEqual({ ok: false, why: 'used' });
  });

  it('brute force: after PAIRING_MAX_WRONG wrong proofs it is burned, and the right proof no longer works', async () => {
    const keys = await deriveKeys(newSecret(), 1000);
    const { verifier } = await wrapKeyring(keyring([await generateAccountKey()]), keys);
    let pairing = record({ verifier });
    const verdicts = [];
    for (let i = 0; i < PAIRING_MAX_WRONG; i++) {
      const guess = (await deriveKeys(newSecret(), 1000)).proof;
      const verdict = judgeJoin(pairing, guess, 1);
      verdicts.push(verdict);
      pairing = { ...pairing, wrong: pairing.wrong + 1 };
    }
    expect(verdicts.map((v) => !v.ok && v.why === 'wrong' && v.burned)).toEqual([...Array(PAIRING_MAX_WRONG - 1).fill(false), true]);
    expect(judgeJoin(pairing, keys.proof, 1)).toEqual({ ok: false, why: 'burned' });
  });

  it('derivation is stretched: the default is PBKDF2 with 600,000 iterations, not a single hash', async () => {
    const secret = newSecret();
    // Different iteration counts give different keys, so the count is really applied.
    expect((await deriveKeys(secret, 1000)).proof).not.toBe((await deriveKeys(secret)).proof);
  });
});
