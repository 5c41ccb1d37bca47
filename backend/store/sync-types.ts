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

export type JoinOutcome =
  | { ok: true; account: string; wrapped: string; device: DeviceRecord }
  | { ok: false; why: 'unknown' | 'expired' | 'used' | 'burned' }
  | { ok: false; why: 'wrong'; burned: boolean };

export interface SyncStore {
  /** The device (and its account) owning this token hash, or null (revoked, erased, never issued). */
  deviceByTokenHash(tokenHash: string): Promise<DeviceRecord | null>;
  /** The account's browsers, oldest first. */
  listDevices(account: string): Promise<DeviceRecord[]>;
  /** Revokes a device: its token answers 401 from now on. False when it is not one of the account's. */
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
   * Stores a rotated key's wraps, one per device, in one transaction. 'unknown-device' (nothing stored)
   * when one is not a device of the account; 'exists' when a device already has a wrap of that version.
   */
  putWrappedKeys(account: string, version: number, wraps: readonly { device: string; wrapped: string }[], now: number): Promise<'ok' | 'unknown-device' | 'exists'>;
  /** The wrap of key `version` made for this device, or null. */
  wrappedKey(device: string, version: number): Promise<string | null>;

  /** Puts (or, with null, deletes) the sealed blob of a tracker; returns its new seq. */
  putBlob(account: string, tracker: string, sealed: string | null, now: number): Promise<number>;
  getBlob(account: string, tracker: string): Promise<BlobChange | null>;
  /** Changes after `after` (0: all), in seq order, at most `limit`. Every change appears; a later change of a tracker replaces its earlier one. */
  blobChanges(account: string, after: number, limit: number): Promise<BlobsPage>;
}
