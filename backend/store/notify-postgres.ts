/** PostgreSQL half of ./notify-types.ts: named statements (STYLE §7), run through the store's pool. */
import type pg from 'pg';
import { CLAIM_KEEP_MS, type NotifyMode, type NotifyStore } from './notify-types.ts';

/** The account's notify choice, and one row per claimed notification. Runs again on a schema that has it. */
export const NOTIFY_MIGRATION_POSTGRES = `
  ALTER TABLE accounts
    ADD COLUMN IF NOT EXISTS notify_mode text NOT NULL DEFAULT 'every' CHECK (notify_mode IN ('every', 'one', 'once')),
    ADD COLUMN IF NOT EXISTS notify_device text;
  CREATE TABLE IF NOT EXISTS notify_claims (
    account text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key text NOT NULL,
    device text NOT NULL,
    claimed_at bigint NOT NULL,
    PRIMARY KEY (account, key)
  );
  CREATE INDEX IF NOT EXISTS notify_claims_at ON notify_claims(claimed_at);
`;

const SQL = {
  // The chosen device only while it is still one of the account's (a revoked one is gone from devices).
  policy: `SELECT a.notify_mode, d.id AS device FROM accounts a
           LEFT JOIN devices d ON d.id = a.notify_device AND d.account = a.id WHERE a.id = $1`,
  // One statement: the device check and the write cannot be split by a revoke in between.
  setPolicy: `UPDATE accounts SET notify_mode = $2, notify_device = $3 WHERE id = $1
              AND ($2 <> 'one' OR EXISTS (SELECT 1 FROM devices WHERE account = $1 AND id = $3))`,
  forget: 'DELETE FROM notify_claims WHERE claimed_at < $1',
  // Concurrent inserts of one key: the later ones wait for the first to commit, then do nothing
  // (https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT) — exactly one row wins.
  claim: 'INSERT INTO notify_claims (account, key, device, claimed_at) VALUES ($1, $2, $3, $4) ON CONFLICT (account, key) DO NOTHING RETURNING device, claimed_at',
  holder: 'SELECT device, claimed_at FROM notify_claims WHERE account = $1 AND key = $2',
} as const;

type Query = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<pg.QueryResult<R>>;

/** Claims forgotten at most this often per instance (a DELETE per claim would be waste). */
const FORGET_EVERY_MS = 3_600_000;

export function postgresNotify(query: Query): NotifyStore {
  let forgotAt = 0;
  return {
    async notifyPolicy(account) {
      const { rows } = await query<{ notify_mode: NotifyMode; device: string | null }>(SQL.policy, [account]);
      const row = rows[0];
      if (!row || (row.notify_mode === 'one' && row.device === null)) return { mode: 'every', device: null };
      return { mode: row.notify_mode, device: row.notify_mode === 'one' ? row.device : null };
    },
    async setNotifyPolicy(account, policy) {
      if (policy.mode === 'one' && policy.device === null) return false;
      const device = policy.mode === 'one' ? policy.device : null;
      return ((await query(SQL.setPolicy, [account, policy.mode, device])).rowCount ?? 0) > 0;
    },
    async claimNotification(account, key, device, now) {
      if (now - forgotAt > FORGET_EVERY_MS) {
        forgotAt = now;
        await query(SQL.forget, [now - CLAIM_KEEP_MS]);
      }
      const made = await query<{ device: string; claimed_at: string | number }>(SQL.claim, [account, key, device, now]);
      const row = made.rows[0] ?? (await query<{ device: string; claimed_at: string | number }>(SQL.holder, [account, key])).rows[0];
      if (!row) throw new Error('The claim was neither made nor found.');
      return { won: row.device === device, device: row.device, claimedAt: Number(row.claimed_at) };
    },
  };
}
