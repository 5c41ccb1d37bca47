/**
 * What the stores keep for one account on several browsers (issue 21): device tokens, pairings and sealed
 * blobs. Both stores implement it (./sync-sqlite.ts, ./sync-postgres.ts) and tests/server/store-contract.ts
 * checks it on both. Nothing here is readable by the server: a blob is AES-GCM ciphertext sealed in the
 * browser (lib/seal.ts), a pairing's keyring is sealed under a key derived from a secret the server never
 * sees (lib/pairing-protocol.ts).
 */
import type { PairingRecord } from '../pairing.ts';

export interface DeviceRecord {
  /** The first 22 hex characters of its token's hash: unique, stable, and no help in guessing the token. */
  id: string;
  account: string;
  /** What the browser called itself when it joined ("Chrome on Linux"); null for the account's first browser. */
  name: string | null;
  createdAt: number;
  /**
   * Its ECDH P-256 public key (lib/keywrap.ts), under which a rotated account key is wrapped for it;
   * null for a browser that has not registered one (from before key rotation): it gets no new key.
   */
  publicKey: string | null;
}

export function deviceIdOf(tokenHash: string): string {
  return tokenHash.slice(0, 22);
}

/** One blob change of the sealed feed: `sealed` null is a deletion, kept so every browser deletes it too. */
export interface BlobChange {
  tracker: string;
  sealed: string | null;
  /** The account's blob change sequence: increases with every put or delete, in commit order. */
  seq: number;
  updatedAt: number;
}

export interface BlobsPage {
  blobs: BlobChange[];
  /** The seq of the last change returned, or `after` when there is none. */
  cursor: number;
}

/**
 * Where the account's key rotation stands (issue 21), kept by the server so that a rotation interrupted
 * on one browser (closed, crashed) is finished later by it or by any other browser holding the new key.
 */
export interface KeyState {
  /** The account's current key version: 1 until a rotation hands out a newer one (POST /v1/keys). */
  version: number;
  /** A browser was revoked and no newer key has been handed out since: a rotation is owed. */
  rekey: boolean;
  /** Blobs still sealed under an older version than `version`: a re-seal is under way or was interrupted. */
  stale: number;
}

/**
 * A put's outcome. 'stale-key': the blob is sealed under an older key version than the account's current
 * one (a rotation happened; nothing stored). 'changed': the put named the seq it builds on (`base`) and
 * the tracker's blob has moved on since (another browser wrote it; nothing stored; `seq` is the current one).
 */
export type PutBlobOutcome = { ok: true; seq: number } | { ok: false; why: 'stale-key'; version: number } | { ok: false; why: 'changed'; seq: number };

/** The key version a sealed blob names (`<version>.<nonce>.<ciphertext>`, lib/seal.ts): the one part the server reads. */
export function sealedKeyVersion(sealed: string): number {
  return Number(sealed.slice(0, sealed.indexOf('.')));
}

export type JoinOutcome =
  | { ok: true; account: string; wrapped: string; device: DeviceRecord }
  | { ok: false; why: 'unknown' | 'expired' | 'used' | 'burned' }
  | { ok: false; why: 'wrong'; burned: boolean };

export interface SyncStore {
  /** The device (and its account) owning this token hash, or null (revoked, erased, never issued). */
  deviceByTokenHash(tokenHash: string): Promise<DeviceRecord | null>;
  /** The account's browsers, oldest first. */
  listDevices(account: string): Promise<DeviceRecord[]>;
  /** Revokes a device: its token answers 401 from now on, and the account owes a key rotation (KeyState.rekey). False when it is not one of the account's. */
  revokeDevice(account: string, device: string): Promise<boolean>;

  /** Stores a new pairing; also forgets pairings that expired before `createdAt` (they can never be used). */
  createPairing(pairing: PairingRecord): Promise<void>;
  /**
   * Judges a join (backend/pairing.ts judgeJoin) and applies the verdict in one transaction: a wrong proof
   * counts towards burning; the right one marks the pairing used and adds the new device to its account.
   * Two joins at once with the right proof: exactly one succeeds.
   */
  joinPairing(input: { id: string; proof: string; now: number; tokenHash: string; name: string | null }): Promise<JoinOutcome>;

  /** Registers a device's public key, once: false when it already has one (or is not the account's). */
  setDevicePublicKey(account: string, device: string, publicKey: string): Promise<boolean>;
  /**
   * Stores a rotated key's wraps, one per device, in one transaction, and makes `version` the account's
   * current key version (clearing KeyState.rekey). 'unknown-device' (nothing stored) when one is not a
   * device of the account; 'exists' when `version` is not above the current one, or a device already has
   * a wrap of it (another browser rotated first).
   */
  putWrappedKeys(account: string, version: number, wraps: readonly { device: string; wrapped: string }[], now: number): Promise<'ok' | 'unknown-device' | 'exists'>;
  /** The wrap of key `version` made for this device, or null. */
  wrappedKey(device: string, version: number): Promise<string | null>;

  /**
   * Puts (or, with null, deletes) the sealed blob of a tracker, in one transaction with its checks: a
   * blob sealed under a key version below the account's is refused ('stale-key'; a deletion never is),
   * and with `base` (the seq of the blob the writer built on, 0 for none) a blob that moved on is refused
   * ('changed'), so a browser never overwrites a change it has not merged.
   */
  putBlob(account: string, tracker: string, sealed: string | null, now: number, base?: number): Promise<PutBlobOutcome>;
  /** Where the account's key rotation stands. */
  keyState(account: string): Promise<KeyState>;
  getBlob(account: string, tracker: string): Promise<BlobChange | null>;
  /** Changes after `after` (0: all), in seq order, at most `limit`. Every change appears; a later change of a tracker replaces its earlier one. */
  blobChanges(account: string, after: number, limit: number): Promise<BlobsPage>;
}
