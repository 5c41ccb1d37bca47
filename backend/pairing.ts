/**
 * The server's half of pairing (issue 21; the protocol is in lib/pairing-protocol.ts): a pairing holds
 * browser A's wrapped keyring (ciphertext under a key only the code's secret gives) and the SHA-256 of
 * the proof that secret yields. It lives 10 minutes, is used once, and burns after a few wrong proofs.
 * The decision is a pure function so the stores apply the very same rule inside their transactions.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const PAIRING_TTL_MS = 10 * 60_000;
/**
 * Wrong proofs a pairing takes before it burns. A person mistyping the code gets a few tries; an attacker
 * who found a live pairing id gets these many guesses at an 80-bit secret: 5 / 2^80.
 */
export const PAIRING_MAX_WRONG = 5;
export const PAIRING_ID = /^[0-9A-HJKMNP-TV-Z]{8}$/;
/** Crockford's base32 alphabet (https://www.crockford.com/base32.html), as lib/pairing-protocol.ts reads it. */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export interface PairingRecord {
  id: string;
  account: string;
  wrapped: string;
  /** base64url SHA-256 of the proof. */
  verifier: string;
  createdAt: number;
  expiresAt: number;
  wrong: number;
  /** When it was used to join; null while open. */
  usedAt: number | null;
}

export type JoinVerdict =
  | { ok: true }
  | { ok: false; why: 'expired' | 'used' | 'burned' }
  /** A wrong proof: count it; `burned` when this one used up the last try. */
  | { ok: false; why: 'wrong'; burned: boolean };

/** 40 random bits as 8 base32 characters. */
export function newPairingId(): string {
  let out = '';
  for (const b of randomBytes(8)) out += CROCKFORD[b & 31];
  return out;
}

export function verifierOfProof(proof: string): string {
  return createHash('sha256').update(Buffer.from(proof, 'base64url')).digest('base64url');
}

export function judgeJoin(pairing: PairingRecord, proof: string, now: number): JoinVerdict {
  if (pairing.usedAt !== null) return { ok: false, why: 'used' };
  if (pairing.wrong >= PAIRING_MAX_WRONG) return { ok: false, why: 'burned' };
  if (now >= pairing.expiresAt) return { ok: false, why: 'expired' };
  const given = Buffer.from(verifierOfProof(proof));
  const stored = Buffer.from(pairing.verifier);
  // Constant time, so the answer's timing says nothing about how much of the verifier matched.
  if (given.length === stored.length && timingSafeEqual(given, stored)) return { ok: true };
  return { ok: false, why: 'wrong', burned: pairing.wrong + 1 >= PAIRING_MAX_WRONG };
}
