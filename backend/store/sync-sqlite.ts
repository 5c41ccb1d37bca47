/** SQLite half of ./sync-types.ts: named statements over the store's connection (STYLE §7). */
import type BetterSqlite3 from 'better-sqlite3';
import { judgeJoin, type PairingRecord } from '../pairing.ts';
import { deviceIdOf, sealedKeyVersion, type BlobChange, type DeviceRecord, type JoinOutcome, type PutBlobOutcome, type SyncStore } from './sync-types.ts';

/** The migration adding devices, pairings and blobs; every existing account's token becomes its first device. */
export const SYNC_MIGRATION_SQLITE = `
  CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    name TEXT,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX devices_account ON devices(account, created_at);
  INSERT INTO devices (id, account, token_hash, name, created_at)
    SELECT substr(token_hash, 1, 22), id, token_hash, NULL, created_at FROM accounts;

  CREATE TABLE pairings (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    wrapped TEXT NOT NULL,
    verifier TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    wrong INTEGER NOT NULL DEFAULT 0,
    used_at INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX pairings_expires ON pairings(expires_at);

  ALTER TABLE accounts ADD COLUMN blob_seq INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE blobs (
    account TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    tracker TEXT NOT NULL,
    sealed TEXT,
    seq INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account, tracker)
  ) WITHOUT ROWID;
  CREATE INDEX blobs_account_seq ON blobs(account, seq);
`;

/**
 * Key rotation (issue 21): each device's ECDH public key, and the rotated account keys wrapped for each
 * device (ciphertext only the device can open, lib/keywrap.ts). A revoked device's wraps go with it.
 */
export function KEYS_MIGRATION_SQLITE(db: BetterSqlite3.Database): void {
  // Runs again on a schema that has it (SQLite has no ADD COLUMN IF NOT EXISTS; the scrub migration's test re-runs later steps).
  const columns = new Set(db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('devices')").all().map((c) => c.name));
  if (!columns.has('public_key')) db.exec('ALTER TABLE devices ADD COLUMN public_key TEXT');
  db.exec(`
    CREATE TABLE IF NOT EXISTS wrapped_keys (
      device TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
      version INTEGER NOT NULL,
      account TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
      wrapped TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      PRIMARY KEY (device, version)
    ) WITHOUT ROWID;
  `);
}

/**
 * Where key rotation stands (issue 21, sync-types.ts KeyState): the account's current key version, whether
 * a rotation is owed (a browser was revoked), and each blob's key version, so the server can refuse a blob
 * sealed under an older key and count the blobs a re-seal still has to do. Runs again on a schema that has it.
 */
export function KEY_VERSION_MIGRATION_SQLITE(db: BetterSqlite3.Database): void {
  const columns = (table: string) => new Set(db.prepare<[string], { name: string }>('SELECT name FROM pragma_table_info(?)').all(table).map((c) => c.name));
  const accounts = columns('accounts');
  if (!accounts.has('key_version')) db.exec('ALTER TABLE accounts ADD COLUMN key_version INTEGER NOT NULL DEFAULT 1');
  if (!accounts.has('rekey')) db.exec('ALTER TABLE accounts ADD COLUMN rekey INTEGER NOT NULL DEFAULT 0');
  if (!columns('blobs').has('key_version')) db.exec('ALTER TABLE blobs ADD COLUMN key_version INTEGER');
  db.exec(`
    UPDATE blobs SET key_version = CAST(substr(sealed, 1, instr(sealed, '.') - 1) AS INTEGER) WHERE sealed IS NOT NULL AND key_version IS NULL;
    UPDATE accounts SET key_version = (SELECT max(version) FROM wrapped_keys WHERE account = accounts.id)
      WHERE (SELECT max(version) FROM wrapped_keys WHERE account = accounts.id) > key_version;
    CREATE INDEX IF NOT EXISTS blobs_account_key_version ON blobs(account, key_version);
  `);
}

interface DeviceRow {
  id: string;
  account: string;
  name: string | null;
  public_key: string | null;
  created_at: number;
}
interface PairingRow {
  id: string;
  account: string;
  wrapped: string;
  verifier: string;
  created_at: number;
  expires_at: number;
  wrong: number;
  used_at: number | null;
}
interface BlobRow {
  tracker: string;
  sealed: string | null;
  seq: number;
  updated_at: number;
}

const device = (r: DeviceRow): DeviceRecord => ({ id: r.id, account: r.account, name: r.name, createdAt: r.created_at, publicKey: r.public_key });
const blob = (r: BlobRow): BlobChange => ({ tracker: r.tracker, sealed: r.sealed, seq: r.seq, updatedAt: r.updated_at });
const pairing = (r: PairingRow): PairingRecord => ({
  id: r.id,
  account: r.account,
  wrapped: r.wrapped,
  verifier: r.verifier,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  wrong: r.wrong,
  usedAt: r.used_at,
});

/**
 * `guard` throws once the store is closed; `changed` tells the store's feed subscribers that an account's
 * blobs changed, so a long poll on /v1/events with blobsAfter wakes.
 */
export function sqliteSync(db: BetterSqlite3.Database, guard: () => void, changed: (account: string) => void): SyncStore {
  const sql = {
    insertDevice: db.prepare('INSERT INTO devices (id, account, token_hash, name, created_at) VALUES (?, ?, ?, ?, ?)'),
    deviceByHash: db.prepare<[string], DeviceRow>('SELECT id, account, name, created_at, public_key FROM devices WHERE token_hash = ?'),
    devices: db.prepare<[string], DeviceRow>('SELECT id, account, name, created_at, public_key FROM devices WHERE account = ? ORDER BY created_at, id'),
    revoke: db.prepare('DELETE FROM devices WHERE account = ? AND id = ?'),
    owesRekey: db.prepare('UPDATE accounts SET rekey = 1 WHERE id = ?'),
    keyVersion: db.prepare<[string], { key_version: number; rekey: number }>('SELECT key_version, rekey FROM accounts WHERE id = ?'),
    setKeyVersion: db.prepare('UPDATE accounts SET key_version = ?, rekey = 0 WHERE id = ?'),
    staleBlobs: db.prepare<[string, number], { n: number }>('SELECT count(*) AS n FROM blobs WHERE account = ? AND key_version < ?'),
    insertPairing: db.prepare(
      'INSERT INTO pairings (id, account, wrapped, verifier, created_at, expires_at, wrong, used_at) VALUES (?, ?, ?, ?, ?, ?, 0, NULL)',
    ),
    forgetPairings: db.prepare('DELETE FROM pairings WHERE expires_at < ?'),
    pairing: db.prepare<[string], PairingRow>('SELECT * FROM pairings WHERE id = ?'),
    wrongProof: db.prepare('UPDATE pairings SET wrong = wrong + 1 WHERE id = ?'),
    usePairing: db.prepare('UPDATE pairings SET used_at = ? WHERE id = ?'),
    setPublicKey: db.prepare('UPDATE devices SET public_key = ? WHERE account = ? AND id = ? AND public_key IS NULL'),
    deviceOf: db.prepare<[string, string], { id: string }>('SELECT id FROM devices WHERE account = ? AND id = ?'),
    insertWrap: db.prepare('INSERT INTO wrapped_keys (device, version, account, wrapped, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING'),
    wrap: db.prepare<[string, number], { wrapped: string }>('SELECT wrapped FROM wrapped_keys WHERE device = ? AND version = ?'),
    nextBlobSeq: db.prepare<[string], { blob_seq: number }>('UPDATE accounts SET blob_seq = blob_seq + 1 WHERE id = ? RETURNING blob_seq'),
    putBlob: db.prepare(
      `INSERT INTO blobs (account, tracker, sealed, seq, updated_at, key_version) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (account, tracker) DO UPDATE SET sealed = excluded.sealed, seq = excluded.seq, updated_at = excluded.updated_at, key_version = excluded.key_version`,
    ),
    blobSeq: db.prepare<[string, string], { seq: number }>('SELECT seq FROM blobs WHERE account = ? AND tracker = ?'),
    blob: db.prepare<[string, string], BlobRow>('SELECT tracker, sealed, seq, updated_at FROM blobs WHERE account = ? AND tracker = ?'),
    blobsAfter: db.prepare<[string, number, number], BlobRow>(
      'SELECT tracker, sealed, seq, updated_at FROM blobs WHERE account = ? AND seq > ? ORDER BY seq LIMIT ?',
    ),
  };

  const join = db.transaction((input: { id: string; proof: string; now: number; tokenHash: string; name: string | null }): JoinOutcome => {
    const row = sql.pairing.get(input.id);
    if (!row) return { ok: false, why: 'unknown' };
    const verdict = judgeJoin(pairing(row), input.proof, input.now);
    if (!verdict.ok) {
      if (verdict.why === 'wrong') sql.wrongProof.run(input.id);
      return verdict;
    }
    sql.usePairing.run(input.now, input.id);
    const id = deviceIdOf(input.tokenHash);
    sql.insertDevice.run(id, row.account, input.tokenHash, input.name, input.now);
    return { ok: true, account: row.account, wrapped: row.wrapped, device: { id, account: row.account, name: input.name, createdAt: input.now, publicKey: null } };
  });

  class Rollback extends Error {
    constructor(readonly outcome: 'unknown-device' | 'exists') {
      super(outcome);
    }
  }
  const putWraps = db.transaction((account: string, version: number, wraps: readonly { device: string; wrapped: string }[], now: number) => {
    const current = sql.keyVersion.get(account);
    if (!current || version <= current.key_version) throw new Rollback('exists');
    sql.setKeyVersion.run(version, account);
    for (const w of wraps) {
      if (!sql.deviceOf.get(account, w.device)) throw new Rollback('unknown-device');
      if (sql.insertWrap.run(w.device, version, account, w.wrapped, now).changes === 0) throw new Rollback('exists');
    }
  });

  const put = db.transaction((account: string, tracker: string, sealed: string | null, now: number, base: number | undefined): PutBlobOutcome => {
    const keys = sql.keyVersion.get(account);
    if (!keys) throw new Error('No such account.');
    const version = sealed === null ? null : sealedKeyVersion(sealed);
    if (version !== null && version < keys.key_version) return { ok: false, why: 'stale-key', version: keys.key_version };
    const current = sql.blobSeq.get(account, tracker)?.seq ?? 0;
    if (base !== undefined && base !== current) return { ok: false, why: 'changed', seq: current };
    const next = sql.nextBlobSeq.get(account)!;
    sql.putBlob.run(account, tracker, sealed, next.blob_seq, now, version);
    return { ok: true, seq: next.blob_seq };
  });
  const revoke = db.transaction((account: string, id: string): boolean => {
    if (sql.revoke.run(account, id).changes === 0) return false;
    sql.owesRekey.run(account);
    return true;
  });

  return {
    async deviceByTokenHash(tokenHash) {
      guard();
      const row = sql.deviceByHash.get(tokenHash);
      return row ? device(row) : null;
    },
    async listDevices(account) {
      guard();
      return sql.devices.all(account).map(device);
    },
    async revokeDevice(account, id) {
      guard();
      return revoke.immediate(account, id);
    },
    async createPairing(p) {
      guard();
      sql.forgetPairings.run(p.createdAt);
      sql.insertPairing.run(p.id, p.account, p.wrapped, p.verifier, p.createdAt, p.expiresAt);
    },
    async joinPairing(input) {
      guard();
      return join.immediate(input);
    },
    async setDevicePublicKey(account, id, publicKey) {
      guard();
      return sql.setPublicKey.run(publicKey, account, id).changes > 0;
    },
    async putWrappedKeys(account, version, wraps, now) {
      guard();
      try {
        putWraps.immediate(account, version, wraps, now);
        return 'ok';
      } catch (error) {
        if (error instanceof Rollback) return error.outcome;
        throw error;
      }
    },
    async wrappedKey(id, version) {
      guard();
      return sql.wrap.get(id, version)?.wrapped ?? null;
    },
    async putBlob(account, tracker, sealed, now, base) {
      guard();
      const outcome = put.immediate(account, tracker, sealed, now, base);
      if (outcome.ok) changed(account);
      return outcome;
    },
    async keyState(account) {
      guard();
      const row = sql.keyVersion.get(account);
      if (!row) return { version: 1, rekey: false, stale: 0 };
      return { version: row.key_version, rekey: row.rekey === 1, stale: sql.staleBlobs.get(account, row.key_version)!.n };
    },
    async getBlob(account, tracker) {
      guard();
      const row = sql.blob.get(account, tracker);
      return row ? blob(row) : null;
    },
    async blobChanges(account, after, limit) {
      guard();
      const rows = sql.blobsAfter.all(account, after, Math.max(1, limit)).map(blob);
      return { blobs: rows, cursor: rows.at(-1)?.seq ?? after };
    },
  };
}
