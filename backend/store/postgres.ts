/**
 * The PostgreSQL store: several stateless server instances over one database
 * (OPENPING_DB=postgres://…). Everything shared lives in PostgreSQL — the feed,
 * flood caps, rate-limit counters — and long-poll wake-ups travel between
 * instances with LISTEN/NOTIFY.
 *
 * Events-feed cursor. A bigserial is handed out when a row is inserted, not when
 * its transaction commits: instance A can take id 10, instance B id 11, B commits,
 * a reader returns 11 and moves its cursor past 10, then A commits 10 — skipped
 * forever. Here each account row carries `feed_seq`, and a writer (the
 * openping_record_hits function, relabel) locks that row (FOR NO KEY UPDATE),
 * assigns the next positions, and holds the lock until COMMIT. Positions of one
 * account are therefore assigned in commit order: a transaction leaves the
 * "running" set before it releases its locks ("this must be done _before_
 * releasing locks we hold and _after_ RecordTransactionCommit", CommitTransaction
 * in src/backend/access/transam/xact.c), so a snapshot that sees position n of an
 * account also sees every position below n. The cursor is just "the last position
 * read" (`p<n>`), and a reader never waits on anything. The price: writers of the
 * SAME account take turns, each holding the row through its WAL flush, so one
 * account commits about one batch per fsync (group commit makes those batches
 * big); writers of different accounts never wait for each other. An xid-horizon
 * cursor would let same-account writers overlap but would hold every reader back
 * behind the oldest running write transaction of the whole database.
 *
 * Lock order, to keep transactions from deadlocking one another: accounts (by
 * id), then trackers (by id), then hits. A deadlock or serialization failure
 * still gets the transaction retried (transient by definition).
 */
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import pg from 'pg';
import { codedReason } from '../../contract/reasons.ts';
import type { HitKind, HitSignals, PriorHit } from '../classify/types.ts';
import { scrubSignals } from '../sanitize.ts';
import { KEY_VERSION_MIGRATION_POSTGRES, KEYS_MIGRATION_POSTGRES, postgresSync, SYNC_MIGRATION_POSTGRES } from './sync-postgres.ts';
import { NOTIFY_MIGRATION_POSTGRES, postgresNotify } from './notify-postgres.ts';
import { deviceIdOf } from './sync-types.ts';
import {
  DEFAULT_ACCOUNT_HITS_PER_HOUR,
  DEFAULT_FLOOD_CAP_PER_HOUR,
  DEFAULT_SELF_VIEWS_PER_MINUTE,
  DEFAULT_TRACKERS_PER_DAY,
  decodeHitCursor,
  encodeHitCursor,
  InvalidCursorError,
  LimitError,
  MAX_SELF_VIEWS_PER_TRACKER,
  SELF_VIEW_MERGE_MS,
  selfViewPoints,
  type EventsPage,
  type FeedListener,
  type Hit,
  type NewHit,
  type Page,
  type RecordOutcome,
  type Relabel,
  type SelfViewOutcome,
  type SentBy,
  type Store,
  type StoreOptions,
  type StoredHit,
  type TrackerRecord,
  type TrackerState,
} from './types.ts';

const CHANNEL = 'openping_feed';
/** pg_advisory_lock key for migrations: the ASCII bytes of "OpenPing". */
const MIGRATION_LOCK = '5724186650857795175';
const RETENTION_CHUNK = 10_000;
/** Connections per instance; ten instances stay within PostgreSQL's default max_connections of 100 (plus one LISTEN each). */
const POOL_SIZE = 8;
/** How far before a lost LISTEN connection to look for hits whose wake-up may have been missed. */
const RECONNECT_MARGIN_MS = 60_000;
/** Most hits merged into one write transaction. */
const MERGE_MAX = 2_000;
/** SQLSTATEs worth retrying: serialization_failure, deadlock_detected (postgresql.org/docs/15/errcodes-appendix.html). */
const RETRYABLE = new Set(['40001', '40P01']);

/** Each entry migrates from version i to i+1; openping_schema holds the versions applied. */
const MIGRATIONS: ReadonlyArray<string | ((client: pg.PoolClient) => Promise<void>)> = [
  `
  CREATE TABLE accounts (
    id text PRIMARY KEY,
    token_hash text NOT NULL UNIQUE,
    created_at bigint NOT NULL,
    feed_seq bigint NOT NULL DEFAULT 0
  );

  CREATE TABLE trackers (
    id text PRIMARY KEY,
    account text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    state text NOT NULL CHECK (state IN ('armed', 'sent')),
    sent_at bigint,
    created_at bigint NOT NULL,
    dropped bigint NOT NULL DEFAULT 0
  );
  CREATE INDEX trackers_account ON trackers(account);

  CREATE TABLE self_views (
    tracker text NOT NULL REFERENCES trackers(id) ON DELETE CASCADE,
    at bigint NOT NULL
  );
  CREATE INDEX self_views_tracker ON self_views(tracker, at);

  -- Fetches seen per tracker per clock hour; stored = least(seen, cap).
  CREATE TABLE flood_windows (
    tracker text NOT NULL REFERENCES trackers(id) ON DELETE CASCADE,
    hour bigint NOT NULL,
    seen bigint NOT NULL,
    PRIMARY KEY (tracker, hour)
  );

  CREATE TABLE hits (
    id text PRIMARY KEY,
    account text NOT NULL,
    tracker text NOT NULL REFERENCES trackers(id) ON DELETE CASCADE,
    seq bigint NOT NULL,
    at bigint NOT NULL,
    kind text NOT NULL,
    via text,
    reason text NOT NULL,
    client jsonb,
    prefix text NOT NULL,
    asn bigint,
    org text,
    geo jsonb,
    signals jsonb NOT NULL,
    UNIQUE (account, seq)
  );
  CREATE INDEX hits_tracker_at ON hits(tracker, at);
  CREATE INDEX hits_at ON hits(at);

  CREATE TABLE rate_counters (
    key text NOT NULL,
    win bigint NOT NULL,
    ends_at bigint NOT NULL,
    count bigint NOT NULL,
    PRIMARY KEY (key, win)
  );
  CREATE INDEX rate_counters_ends_at ON rate_counters(ends_at);

  -- The pixel path's group commit in one round trip (called in autocommit: the
  -- call returns only after its transaction committed). Outcomes in input order.
  CREATE FUNCTION openping_record_hits(
    p_cap bigint,
    p_ids text[], p_accounts text[], p_trackers text[], p_ats bigint[], p_kinds text[], p_vias text[], p_reasons text[],
    p_clients jsonb[], p_prefixes text[], p_asns bigint[], p_orgs text[], p_geos jsonb[], p_signals jsonb[]
  ) RETURNS text[] LANGUAGE plpgsql AS $fn$
  DECLARE
    v_outcomes text[];
  BEGIN
    -- Lock order: accounts, then trackers, each by id (see postgres.ts). Holding
    -- the account rows until COMMIT is what makes feed positions commit-ordered.
    PERFORM 1 FROM accounts WHERE id = ANY(p_accounts) ORDER BY id FOR NO KEY UPDATE;
    PERFORM 1 FROM trackers WHERE id = ANY(p_trackers) ORDER BY id FOR NO KEY UPDATE;
    -- A new statement, so a new snapshot (READ COMMITTED): it sees the feed_seq
    -- committed by whoever held the account lock before us.
    WITH input AS (
      SELECT * FROM unnest(p_ids, p_accounts, p_trackers, p_ats, p_kinds, p_vias, p_reasons, p_clients, p_prefixes, p_asns, p_orgs, p_geos, p_signals)
        WITH ORDINALITY AS i(id, account, tracker, at, kind, via, reason, client, prefix, asn, org, geo, signals, ord)
    ), valid AS (
      SELECT i.*, floor(i.at / 3600000.0)::bigint AS hour
      FROM input i JOIN trackers t ON t.id = i.tracker AND t.account = i.account
    ), groups AS (
      SELECT tracker, hour, count(*) AS n FROM valid GROUP BY tracker, hour
    ), flood AS (
      -- Of n fetches added to a window that had seen s, the first
      -- least(cap, s + n) - least(cap, s) are stored, in batch order.
      INSERT INTO flood_windows AS f (tracker, hour, seen)
      SELECT tracker, hour, n FROM groups ORDER BY tracker, hour
      ON CONFLICT (tracker, hour) DO UPDATE SET seen = f.seen + excluded.seen
      RETURNING f.tracker, f.hour, f.seen
    ), decided AS (
      SELECT v.*, row_number() OVER (PARTITION BY v.tracker, v.hour ORDER BY v.ord)
                    <= least(p_cap, fl.seen) - least(p_cap, fl.seen - g.n) AS stored
      FROM valid v JOIN groups g USING (tracker, hour) JOIN flood fl USING (tracker, hour)
    ), numbered AS (
      SELECT d.*, a.feed_seq + row_number() OVER (PARTITION BY d.account ORDER BY d.ord) AS seq
      FROM decided d JOIN accounts a ON a.id = d.account
      WHERE d.stored
    ), ins AS (
      INSERT INTO hits (id, account, tracker, seq, at, kind, via, reason, client, prefix, asn, org, geo, signals)
      SELECT id, account, tracker, seq, at, kind, via, reason, client, prefix, asn, org, geo, signals FROM numbered
      RETURNING account, seq
    ), heads AS (
      -- This and the next run although nothing reads them: data-modifying WITH parts
      -- always run to completion (postgresql.org/docs/15/queries-with.html#QUERIES-WITH-MODIFYING).
      UPDATE accounts a SET feed_seq = m.head
      FROM (SELECT account, max(seq) AS head FROM ins GROUP BY account) m
      WHERE a.id = m.account
      RETURNING a.id
    ), drops AS (
      UPDATE trackers t SET dropped = t.dropped + x.k
      FROM (SELECT tracker, count(*) AS k FROM decided WHERE NOT stored GROUP BY tracker) x
      WHERE t.id = x.tracker
      RETURNING t.id
    )
    SELECT array_agg(CASE WHEN d.ord IS NULL THEN 'unknown' WHEN d.stored THEN 'stored' ELSE 'dropped' END ORDER BY i.ord)
    INTO v_outcomes
    FROM input i LEFT JOIN decided d ON d.ord = i.ord;
    RETURN v_outcomes;
  END
  $fn$;
  `,
  `
  -- A self-view merges the views within a minute of it (SPEC §3): it spans at .. last_at (null: at).
  ALTER TABLE self_views ADD COLUMN last_at bigint;
  -- The account's new trackers of its latest UTC day (floor(ms / 86,400,000)), for its daily cap.
  ALTER TABLE accounts
    ADD COLUMN trackers_day bigint NOT NULL DEFAULT 0,
    ADD COLUMN trackers_today bigint NOT NULL DEFAULT 0;
  -- A tracker's self-views of its latest minute of server time, for the burst limit.
  ALTER TABLE trackers
    ADD COLUMN self_view_minute bigint NOT NULL DEFAULT 0,
    ADD COLUMN self_views_in_minute bigint NOT NULL DEFAULT 0;

  -- Fetches of an account's trackers that passed their flood cap, per clock hour;
  -- the account stores least(seen, account cap) of them.
  CREATE TABLE account_windows (
    account text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    hour bigint NOT NULL,
    seen bigint NOT NULL,
    PRIMARY KEY (account, hour)
  );

  -- openping_record_hits with the account's cap besides the tracker's: a new
  -- overload (one more argument), so instances not yet upgraded keep calling
  -- theirs while the new ones start.
  CREATE FUNCTION openping_record_hits(
    p_cap bigint, p_account_cap bigint,
    p_ids text[], p_accounts text[], p_trackers text[], p_ats bigint[], p_kinds text[], p_vias text[], p_reasons text[],
    p_clients jsonb[], p_prefixes text[], p_asns bigint[], p_orgs text[], p_geos jsonb[], p_signals jsonb[]
  ) RETURNS text[] LANGUAGE plpgsql AS $fn$
  DECLARE
    v_outcomes text[];
  BEGIN
    -- Lock order: accounts, then trackers, each by id (see postgres.ts). Holding
    -- the account rows until COMMIT is what makes feed positions commit-ordered,
    -- and what serialises the account windows below.
    PERFORM 1 FROM accounts WHERE id = ANY(p_accounts) ORDER BY id FOR NO KEY UPDATE;
    PERFORM 1 FROM trackers WHERE id = ANY(p_trackers) ORDER BY id FOR NO KEY UPDATE;
    WITH input AS (
      SELECT * FROM unnest(p_ids, p_accounts, p_trackers, p_ats, p_kinds, p_vias, p_reasons, p_clients, p_prefixes, p_asns, p_orgs, p_geos, p_signals)
        WITH ORDINALITY AS i(id, account, tracker, at, kind, via, reason, client, prefix, asn, org, geo, signals, ord)
    ), valid AS (
      SELECT i.*, floor(i.at / 3600000.0)::bigint AS hour
      FROM input i JOIN trackers t ON t.id = i.tracker AND t.account = i.account
    ), groups AS (
      SELECT tracker, hour, count(*) AS n FROM valid GROUP BY tracker, hour
    ), flood AS (
      -- Of n fetches added to a window that had seen s, the first
      -- least(cap, s + n) - least(cap, s) are stored, in batch order.
      INSERT INTO flood_windows AS f (tracker, hour, seen)
      SELECT tracker, hour, n FROM groups ORDER BY tracker, hour
      ON CONFLICT (tracker, hour) DO UPDATE SET seen = f.seen + excluded.seen
      RETURNING f.tracker, f.hour, f.seen
    ), passed AS (
      SELECT v.*, row_number() OVER (PARTITION BY v.tracker, v.hour ORDER BY v.ord)
                    <= least(p_cap, fl.seen) - least(p_cap, fl.seen - g.n) AS passed
      FROM valid v JOIN groups g USING (tracker, hour) JOIN flood fl USING (tracker, hour)
    ), account_groups AS (
      SELECT account, hour, count(*) AS n FROM passed WHERE passed GROUP BY account, hour
    ), account_flood AS (
      -- The same rule over the fetches that passed their tracker's cap, per account.
      INSERT INTO account_windows AS w (account, hour, seen)
      SELECT account, hour, n FROM account_groups ORDER BY account, hour
      ON CONFLICT (account, hour) DO UPDATE SET seen = w.seen + excluded.seen
      RETURNING w.account, w.hour, w.seen
    ), admitted AS (
      SELECT p.ord, row_number() OVER (PARTITION BY p.account, p.hour ORDER BY p.ord)
                      <= least(p_account_cap, af.seen) - least(p_account_cap, af.seen - ag.n) AS ok
      FROM passed p JOIN account_groups ag USING (account, hour) JOIN account_flood af USING (account, hour)
      WHERE p.passed
    ), decided AS (
      SELECT p.*, coalesce(a.ok, false) AS stored FROM passed p LEFT JOIN admitted a USING (ord)
    ), numbered AS (
      SELECT d.*, a.feed_seq + row_number() OVER (PARTITION BY d.account ORDER BY d.ord) AS seq
      FROM decided d JOIN accounts a ON a.id = d.account
      WHERE d.stored
    ), ins AS (
      INSERT INTO hits (id, account, tracker, seq, at, kind, via, reason, client, prefix, asn, org, geo, signals)
      SELECT id, account, tracker, seq, at, kind, via, reason, client, prefix, asn, org, geo, signals FROM numbered
      RETURNING account, seq
    ), heads AS (
      -- This and the next run although nothing reads them: data-modifying WITH parts
      -- always run to completion (postgresql.org/docs/15/queries-with.html#QUERIES-WITH-MODIFYING).
      UPDATE accounts a SET feed_seq = m.head
      FROM (SELECT account, max(seq) AS head FROM ins GROUP BY account) m
      WHERE a.id = m.account
      RETURNING a.id
    ), drops AS (
      UPDATE trackers t SET dropped = t.dropped + x.k
      FROM (SELECT tracker, count(*) AS k FROM decided WHERE NOT stored GROUP BY tracker) x
      WHERE t.id = x.tracker
      RETURNING t.id
    )
    SELECT array_agg(CASE WHEN d.ord IS NULL THEN 'unknown' WHEN d.stored THEN 'stored' ELSE 'dropped' END ORDER BY i.ord)
    INTO v_outcomes
    FROM input i LEFT JOIN decided d ON d.ord = i.ord;
    RETURN v_outcomes;
  END
  $fn$;
  `,
  // Headers of hits stored before every address notation was masked are masked now (issue 13, finding 8).
  scrubStoredSignals,
  // One account on several browsers (issue 21): device tokens, pairings, sealed blobs.
  SYNC_MIGRATION_POSTGRES,
  `
  -- A pixel pasted into another mail app (backend/anysend.ts): whether the first outside fetch sends the
  -- tracker, how it became sent, and the networks the account's API calls come from.
  -- Runs again on a schema that has it (the scrub migration's test rewinds to before the scrub).
  ALTER TABLE trackers
    ADD COLUMN IF NOT EXISTS auto_send boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS sent_by text CHECK (sent_by IN ('client', 'fetch'));
  UPDATE trackers SET sent_by = 'client' WHERE state = 'sent' AND sent_by IS NULL;
  CREATE TABLE IF NOT EXISTS account_networks (
    account text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    prefix text NOT NULL,
    seen_at bigint NOT NULL,
    PRIMARY KEY (account, prefix)
  );
  CREATE INDEX IF NOT EXISTS account_networks_seen ON account_networks(seen_at);
  `,
  // Key rotation (issue 21): devices' public keys and the rotated keys wrapped for them.
  KEYS_MIGRATION_POSTGRES,
  // Which browser notifies (issue 21): the account's choice and the claims of "whichever is open".
  NOTIFY_MIGRATION_POSTGRES,
  // Key rotation (issue 21): the account's key version and a rotation owed; each blob's key version.
  KEY_VERSION_MIGRATION_POSTGRES,
];

/** Rewrites, a thousand rows at a time, the signals that today's sanitiser would not have kept as they are. */
async function scrubStoredSignals(client: pg.PoolClient): Promise<void> {
  let after = '';
  for (;;) {
    const { rows } = await client.query<{ id: string; signals: HitSignals }>(
      'SELECT id, signals FROM hits WHERE id > $1 COLLATE "C" ORDER BY id COLLATE "C" LIMIT 1000',
      [after],
    );
    if (rows.length === 0) return;
    const ids: string[] = [];
    const scrubbed: string[] = [];
    for (const row of rows) {
      const clean = scrubSignals(row.signals);
      if (clean === null) continue;
      ids.push(row.id);
      scrubbed.push(JSON.stringify(clean));
    }
    if (ids.length > 0) {
      await client.query(
        'UPDATE hits h SET signals = x.signals::jsonb FROM unnest($1::text[], $2::text[]) AS x(id, signals) WHERE h.id = x.id',
        [ids, scrubbed],
      );
    }
    after = rows.at(-1)!.id;
  }
}

/** SQL kept as named statements (STYLE §7). */
const SQL = {
  ping: 'SELECT 1',
  createAccount: `
    WITH account AS (INSERT INTO accounts (id, token_hash, created_at) VALUES ($1, $2, $3) RETURNING id)
    INSERT INTO devices (id, account, token_hash, name, created_at) SELECT $4, id, $2, NULL, $3 FROM account`,
  // Tokens are devices' since issue 21: accounts.token_hash stays as the first one issued, not as a login.
  accountByTokenHash: 'SELECT account AS id FROM devices WHERE token_hash = $1',
  deleteAccount: 'DELETE FROM accounts WHERE id = $1',
  tracker: `
    SELECT t.account, t.id, t.state, t.sent_at, t.sent_by, t.auto_send, t.dropped, t.created_at,
           coalesce((SELECT array_agg(v.at ORDER BY v.at) FROM self_views v WHERE v.tracker = t.id), '{}') AS self_views,
           coalesce((SELECT array_agg(coalesce(v.last_at, v.at) ORDER BY v.at) FROM self_views v WHERE v.tracker = t.id), '{}') AS self_view_ends
    FROM trackers t WHERE t.id = $1 AND t.account = $2`,
  // $6: auto_send, null keeping what is stored (false for a new tracker).
  putTracker: `
    INSERT INTO trackers AS t (id, account, state, sent_at, sent_by, auto_send, created_at)
    VALUES ($1, $2, $3, $4, CASE WHEN $4::bigint IS NULL THEN NULL ELSE 'client' END, coalesce($6::boolean, false), $5)
    ON CONFLICT (id) DO UPDATE
      SET state = CASE WHEN t.state = 'sent' THEN 'sent' ELSE excluded.state END,
          sent_at = CASE WHEN t.state = 'sent' THEN t.sent_at ELSE excluded.sent_at END,
          sent_by = CASE WHEN t.state = 'sent' THEN t.sent_by ELSE excluded.sent_by END,
          auto_send = coalesce($6::boolean, t.auto_send)
      WHERE t.account = excluded.account
    RETURNING t.id`,
  sendOnFetch: `
    UPDATE trackers SET state = 'sent', sent_at = $3, sent_by = 'fetch'
    WHERE id = $1 AND account = $2 AND ((state = 'armed' AND auto_send) OR (sent_by = 'fetch' AND sent_at > $3))`,
  noteNetwork: `
    INSERT INTO account_networks AS n (account, prefix, seen_at) VALUES ($1, $2, $3)
    ON CONFLICT (account, prefix) DO UPDATE SET seen_at = greatest(n.seen_at, excluded.seen_at)`,
  accountNetworks: 'SELECT prefix FROM account_networks WHERE account = $1 AND seen_at >= $2 ORDER BY seen_at DESC, prefix LIMIT $3',
  deleteNetworksBefore: 'DELETE FROM account_networks WHERE seen_at < $1',
  deleteTracker: 'DELETE FROM trackers WHERE id = $1 AND account = $2',
  trackerOwner: 'SELECT account FROM trackers WHERE id = $1',
  /** Counts a new tracker against its account's day; the row stays locked until COMMIT. */
  countTracker: `
    UPDATE accounts SET trackers_day = $2,
                        trackers_today = CASE WHEN trackers_day = $2 THEN trackers_today + 1 ELSE 1 END
    WHERE id = $1 RETURNING trackers_today`,
  /** Counts a self-view against its tracker's minute; the row stays locked until COMMIT, so a tracker's self-views take turns. */
  countSelfView: `
    UPDATE trackers SET self_view_minute = $3,
                        self_views_in_minute = CASE WHEN self_view_minute = $3 THEN self_views_in_minute + 1 ELSE 1 END
    WHERE id = $1 AND account = $2 RETURNING self_views_in_minute`,
  selfViewNear: `
    SELECT ctid::text AS row, at, coalesce(last_at, at) AS last FROM self_views
    WHERE tracker = $1 AND at <= $2::bigint + $3 AND coalesce(last_at, at) >= $2::bigint - $3 ORDER BY at LIMIT 1`,
  insertSelfView: 'INSERT INTO self_views (tracker, at) VALUES ($1, $2)',
  countSelfViews: 'SELECT count(*)::int AS n FROM self_views WHERE tracker = $1',
  widenSelfView: 'UPDATE self_views SET at = $2, last_at = $3 WHERE ctid = $1::tid',
  // The pixel path reads this once per tracker per cache period: one round trip.
  trackerContext: `
    SELECT t.state, t.sent_at, t.sent_by, t.auto_send,
           coalesce((SELECT array_agg(v.at ORDER BY v.at) FROM self_views v WHERE v.tracker = t.id), '{}') AS self_views,
           coalesce((SELECT array_agg(coalesce(v.last_at, v.at) ORDER BY v.at) FROM self_views v WHERE v.tracker = t.id), '{}') AS self_view_ends,
           coalesce((SELECT json_agg(json_build_object('at', r.at, 'prefix', r.prefix, 'userAgent', r.signals->>'userAgent', 'kind', r.kind)
                                     ORDER BY r.at, r.id)
                     FROM (SELECT at, id, prefix, signals, kind FROM hits WHERE tracker = t.id ORDER BY at DESC, id DESC LIMIT $3) r),
                    '[]') AS prior
    FROM trackers t WHERE t.id = $1 AND t.account = $2`,
  trackerHits: `
    SELECT id, account, tracker, at, kind, via, reason, client, prefix, asn, org, geo, signals
    FROM hits WHERE tracker = $1 AND account = $2 ORDER BY at, id`,
  // Ids compare byte by byte (COLLATE "C"), as in SQLite, whatever the database's collation:
  // the cursor's (at, id) must order exactly like the pages.
  trackerPage: `
    SELECT id, account, tracker, at, kind, via, reason, client, prefix, asn, org, geo
    FROM hits WHERE tracker = $1 AND account = $2 AND at >= $3 AND (at > $3 OR id COLLATE "C" > $4)
    ORDER BY at, id COLLATE "C" LIMIT $5`,
  hitsBetween: `
    SELECT id, account, tracker, at, kind, via, reason, client, prefix, asn, org, geo, signals
    FROM hits WHERE tracker = $1 AND account = $2 AND at >= $3 AND at <= $4 ORDER BY at, id COLLATE "C"`,
  hitsBefore: `
    SELECT id, account, tracker, at, kind, via, reason, client, prefix, asn, org, geo, signals
    FROM hits WHERE tracker = $1 AND account = $2 AND at < $3 ORDER BY at DESC, id COLLATE "C" DESC LIMIT $4`,
  listTrackers: `
    SELECT t.account, t.id, t.state, t.sent_at, t.sent_by, t.auto_send, t.dropped, t.created_at,
           coalesce((SELECT array_agg(v.at ORDER BY v.at) FROM self_views v WHERE v.tracker = t.id), '{}') AS self_views,
           coalesce((SELECT array_agg(coalesce(v.last_at, v.at) ORDER BY v.at) FROM self_views v WHERE v.tracker = t.id), '{}') AS self_view_ends
    FROM trackers t WHERE $1::text IS NULL OR t.id > $1 ORDER BY t.id LIMIT $2`,
  lockAccounts: 'SELECT id, feed_seq FROM accounts WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE',
  recordHits: `
    SELECT openping_record_hits($1::bigint, $2::bigint, $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[],
      $9::text[], $10::jsonb[], $11::text[], $12::bigint[], $13::text[], $14::jsonb[], $15::jsonb[]) AS outcomes`,
  relabel: `
    UPDATE hits h SET kind = r.kind, via = r.via, reason = r.reason, client = r.client, seq = $2 + r.ord
    FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[]) WITH ORDINALITY AS r(id, kind, via, reason, client, ord)
    WHERE h.id = r.id AND h.account = $1
    RETURNING h.seq`,
  setHead: 'UPDATE accounts SET feed_seq = $2 WHERE id = $1',
  // One snapshot for the head and the page, so the cursor check and the rows agree.
  events: `
    SELECT a.feed_seq AS head, h.id, h.tracker, h.seq, h.at, h.kind, h.via, h.reason, h.client, h.prefix, h.asn, h.org, h.geo
    FROM accounts a
    LEFT JOIN LATERAL (
      SELECT * FROM hits WHERE hits.account = a.id AND hits.seq > $2 ORDER BY hits.seq LIMIT $3
    ) h ON true
    WHERE a.id = $1
    ORDER BY h.seq`,
  accountsWithHitsSince: 'SELECT DISTINCT account FROM hits WHERE at >= $1',
  // SKIP LOCKED lets several instances running retention at once share the work.
  deleteHitsBefore: `
    DELETE FROM hits WHERE id IN (SELECT id FROM hits WHERE at < $1 LIMIT ${RETENTION_CHUNK} FOR UPDATE SKIP LOCKED)`,
  deleteRatesBefore: 'DELETE FROM rate_counters WHERE ends_at < $1',
  deleteFloodBefore: 'DELETE FROM flood_windows WHERE (hour + 1) * 3600000 < $1',
  deleteAccountWindowsBefore: 'DELETE FROM account_windows WHERE (hour + 1) * 3600000 < $1',
  countRate: `
    INSERT INTO rate_counters AS r (key, win, ends_at, count) VALUES ($1, $2, $3, 1)
    ON CONFLICT (key, win) DO UPDATE SET count = r.count + 1
    RETURNING count`,
} as const;

/**
 * bigint columns as JS numbers: every bigint here is an epoch-ms time, a count or
 * a feed position, all far below 2^53 (node-postgres returns int8 as a string by
 * default, github.com/brianc/node-pg-types "int8").
 */
type TypeId = Parameters<typeof pg.types.getTypeParser>[0];
const types = {
  getTypeParser(oid: number, format?: string): (value: string) => unknown {
    if (oid === 20) return Number;
    if (oid === 1016) {
      const parseArray = pg.types.getTypeParser(1016 as TypeId, 'text') as (v: string) => Array<string | null>;
      return (v: string) => parseArray(v).map(Number);
    }
    return pg.types.getTypeParser(oid as TypeId, (format ?? 'text') as 'text') as (value: string) => unknown;
  },
};

/**
 * libpq takes the operating-system user when a URL names none
 * (postgresql.org/docs/15/libpq-connect.html, "user"); node-postgres only reads
 * $USER (pg/lib/defaults.js), which some service managers and CI runners leave unset.
 */
function fillDefaultUser(): void {
  if (!process.env.PGUSER && !pg.defaults.user) pg.defaults.user = userInfo().username;
}

function hasSqlState(err: unknown): boolean {
  return typeof err === 'object' && err !== null && /^[0-9A-Z]{5}$/.test(String((err as { code?: unknown }).code ?? ''));
}

function isRetryable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && RETRYABLE.has((err as { code?: string }).code ?? '');
}

function encodeCursor(seq: number): string {
  return `p${seq}`;
}

function decodeCursor(cursor: string): number {
  const match = /^p(0|[1-9][0-9]{0,14})$/.exec(cursor);
  if (!match) throw new InvalidCursorError();
  return Number(match[1]);
}

interface TrackerRow {
  account: string;
  id: string;
  state: TrackerState;
  sent_at: number | null;
  sent_by: SentBy | null;
  auto_send: boolean;
  dropped: number;
  created_at: number;
  self_views: number[];
  self_view_ends: number[];
}

interface HitRow {
  id: string;
  tracker: string;
  at: number;
  kind: HitKind;
  via: string | null;
  reason: string;
  client: Hit['client'];
  prefix: string;
  asn: number | null;
  org: string | null;
  geo: Hit['geo'];
}

function toTracker(row: TrackerRow): TrackerRecord {
  return {
    account: row.account,
    tracker: row.id,
    state: row.state,
    sentAt: row.sent_at,
    sentBy: row.sent_by,
    autoSend: row.auto_send,
    selfViews: selfViewSpans(row.self_views, row.self_view_ends),
    dropped: row.dropped,
    createdAt: row.created_at,
  };
}

function selfViewSpans(starts: number[], ends: number[]): number[] {
  return selfViewPoints(starts.map((at, i) => [at, ends[i] ?? at] as const));
}

function toHit(row: HitRow): Hit {
  return {
    id: row.id,
    tracker: row.tracker,
    at: row.at,
    kind: row.kind,
    via: row.via,
    reason: row.reason,
    // Not stored: named from the sentence when read, so hits stored before the codes have one too (contract/reasons.ts).
    ...codedReason(row.reason),
    network: { prefix: row.prefix, asn: row.asn, org: row.org },
    geo: row.geo,
    client: row.client,
  };
}

const json = (value: unknown): string | null => (value == null ? null : JSON.stringify(value));

const MINUTE = 60_000;
const DAY = 86_400_000;

/** Rolls back putTracker's transaction when another account registered the id first. */
class TakenMeanwhile extends Error {}

/**
 * Listens on one dedicated connection (a pooled one would be handed to other
 * queries) and reconnects with backoff if it drops. Notifications sent while it
 * was down are lost, so after a reconnect `onReconnect(lostAt)` lets the store
 * wake the accounts that got hits meanwhile.
 */
class FeedListenerConnection {
  private client: pg.Client | null = null;
  private closed = false;
  private retryMs = 100;
  private timer: NodeJS.Timeout | null = null;

  private lostAt: number | null = null;

  constructor(
    private readonly url: string,
    private readonly onPayload: (payload: string) => void,
    private readonly onReconnect: (lostAt: number) => void,
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, types, connectionTimeoutMillis: 5_000, keepAlive: true });
    client.on('notification', (msg) => {
      if (msg.channel === CHANNEL && msg.payload) this.onPayload(msg.payload);
    });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.retryMs = 100;
    if (this.lostAt !== null) {
      const lostAt = this.lostAt;
      this.lostAt = null;
      this.onReconnect(lostAt);
    }
  }

  private lost(dead: pg.Client): void {
    if (this.closed || this.client !== dead) return;
    this.client = null;
    this.lostAt = Date.now();
    dead.end().catch(() => undefined);
    this.retry();
  }

  private retry(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.closed) return;
      this.start().catch(() => {
        this.retryMs = Math.min(this.retryMs * 2, 5_000);
        this.retry();
      });
    }, this.retryMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}

/**
 * Sends wake-ups to the other instances AFTER the write committed, in its own
 * tiny transaction. NOTIFY inside the write transaction would be simpler, but a
 * notifying transaction takes a cluster-wide lock at pre-commit and holds it
 * "till after commit", WAL flush included (PreCommit_Notify in
 * src/backend/commands/async.c; dbos.dev/blog/postgres-listen-notify-scalability),
 * so every instance's commits would wait for each other's fsyncs (sampled here
 * under load: most waits were on that lock, "Lock:object"). The wake-up
 * itself needs no durability, so it commits with synchronous_commit off. At most
 * one is in flight per instance; accounts arriving meanwhile ride the next one.
 */
class Notifier {
  private pending = new Set<string>();
  private sending: Promise<void> | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly instance: string,
  ) {}

  send(accounts: Iterable<string>): void {
    for (const account of accounts) this.pending.add(account);
    if (!this.sending && this.pending.size > 0) this.sending = this.flush();
  }

  private async flush(): Promise<void> {
    while (this.pending.size > 0) {
      // Ids are base64url (SPEC §3), so they need no quoting inside the literal; anything else is dropped.
      const accounts = [...this.pending].filter((a) => /^[A-Za-z0-9_-]{1,64}$/.test(a));
      this.pending.clear();
      const statements = ['SET LOCAL synchronous_commit TO off'];
      // NOTIFY payloads must stay under 8000 bytes (postgresql.org/docs/15/sql-notify.html).
      for (let i = 0; i < accounts.length; i += 100) {
        statements.push(`SELECT pg_notify('${CHANNEL}', '${this.instance} ${accounts.slice(i, i + 100).join(',')}')`);
      }
      try {
        // Several statements in one simple query run as one transaction
        // (postgresql.org/docs/15/protocol-flow.html#PROTOCOL-FLOW-MULTI-STATEMENT), so SET LOCAL covers the NOTIFYs.
        await this.pool.query(statements.join('; '));
      } catch {
        // Best effort: a waiter on another instance still returns at its `wait` limit and reads the feed.
      }
    }
    this.sending = null;
  }

  async idle(): Promise<void> {
    while (this.sending) await this.sending;
  }
}

/** Brings the schema to `target` (the newest by default; tests build older databases with less). */
export async function migratePostgres(pool: pg.Pool, target = MIGRATIONS.length): Promise<void> {
  const client = await pool.connect();
  try {
    // Session-level lock: instances starting together migrate one after the other;
    // the later ones find the schema current and do nothing.
    // Waiting for another instance's migration is not a stuck statement.
    await client.query('SET statement_timeout = 0');
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS openping_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM openping_schema');
      const current = rows[0]?.version ?? 0;
      if (current > MIGRATIONS.length) {
        throw new Error(
          `The database's schema is version ${current}, newer than this server knows (${MIGRATIONS.length}): upgrade the server.`,
        );
      }
      for (let version = current; version < Math.min(target, MIGRATIONS.length); version++) {
        await client.query('BEGIN');
        try {
          const step = MIGRATIONS[version]!;
          if (typeof step === 'string') await client.query(step);
          else await step(client);
          await client.query('INSERT INTO openping_schema (version) VALUES ($1)', [version + 1]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
      await client.query('RESET statement_timeout').catch(() => undefined);
    }
  } finally {
    client.release();
  }
}

export async function openPostgresStore(url: string, options: StoreOptions = {}): Promise<Store> {
  fillDefaultUser();
  const floodCap = options.floodCapPerHour ?? DEFAULT_FLOOD_CAP_PER_HOUR;
  // One tracker's guaranteed hour (SPEC §3) always fits into its account's.
  const accountCap = Math.max(options.accountHitsPerHour ?? DEFAULT_ACCOUNT_HITS_PER_HOUR, floodCap);
  const trackersPerDay = options.trackersPerDay ?? DEFAULT_TRACKERS_PER_DAY;
  const selfViewsPerMinute = options.selfViewsPerMinute ?? DEFAULT_SELF_VIEWS_PER_MINUTE;
  const pool = new pg.Pool({
    connectionString: url,
    types,
    max: POOL_SIZE,
    // A database that stops answering must not hold pixels forever: the request
    // fails, the pixel still answers its GIF and the failure is counted.
    connectionTimeoutMillis: 5_000,
    statement_timeout: 15_000,
    // An instance stalled inside a transaction (paused, partitioned) must not keep
    // account rows locked against every other instance.
    idle_in_transaction_session_timeout: 10_000,
    keepAlive: true,
  });
  // An idle pooled connection that dies (server restart) emits here; without a
  // handler Node would crash the process (node-postgres.com/apis/pool "error").
  pool.on('error', () => undefined);
  try {
    await migratePostgres(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }

  /** Tells this instance's own listeners apart from notifications it sent itself. */
  const instance = randomBytes(9).toString('base64url');
  const notifier = new Notifier(pool, instance);
  const listeners = new Set<FeedListener>();
  const emit = (accounts: ReadonlySet<string>) => {
    if (accounts.size === 0) return;
    for (const listener of [...listeners]) {
      try {
        listener(accounts);
      } catch {
        // A failing listener must not stop the others or the writer.
      }
    }
  };
  const feed = new FeedListenerConnection(
    url,
    (payload) => {
      const space = payload.indexOf(' ');
      if (space < 0 || payload.slice(0, space) === instance) return;
      emit(new Set(payload.slice(space + 1).split(',').filter(Boolean)));
    },
    (lostAt) => {
      // Hits carry the recording server's clock; the margin covers clock skew between instances.
      pool
        .query<{ account: string }>(SQL.accountsWithHitsSince, [lostAt - RECONNECT_MARGIN_MS])
        .then(({ rows }) => emit(new Set(rows.map((r) => r.account))))
        .catch(() => undefined);
    },
  );
  try {
    await feed.start();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }

  let closed = false;
  const inFlight = new Set<Promise<unknown>>();
  function track<T>(work: () => Promise<T>): Promise<T> {
    if (closed) return Promise.reject(new Error('The PostgreSQL store is closed.'));
    const promise = work();
    inFlight.add(promise);
    const done = () => inFlight.delete(promise);
    promise.then(done, done);
    return promise;
  }
  const query = <R extends pg.QueryResultRow>(text: string | pg.QueryConfig, values?: unknown[]) =>
    track(() => (typeof text === 'string' ? pool.query<R>(text, values) : pool.query<R>(text)));

  async function transaction<T>(body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await body(client);
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        // An error without a SQLSTATE came from the connection, not the server: don't pool it again.
        client.release(hasSqlState(err) ? undefined : (err as Error));
        if (!isRetryable(err) || attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 10));
      }
    }
  }

  async function writeHits(hits: readonly NewHit[]): Promise<RecordOutcome[]> {
    const args = [
      floodCap,
      accountCap,
      hits.map((h) => h.id),
      hits.map((h) => h.account),
      hits.map((h) => h.tracker),
      hits.map((h) => h.signals.at),
      hits.map((h) => h.classification.kind),
      hits.map((h) => h.classification.via),
      hits.map((h) => h.classification.reason),
      hits.map((h) => json(h.classification.client)),
      hits.map((h) => h.signals.network.prefix),
      hits.map((h) => h.signals.network.asn),
      hits.map((h) => h.signals.network.org),
      hits.map((h) => json(h.geo)),
      hits.map((h) => JSON.stringify(h.signals)),
    ];
    for (let attempt = 1; ; attempt++) {
      try {
        // One statement in autocommit: node-postgres resolves a query at ReadyForQuery
        // (pg/lib/query.js handleReadyForQuery), which the server sends after the
        // implicit transaction committed — answered means committed.
        const { rows } = await pool.query<{ outcomes: RecordOutcome[] }>({ name: 'openping_record_hits', text: SQL.recordHits, values: args });
        return rows[0]!.outcomes;
      } catch (err) {
        if (!isRetryable(err) || attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 10));
      }
    }
  }

  /**
   * One write transaction at a time per instance: batches handed over while one
   * commits are merged into the next. Concurrent transactions from one instance
   * would only queue on the same account rows (each holding them through its WAL
   * flush), so merging gives the same durability with fewer, larger commits.
   */
  const waiting: Array<{ hits: readonly NewHit[]; resolve: (o: RecordOutcome[]) => void; reject: (e: unknown) => void }> = [];
  let writing = false;
  function queueHits(hits: readonly NewHit[]): Promise<RecordOutcome[]> {
    return new Promise((resolve, reject) => {
      waiting.push({ hits, resolve, reject });
      if (!writing) void drainWrites();
    });
  }
  async function drainWrites(): Promise<void> {
    writing = true;
    while (waiting.length > 0) {
      let size = 0;
      let take = 0;
      while (take < waiting.length && (take === 0 || size + waiting[take]!.hits.length <= MERGE_MAX)) size += waiting[take++]!.hits.length;
      const group = waiting.splice(0, take);
      try {
        const outcomes = await writeHits(group.flatMap((g) => g.hits));
        let at = 0;
        for (const g of group) {
          g.resolve(outcomes.slice(at, at + g.hits.length));
          at += g.hits.length;
        }
      } catch (err) {
        for (const g of group) g.reject(err);
      }
    }
    writing = false;
  }

  const store: Store = {
    kind: 'postgres',
    ...postgresSync(query, (body) => track(() => transaction(body)), (account) => {
      emit(new Set([account]));
      notifier.send([account]);
    }),
    ...postgresNotify(query),

    async createAccount({ id, tokenHash, createdAt }) {
      await query(SQL.createAccount, [id, tokenHash, createdAt, deviceIdOf(tokenHash)]);
    },

    async accountByTokenHash(tokenHash) {
      const { rows } = await query<{ id: string }>(SQL.accountByTokenHash, [tokenHash]);
      return rows[0]?.id ?? null;
    },

    async deleteAccount(account) {
      // Erasing a busy account cascades over all its hits: exempt it from the pool's statement timeout.
      const deleted = await track(() =>
        transaction(async (client) => {
          await client.query("SET LOCAL statement_timeout = '10min'");
          return (await client.query(SQL.deleteAccount, [account])).rowCount ?? 0;
        }),
      );
      return deleted > 0;
    },

    async putTracker({ account, tracker, state, sentAt, now, autoSend }) {
      const at = state === 'sent' ? (sentAt ?? now) : null;
      const values = [tracker, account, state, at, now, autoSend ?? null];
      const { rows: owner } = await query<{ account: string }>(SQL.trackerOwner, [tracker]);
      if (owner[0]) {
        if (owner[0].account !== account) return null;
        await query(SQL.putTracker, values);
        return store.getTracker(account, tracker);
      }
      // A new tracker: counted against its account's day in the same transaction, so a refusal keeps nothing.
      const made = await track(() =>
        transaction(async (client) => {
          const { rows: counted } = await client.query<{ trackers_today: number }>(SQL.countTracker, [account, Math.floor(now / DAY)]);
          if (counted[0] && counted[0].trackers_today > trackersPerDay) throw new LimitError();
          const { rows } = await client.query<{ id: string }>(SQL.putTracker, values);
          // Registered by another account meanwhile: undo the count too.
          if (rows.length === 0) throw new TakenMeanwhile();
          return true;
        }).catch((err: unknown) => {
          if (err instanceof TakenMeanwhile) return false;
          throw err;
        }),
      );
      return made ? store.getTracker(account, tracker) : null;
    },

    async getTracker(account, tracker) {
      const { rows } = await query<TrackerRow>(SQL.tracker, [tracker, account]);
      return rows[0] ? toTracker(rows[0]) : null;
    },

    async deleteTracker(account, tracker) {
      const { rowCount } = await query(SQL.deleteTracker, [tracker, account]);
      return (rowCount ?? 0) > 0;
    },

    async addSelfView(account, tracker, at, now) {
      return track(() =>
        transaction(async (client): Promise<SelfViewOutcome | null> => {
          const { rows: counted } = await client.query<{ self_views_in_minute: number }>(SQL.countSelfView, [
            tracker,
            account,
            Math.floor(now / MINUTE),
          ]);
          if (!counted[0]) return null;
          if (counted[0].self_views_in_minute > selfViewsPerMinute) return 'limited';
          const { rows } = await client.query<{ row: string; at: number; last: number }>(SQL.selfViewNear, [tracker, at, SELF_VIEW_MERGE_MS]);
          const near = rows[0];
          if (!near) {
            const { rows: held } = await client.query<{ n: number }>(SQL.countSelfViews, [tracker]);
            if (held[0]!.n >= MAX_SELF_VIEWS_PER_TRACKER) return 'full';
            await client.query(SQL.insertSelfView, [tracker, at]);
            return 'added';
          }
          if (at >= near.at && at <= near.last) return 'covered';
          await client.query(SQL.widenSelfView, [near.row, Math.min(near.at, at), Math.max(near.last, at)]);
          return 'merged';
        }),
      );
    },

    async trackerContext(account, tracker, priorLimit) {
      const { rows } = await query<{
        state: TrackerState;
        sent_at: number | null;
        sent_by: SentBy | null;
        auto_send: boolean;
        self_views: number[];
        self_view_ends: number[];
        prior: PriorHit[];
      }>({ name: 'openping_tracker_context_v2', text: SQL.trackerContext, values: [tracker, account, Math.max(0, priorLimit)] });
      const row = rows[0];
      return row
        ? {
            state: row.state,
            sentAt: row.sent_at,
            sentBy: row.sent_by,
            autoSend: row.auto_send,
            selfViews: selfViewSpans(row.self_views, row.self_view_ends),
            prior: row.prior,
          }
        : null;
    },

    async sendOnFetch(account, tracker, at) {
      await query(SQL.sendOnFetch, [tracker, account, at]);
      return store.getTracker(account, tracker);
    },

    async noteAccountNetwork(account, prefix, now) {
      await query(SQL.noteNetwork, [account, prefix, now]);
    },

    async accountNetworks(account, since, limit) {
      const { rows } = await query<{ prefix: string }>(SQL.accountNetworks, [account, since, limit]);
      return rows.map((r) => r.prefix);
    },

    async recordHits(hits) {
      if (hits.length === 0) return [];
      const outcomes = await track(() => queueHits(hits));
      // This instance's waiters directly; other instances through NOTIFY.
      const accounts = new Set(hits.filter((_, i) => outcomes[i] === 'stored').map((h) => h.account));
      emit(accounts);
      notifier.send(accounts);
      return outcomes;
    },

    async trackerHits(account, tracker) {
      const { rows } = await query<HitRow & { account: string; signals: StoredHit['signals'] }>(SQL.trackerHits, [tracker, account]);
      return rows.map((row) => ({ hit: toHit(row), account: row.account, signals: row.signals }));
    },

    async trackerHitsPage(account, tracker, after, limit) {
      const from = after === null ? { at: -1, id: '' } : decodeHitCursor(after);
      const size = Math.max(1, limit);
      const { rows } = await query<HitRow>({
        name: 'openping_tracker_page',
        text: SQL.trackerPage,
        values: [tracker, account, from.at, from.id, size + 1],
      });
      const more = rows.length > size;
      if (more) rows.pop();
      const last = rows.at(-1);
      return { hits: rows.map(toHit), next: more && last ? encodeHitCursor(last.at, last.id) : null };
    },

    async trackerHitsNear(account, tracker, from, to, priorLimit) {
      type Row = HitRow & { account: string; signals: StoredHit['signals'] };
      const stored = (row: Row): StoredHit => ({ hit: toHit(row), account: row.account, signals: row.signals });
      const [before, between] = await Promise.all([
        query<Row>(SQL.hitsBefore, [tracker, account, from, Math.max(0, priorLimit)]),
        query<Row>(SQL.hitsBetween, [tracker, account, from, to]),
      ]);
      return { prior: before.rows.reverse().map(stored), hits: between.rows.map(stored) };
    },

    async events(account, after, limit) {
      const position = after === null ? 0 : decodeCursor(after);
      const { rows } = await query<{ head: number } & ({ seq: number } & HitRow | { seq: null })>({
        name: 'openping_events',
        text: SQL.events,
        values: [account, position, Math.max(1, Math.min(limit, 10_000))],
      });
      const head = rows[0]?.head ?? 0;
      if (position > head) throw new InvalidCursorError();
      const events: Hit[] = [];
      let last = position;
      for (const row of rows) {
        if (row.seq === null) continue;
        events.push(toHit(row as HitRow));
        last = row.seq;
      }
      return { events, cursor: events.length === 0 ? (after ?? encodeCursor(position)) : encodeCursor(last) } satisfies EventsPage;
    },

    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },

    async listTrackers(after, limit) {
      const size = Math.max(1, limit);
      const { rows } = await query<TrackerRow>(SQL.listTrackers, [after, size + 1]);
      const items = rows.slice(0, size).map(toTracker);
      return { items, next: rows.length > size ? items[items.length - 1]!.tracker : null } satisfies Page<TrackerRecord>;
    },

    async relabel(account, labels: readonly Relabel[]) {
      if (labels.length === 0) return 0;
      const changed = await track(() =>
        transaction(async (client) => {
          const { rows } = await client.query<{ id: string; feed_seq: number }>(SQL.lockAccounts, [[account]]);
          if (!rows[0]) return 0;
          const base = rows[0].feed_seq;
          const result = await client.query<{ seq: number }>(SQL.relabel, [
            account,
            base,
            labels.map((l) => l.id),
            labels.map((l) => l.classification.kind),
            labels.map((l) => l.classification.via),
            labels.map((l) => l.classification.reason),
            labels.map((l) => json(l.classification.client)),
          ]);
          if (result.rows.length === 0) return 0;
          // Gaps (ids not found) are harmless: the cursor is "after position n".
          await client.query(SQL.setHead, [account, base + labels.length]);
          return result.rows.length;
        }),
      );
      if (changed > 0) {
        emit(new Set([account]));
        notifier.send([account]);
      }
      return changed;
    },

    async deleteHitsBefore(cutoff) {
      let deleted = 0;
      // In chunks, each its own short transaction, so retention never holds many locks for long.
      for (;;) {
        const { rowCount } = await query(SQL.deleteHitsBefore, [cutoff]);
        deleted += rowCount ?? 0;
        if ((rowCount ?? 0) < RETENTION_CHUNK) break;
      }
      await query(SQL.deleteRatesBefore, [cutoff]);
      await query(SQL.deleteFloodBefore, [cutoff]);
      await query(SQL.deleteAccountWindowsBefore, [cutoff]);
      await query(SQL.deleteNetworksBefore, [cutoff]);
      return deleted;
    },

    async countRate(key, windowMs, now) {
      const win = Math.floor(now / windowMs);
      const { rows } = await query<{ count: number }>(SQL.countRate, [key, win, (win + 1) * windowMs]);
      return rows[0]!.count;
    },

    async ping() {
      await query(SQL.ping);
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...inFlight]);
      await notifier.idle();
      await feed.close();
      await pool.end();
    },
  };
  return store;
}
