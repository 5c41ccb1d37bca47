/** PostgreSQL half of ./sync-types.ts: named statements (STYLE §7), run through the store's pool. */
import type pg from 'pg';
import { judgeJoin, type PairingRecord } from '../pairing.ts';
import { deviceIdOf, sealedKeyVersion, type BlobChange, type DeviceRecord, type JoinOutcome, type PutBlobOutcome, type SyncStore } from './sync-types.ts';

/** The migration adding devices, pairings and blobs; every existing account's token becomes its first device. */
export const SYNC_MIGRATION_POSTGRES = `
  CREATE TABLE devices (
    id text PRIMARY KEY,
    account text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    token_hash text NOT NULL UNIQUE,
    name text,
    created_at bigint NOT NULL
  );
  CREATE INDEX devices_account ON devices(account, created_at);
  INSERT INTO devices (id, account, token_hash, name, created_at)
    SELECT substr(token_hash, 1, 22), id, token_hash, NULL, created_at FROM accounts;

  CREATE TABLE pairings (
    id text PRIMARY KEY,
    account text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    wrapped text NOT NULL,
    verifier text NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    wrong integer NOT NULL DEFAULT 0,
    used_at bigint
  );
  CREATE INDEX pairings_expires ON pairings(expires_at);

  ALTER TABLE accounts ADD COLUMN blob_seq bigint NOT NULL DEFAULT 0;
  CREATE TABLE blobs (
    account text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    tracker text NOT NULL,
    sealed text,
    seq bigint NOT NULL,
    updated_at bigint NOT NULL,
    PRIMARY KEY (account, tracker)
  );
  CREATE INDEX blobs_account_seq ON blobs(account, seq);
`;

/**
 * Key rotation (issue 21): each device's ECDH public key, and the rotated account keys wrapped for each
 * device (ciphertext only the device can open, lib/keywrap.ts). A revoked device's wraps go with it.
 * Runs again on a schema that has it (the scrub migration's test rewinds and re-runs later steps).
 */
export const KEYS_MIGRATION_POSTGRES = `
  ALTER TABLE devices ADD COLUMN IF NOT EXISTS public_key text;
  CREATE TABLE IF NOT EXISTS wrapped_keys (
    device text NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    version integer NOT NULL,
    account text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    wrapped text NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (device, version)
  );
`;

/**
 * Where key rotation stands (issue 21, sync-types.ts KeyState): the account's current key version, whether
 * a rotation is owed (a browser was revoked), and each blob's key version, so the server can refuse a blob
 * sealed under an older key and count the blobs a re-seal still has to do. Runs again on a schema that has it.
 */
export const KEY_VERSION_MIGRATION_POSTGRES = `
  ALTER TABLE accounts
    ADD COLUMN IF NOT EXISTS key_version integer NOT NULL DEFAULT 1,
    ADD COLUMN IF NOT EXISTS rekey boolean NOT NULL DEFAULT false;
  ALTER TABLE blobs ADD COLUMN IF NOT EXISTS key_version integer;
  UPDATE blobs SET key_version = split_part(sealed, '.', 1)::integer WHERE sealed IS NOT NULL AND key_version IS NULL;
  UPDATE accounts a SET key_version = w.version
    FROM (SELECT account, max(version) AS version FROM wrapped_keys GROUP BY account) w
    WHERE w.account = a.id AND w.version > a.key_version;
  CREATE INDEX IF NOT EXISTS blobs_account_key_version ON blobs(account, key_version);
`;

const SQL = {
  insertDevice: 'INSERT INTO devices (id, account, token_hash, name, created_at) VALUES ($1, $2, $3, $4, $5)',
  deviceByHash: 'SELECT id, account, name, created_at, public_key FROM devices WHERE token_hash = $1',
  devices: 'SELECT id, account, name, created_at, public_key FROM devices WHERE account = $1 ORDER BY created_at, id',
  revoke: 'DELETE FROM devices WHERE account = $1 AND id = $2',
  owesRekey: 'UPDATE accounts SET rekey = true WHERE id = $1',
  keyVersion: 'SELECT key_version, rekey FROM accounts WHERE id = $1',
  // Locks the account row: a put and a rotation (setKeyVersion) take turns, so no blob sealed under the
  // old key commits after the new key is current.
  lockKeyVersion: 'SELECT key_version FROM accounts WHERE id = $1 FOR UPDATE',
  setKeyVersion: 'UPDATE accounts SET key_version = $1, rekey = false WHERE id = $2 AND key_version < $1',
  staleBlobs: 'SELECT count(*)::integer AS n FROM blobs WHERE account = $1 AND key_version < $2',
  blobSeq: 'SELECT seq FROM blobs WHERE account = $1 AND tracker = $2',
  forgetPairings: 'DELETE FROM pairings WHERE expires_at < $1',
  insertPairing: 'INSERT INTO pairings (id, account, wrapped, verifier, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)',
  // FOR UPDATE: two joins of one pairing take turns, so only one can use it and wrong proofs all count.
  lockPairing: 'SELECT * FROM pairings WHERE id = $1 FOR UPDATE',
  wrongProof: 'UPDATE pairings SET wrong = wrong + 1 WHERE id = $1',
  usePairing: 'UPDATE pairings SET used_at = $1 WHERE id = $2',
  setPublicKey: 'UPDATE devices SET public_key = $1 WHERE account = $2 AND id = $3 AND public_key IS NULL',
  deviceOf: 'SELECT id FROM devices WHERE account = $1 AND id = $2',
  insertWrap: 'INSERT INTO wrapped_keys (device, version, account, wrapped, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
  wrap: 'SELECT wrapped FROM wrapped_keys WHERE device = $1 AND version = $2',
  // The account row stays locked until COMMIT: blob seqs of an account commit in the order they were
  // handed out, so a reader never passes a seq whose change is still to commit (as with feed_seq).
  nextBlobSeq: 'UPDATE accounts SET blob_seq = blob_seq + 1 WHERE id = $1 RETURNING blob_seq',
  putBlob: `
    INSERT INTO blobs (account, tracker, sealed, seq, updated_at, key_version) VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (account, tracker) DO UPDATE SET sealed = excluded.sealed, seq = excluded.seq, updated_at = excluded.updated_at, key_version = excluded.key_version`,
  blob: 'SELECT tracker, sealed, seq, updated_at FROM blobs WHERE account = $1 AND tracker = $2',
  blobsAfter: 'SELECT tracker, sealed, seq, updated_at FROM blobs WHERE account = $1 AND seq > $2 ORDER BY seq LIMIT $3',
} as const;

interface DeviceRow {
  id: string;
  account: string;
  name: string | null;
  public_key: string | null;
  created_at: number | string;
}
interface BlobRow {
  tracker: string;
  sealed: string | null;
  seq: number | string;
  updated_at: number | string;
}

const device = (r: DeviceRow): DeviceRecord => ({ id: r.id, account: r.account, name: r.name, createdAt: Number(r.created_at), publicKey: r.public_key });
const blob = (r: BlobRow): BlobChange => ({ tracker: r.tracker, sealed: r.sealed, seq: Number(r.seq), updatedAt: Number(r.updated_at) });

type Query = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<pg.QueryResult<R>>;
type Transaction = <T>(body: (client: pg.PoolClient) => Promise<T>) => Promise<T>;

/** `changed` wakes this instance's long polls and, through NOTIFY, the other instances'. */
export function postgresSync(query: Query, transaction: Transaction, changed: (account: string) => void): SyncStore {
  return {
    async deviceByTokenHash(tokenHash) {
      const { rows } = await query<DeviceRow>(SQL.deviceByHash, [tokenHash]);
      return rows[0] ? device(rows[0]) : null;
    },
    async listDevices(account) {
      return (await query<DeviceRow>(SQL.devices, [account])).rows.map(device);
    },
    async revokeDevice(account, id) {
      return transaction(async (client) => {
        if (((await client.query(SQL.revoke, [account, id])).rowCount ?? 0) === 0) return false;
        await client.query(SQL.owesRekey, [account]);
        return true;
      });
    },
    async createPairing(p) {
      await query(SQL.forgetPairings, [p.createdAt]);
      await query(SQL.insertPairing, [p.id, p.account, p.wrapped, p.verifier, p.createdAt, p.expiresAt]);
    },
    async joinPairing(input) {
      return transaction(async (client): Promise<JoinOutcome> => {
        const { rows } = await client.query<Record<string, unknown>>(SQL.lockPairing, [input.id]);
        const row = rows[0];
        if (!row) return { ok: false, why: 'unknown' };
        const record: PairingRecord = {
          id: String(row.id),
          account: String(row.account),
          wrapped: String(row.wrapped),
          verifier: String(row.verifier),
          createdAt: Number(row.created_at),
          expiresAt: Number(row.expires_at),
          wrong: Number(row.wrong),
          usedAt: row.used_at === null ? null : Number(row.used_at),
        };
        const verdict = judgeJoin(record, input.proof, input.now);
        if (!verdict.ok) {
          if (verdict.why === 'wrong') await client.query(SQL.wrongProof, [input.id]);
          return verdict;
        }
        await client.query(SQL.usePairing, [input.now, input.id]);
        const id = deviceIdOf(input.tokenHash);
        await client.query(SQL.insertDevice, [id, record.account, input.tokenHash, input.name, input.now]);
        return { ok: true, account: record.account, wrapped: record.wrapped, device: { id, account: record.account, name: input.name, createdAt: input.now, publicKey: null } };
      });
    },
    async setDevicePublicKey(account, id, publicKey) {
      return ((await query(SQL.setPublicKey, [publicKey, account, id])).rowCount ?? 0) > 0;
    },
    async putWrappedKeys(account, version, wraps, now) {
      class Rollback extends Error {
        constructor(readonly outcome: 'unknown-device' | 'exists') {
          super(outcome);
        }
      }
      try {
        await transaction(async (client) => {
          if (((await client.query(SQL.setKeyVersion, [version, account])).rowCount ?? 0) === 0) throw new Rollback('exists');
          for (const w of wraps) {
            if ((await client.query(SQL.deviceOf, [account, w.device])).rows.length === 0) throw new Rollback('unknown-device');
            if (((await client.query(SQL.insertWrap, [w.device, version, account, w.wrapped, now])).rowCount ?? 0) === 0) throw new Rollback('exists');
          }
        });
        return 'ok';
      } catch (error) {
        if (error instanceof Rollback) return error.outcome;
        throw error;
      }
    },
    async wrappedKey(id, version) {
      const { rows } = await query<{ wrapped: string }>(SQL.wrap, [id, version]);
      return rows[0]?.wrapped ?? null;
    },
    async putBlob(account, tracker, sealed, now, base) {
      const outcome = await transaction(async (client): Promise<PutBlobOutcome> => {
        const keys = (await client.query<{ key_version: number }>(SQL.lockKeyVersion, [account])).rows[0];
        if (!keys) throw new Error('No such account.');
        const version = sealed === null ? null : sealedKeyVersion(sealed);
        if (version !== null && version < keys.key_version) return { ok: false, why: 'stale-key', version: keys.key_version };
        const current = Number((await client.query<{ seq: number | string }>(SQL.blobSeq, [account, tracker])).rows[0]?.seq ?? 0);
        if (base !== undefined && base !== current) return { ok: false, why: 'changed', seq: current };
        const { rows } = await client.query<{ blob_seq: number | string }>(SQL.nextBlobSeq, [account]);
        const next = Number(rows[0]!.blob_seq);
        await client.query(SQL.putBlob, [account, tracker, sealed, next, now, version]);
        return { ok: true, seq: next };
      });
      if (outcome.ok) changed(account);
      return outcome;
    },
    async keyState(account) {
      const row = (await query<{ key_version: number; rekey: boolean }>(SQL.keyVersion, [account])).rows[0];
      if (!row) return { version: 1, rekey: false, stale: 0 };
      const stale = (await query<{ n: number }>(SQL.staleBlobs, [account, row.key_version])).rows[0]!.n;
      return { version: row.key_version, rekey: row.rekey, stale };
    },
    async getBlob(account, tracker) {
      const { rows } = await query<BlobRow>(SQL.blob, [account, tracker]);
      return rows[0] ? blob(rows[0]) : null;
    },
    async blobChanges(account, after, limit) {
      const rows = (await query<BlobRow>(SQL.blobsAfter, [account, after, Math.max(1, limit)])).rows.map(blob);
      return { blobs: rows, cursor: rows.at(-1)?.seq ?? after };
    },
  };
}
