/** SQLite half of ./notify-types.ts: named statements over the store's connection (STYLE §7). */
import type BetterSqlite3 from 'better-sqlite3';
import { CLAIM_KEEP_MS, type NotifyMode, type NotifyStore } from './notify-types.ts';

/** The account's notify choice, and one row per claimed notification. Runs again on a schema that has it. */
export function NOTIFY_MIGRATION_SQLITE(db: BetterSqlite3.Database): void {
  const columns = new Set(db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('accounts')").all().map((c) => c.name));
  if (!columns.has('notify_mode')) db.exec("ALTER TABLE accounts ADD COLUMN notify_mode TEXT NOT NULL DEFAULT 'every' CHECK (notify_mode IN ('every', 'one', 'once'))");
  if (!columns.has('notify_device')) db.exec('ALTER TABLE accounts ADD COLUMN notify_device TEXT');
  db.exec(`
    CREATE TABLE IF NOT EXISTS notify_claims (
      account TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
      key TEXT NOT NULL,
      device TEXT NOT NULL,
      claimed_at INTEGER NOT NULL,
      PRIMARY KEY (account, key)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS notify_claims_at ON notify_claims(claimed_at);
  `);
}

export function sqliteNotify(db: BetterSqlite3.Database, guard: () => void): NotifyStore {
  const sql = {
    // The chosen device only while it is still one of the account's (a revoked one is gone from devices).
    policy: db.prepare<[string], { notify_mode: NotifyMode; device: string | null }>(
      `SELECT a.notify_mode, d.id AS device FROM accounts a
       LEFT JOIN devices d ON d.id = a.notify_device AND d.account = a.id WHERE a.id = ?`,
    ),
    deviceOf: db.prepare<[string, string], { id: string }>('SELECT id FROM devices WHERE account = ? AND id = ?'),
    setPolicy: db.prepare('UPDATE accounts SET notify_mode = ?, notify_device = ? WHERE id = ?'),
    forget: db.prepare('DELETE FROM notify_claims WHERE claimed_at < ?'),
    claim: db.prepare('INSERT INTO notify_claims (account, key, device, claimed_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
    holder: db.prepare<[string, string], { device: string; claimed_at: number }>('SELECT device, claimed_at FROM notify_claims WHERE account = ? AND key = ?'),
  };
  const claim = db.transaction((account: string, key: string, device: string, now: number) => {
    sql.forget.run(now - CLAIM_KEEP_MS);
    sql.claim.run(account, key, device, now);
    return sql.holder.get(account, key)!;
  });

  return {
    async notifyPolicy(account) {
      guard();
      const row = sql.policy.get(account);
      if (!row || (row.notify_mode === 'one' && row.device === null)) return { mode: 'every', device: null };
      return { mode: row.notify_mode, device: row.notify_mode === 'one' ? row.device : null };
    },
    async setNotifyPolicy(account, policy) {
      guard();
      if (policy.mode === 'one' && (policy.device === null || !sql.deviceOf.get(account, policy.device))) return false;
      return sql.setPolicy.run(policy.mode, policy.mode === 'one' ? policy.device : null, account).changes > 0;
    },
    async claimNotification(account, key, device, now) {
      guard();
      const holder = claim.immediate(account, key, device, now);
      return { won: holder.device === device, device: holder.device, claimedAt: holder.claimed_at };
    },
  };
}
