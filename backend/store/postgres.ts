/**
 * The PostgreSQL store: several stateless server instances over one database
 * (OPENPING_DB=postgres://…). Everything shared lives in PostgreSQL — the feed,
 * flood caps, rate-limit counters — and long-poll wake-ups travel between
 * instances with LISTEN/NOTIFY.
 *
 * Events-feed cursor. A bigserial is handed out when a row is inserted, not when
 * its transaction commits: instance A can take id 10, instance B id 11, B commits,
 * a reader returns 11 and moves its cursor past 10, then A commits 10 — skipped
 * forever. Here each account row carries `feed_seq`, and a writer (recordHits,
 * relabel) takes that row's lock (SELECT … FOR NO KEY UPDATE), assigns the next
 * positions, and holds the lock until COMMIT. Positions of one account are
 * therefore assigned in commit order: PostgreSQL makes a transaction visible
 * before it releases its locks (CommitTransaction: ProcArrayEndTransaction, then
 * ResourceOwnerRelease, src/backend/access/transam/xact.c), so a snapshot that
 * sees position n of an account also sees every position below n. The cursor is
 * just "the last position read" (`p<n>`). The cost is that writers of the SAME
 * account serialize on its row — one short transaction at a time per account,
 * which group commit amortizes; different accounts never wait for each other.
 *
 * Lock order, to keep transactions from deadlocking one another: accounts (by
 * id), then trackers (by id), then hits. A deadlock or serialization failure
 * still gets the transaction retried (transient by definition).
 */
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import pg from 'pg';
import type { HitKind } from '../classify/types.ts';
import {
  DEFAULT_FLOOD_CAP_PER_HOUR,
  InvalidCursorError,
  type EventsPage,
  type FeedListener,
  type Hit,
  type NewHit,
  type Page,
  type RecordOutcome,
  type Relabel,
  type Store,
  type StoreOptions,
  type StoredHit,
  type TrackerRecord,
  type TrackerState,
} from './types.ts';

const HOUR = 3_600_000;
const CHANNEL = 'openping_feed';
/** pg_advisory_lock key for migrations: the ASCII bytes of "OpenPing". */
const MIGRATION_LOCK = '5724131358012485223';
/** NOTIFY payloads must be shorter than 8000 bytes (postgresql.org/docs/15/sql-notify.html). */
const NOTIFY_PAYLOAD_MAX = 7_000;
const RETENTION_CHUNK = 10_000;
/** SQLSTATEs worth retrying: serialization_failure, deadlock_detected (postgresql.org/docs/15/errcodes-appendix.html). */
const RETRYABLE = new Set(['40001', '40P01']);

/** Each entry migrates from version i to i+1; openping_schema holds the versions applied. */
const MIGRATIONS: readonly string[] = [
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
  `,
];

/** SQL kept as named statements (STYLE §7). */
const SQL = {
  ping: 'SELECT 1',
  createAccount: 'INSERT INTO accounts (id, token_hash, created_at) VALUES ($1, $2, $3)',
  accountByTokenHash: 'SELECT id FROM accounts WHERE token_hash = $1',
  deleteAccount: 'DELETE FROM accounts WHERE id = $1',
  tracker: `
    SELECT t.account, t.id, t.state, t.sent_at, t.dropped, t.created_at,
           coalesce((SELECT array_agg(v.at ORDER BY v.at) FROM self_views v WHERE v.tracker = t.id), '{}') AS self_views
    FROM trackers t WHERE t.id = $1 AND t.account = $2`,
  putTracker: `
    INSERT INTO trackers AS t (id, account, state, sent_at, created_at) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (id) DO UPDATE
      SET state = CASE WHEN t.state = 'sent' THEN 'sent' ELSE excluded.state END,
          sent_at = CASE WHEN t.state = 'sent' THEN t.sent_at ELSE excluded.sent_at END
      WHERE t.account = excluded.account
    RETURNING t.id`,
  deleteTracker: 'DELETE FROM trackers WHERE id = $1 AND account = $2',
  addSelfView: 'INSERT INTO self_views (tracker, at) SELECT id, $3 FROM trackers WHERE id = $2 AND account = $1',
  priorHits: `
    SELECT at, prefix, signals->>'userAgent' AS user_agent, kind
    FROM (SELECT at, id, prefix, signals, kind FROM hits WHERE tracker = $1 ORDER BY at DESC, id DESC LIMIT $2) recent
    ORDER BY at, id`,
  trackerHits: `
    SELECT id, account, tracker, at, kind, via, reason, client, prefix, asn, org, geo, signals
    FROM hits WHERE tracker = $1 AND account = $2 ORDER BY at, id`,
  listTrackers: `
    SELECT t.account, t.id, t.state, t.sent_at, t.dropped, t.created_at,
           coalesce((SELECT array_agg(v.at ORDER BY v.at) FROM self_views v WHERE v.tracker = t.id), '{}') AS self_views
    FROM trackers t WHERE $1::text IS NULL OR t.id > $1 ORDER BY t.id LIMIT $2`,
  // Locks taken in id order (see the lock-order note at the top).
  lockAccounts: 'SELECT id, feed_seq FROM accounts WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE',
  lockTrackers: 'SELECT id, account FROM trackers WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE',
  countFlood: `
    INSERT INTO flood_windows AS f (tracker, hour, seen)
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
    ON CONFLICT (tracker, hour) DO UPDATE SET seen = f.seen + excluded.seen
    RETURNING tracker, hour, seen`,
  // One statement for every write of a batch (data-modifying CTEs all run, postgresql.org/docs/15/queries-with.html#QUERIES-WITH-MODIFYING).
  writeBatch: `
    WITH ins AS (
      INSERT INTO hits (id, account, tracker, seq, at, kind, via, reason, client, prefix, asn, org, geo, signals)
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::text[],
                           $8::text[], $9::jsonb[], $10::text[], $11::bigint[], $12::text[], $13::jsonb[], $14::jsonb[])
      RETURNING 1
    ), drops AS (
      UPDATE trackers t SET dropped = t.dropped + d.n
      FROM unnest($15::text[], $16::bigint[]) AS d(id, n) WHERE t.id = d.id
      RETURNING 1
    ), heads AS (
      UPDATE accounts a SET feed_seq = s.head
      FROM unnest($17::text[], $18::bigint[]) AS s(id, head) WHERE a.id = s.id
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM ins) AS inserted, (SELECT count(*) FROM drops) AS drops, (SELECT count(*) FROM heads) AS heads,
           (SELECT count(pg_notify($19, p)) FROM unnest($20::text[]) AS p) AS notified`,
  relabel: `
    UPDATE hits h SET kind = r.kind, via = r.via, reason = r.reason, client = r.client, seq = $2 + r.ord
    FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[]) WITH ORDINALITY AS r(id, kind, via, reason, client, ord)
    WHERE h.id = r.id AND h.account = $1
    RETURNING h.seq`,
  setHead: 'UPDATE accounts SET feed_seq = $2 WHERE id = $1',
  notify: 'SELECT pg_notify($1, $2)',
  // One snapshot for the head and the page, so the cursor check and the rows agree.
  events: `
    SELECT a.feed_seq AS head, h.id, h.tracker, h.seq, h.at, h.kind, h.via, h.reason, h.client, h.prefix, h.asn, h.org, h.geo
    FROM accounts a
    LEFT JOIN LATERAL (
      SELECT * FROM hits WHERE hits.account = a.id AND hits.seq > $2 ORDER BY hits.seq LIMIT $3
    ) h ON true
    WHERE a.id = $1
    ORDER BY h.seq`,
  // SKIP LOCKED lets several instances running retention at once share the work.
  deleteHitsBefore: `
    DELETE FROM hits WHERE id IN (SELECT id FROM hits WHERE at < $1 LIMIT ${RETENTION_CHUNK} FOR UPDATE SKIP LOCKED)`,
  deleteRatesBefore: 'DELETE FROM rate_counters WHERE ends_at < $1',
  deleteFloodBefore: 'DELETE FROM flood_windows WHERE (hour + 1) * 3600000 < $1',
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

/** Splits account ids into NOTIFY payloads under the size limit; ids are base64url, so ',' is a safe separator. */
function notifyPayloads(instance: string, accounts: Iterable<string>): string[] {
  const payloads: string[] = [];
  let current: string[] = [];
  let size = instance.length + 1;
  for (const account of accounts) {
    if (current.length > 0 && size + account.length + 1 > NOTIFY_PAYLOAD_MAX) {
      payloads.push(`${instance} ${current.join(',')}`);
      current = [];
      size = instance.length + 1;
    }
    current.push(account);
    size += account.length + 1;
  }
  if (current.length > 0) payloads.push(`${instance} ${current.join(',')}`);
  return payloads;
}

interface TrackerRow {
  account: string;
  id: string;
  state: TrackerState;
  sent_at: number | null;
  dropped: number;
  created_at: number;
  self_views: number[];
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
    selfViews: row.self_views,
    dropped: row.dropped,
    createdAt: row.created_at,
  };
}

function toHit(row: HitRow): Hit {
  return {
    id: row.id,
    tracker: row.tracker,
    at: row.at,
    kind: row.kind,
    via: row.via,
    reason: row.reason,
    network: { prefix: row.prefix, asn: row.asn, org: row.org },
    geo: row.geo,
    client: row.client,
  };
}

const json = (value: unknown): string | null => (value == null ? null : JSON.stringify(value));

/**
 * Listens on one dedicated connection (a pooled one would be handed to other
 * queries) and reconnects with backoff if it drops. Notifications sent while it
 * was down are lost; long-polls still end at their `wait` limit and re-read.
 */
class FeedListenerConnection {
  private client: pg.Client | null = null;
  private closed = false;
  private retryMs = 100;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly onPayload: (payload: string) => void,
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, types });
    client.on('notification', (msg) => {
      if (msg.channel === CHANNEL && msg.payload) this.onPayload(msg.payload);
    });
    client.on('error', () => this.reconnectSoon(client));
    client.on('end', () => this.reconnectSoon(client));
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.client = client;
    this.retryMs = 100;
  }

  private reconnectSoon(dead: pg.Client): void {
    if (this.closed || this.client !== dead) return;
    this.client = null;
    dead.end().catch(() => undefined);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.closed) return;
      this.start().catch(() => {
        this.retryMs = Math.min(this.retryMs * 2, 5_000);
        this.client = null;
        this.timer = setTimeout(() => void this.retryLoop(), this.retryMs);
      });
    }, this.retryMs);
  }

  private async retryLoop(): Promise<void> {
    this.timer = null;
    if (this.closed) return;
    try {
      await this.start();
    } catch {
      this.retryMs = Math.min(this.retryMs * 2, 5_000);
      this.timer = setTimeout(() => void this.retryLoop(), this.retryMs);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}

async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    // Session-level lock: instances starting together migrate one after the other;
    // the later ones find the schema current and do nothing.
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
      for (let version = current; version < MIGRATIONS.length; version++) {
        await client.query('BEGIN');
        try {
          await client.query(MIGRATIONS[version]!);
          await client.query('INSERT INTO openping_schema (version) VALUES ($1)', [version + 1]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}

interface PendingGroup {
  tracker: string;
  hour: number;
  indexes: number[];
}

export async function openPostgresStore(url: string, options: StoreOptions = {}): Promise<Store> {
  fillDefaultUser();
  const floodCap = options.floodCapPerHour ?? DEFAULT_FLOOD_CAP_PER_HOUR;
  const pool = new pg.Pool({ connectionString: url, types, max: 10 });
  // An idle pooled connection that dies (server restart) emits here; without a
  // handler Node would crash the process (node-postgres.com/apis/pool "error").
  pool.on('error', () => undefined);
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }

  /** Tells this instance's own listeners apart from notifications it sent itself. */
  const instance = randomBytes(9).toString('base64url');
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
  const feed = new FeedListenerConnection(url, (payload) => {
    const space = payload.indexOf(' ');
    if (space < 0 || payload.slice(0, space) === instance) return;
    emit(new Set(payload.slice(space + 1).split(',').filter(Boolean)));
  });
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
  const query = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
    track(() => pool.query<R>(text, values));

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
        // A broken connection must not go back to the pool.
        client.release(err instanceof Error && !isRetryable(err) ? err : undefined);
        if (!isRetryable(err) || attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 10));
      }
    }
  }

  async function writeHits(hits: readonly NewHit[]): Promise<{ outcomes: RecordOutcome[]; accounts: Set<string> }> {
    return transaction(async (client) => {
      const outcomes: RecordOutcome[] = hits.map(() => 'unknown');
      const accountIds = [...new Set(hits.map((h) => h.account))].sort();
      const heads = new Map<string, number>();
      for (const row of (await client.query<{ id: string; feed_seq: number }>(SQL.lockAccounts, [accountIds])).rows) {
        heads.set(row.id, row.feed_seq);
      }
      const trackerIds = [...new Set(hits.filter((h) => heads.has(h.account)).map((h) => h.tracker))].sort();
      const owner = new Map<string, string>();
      if (trackerIds.length > 0) {
        for (const row of (await client.query<{ id: string; account: string }>(SQL.lockTrackers, [trackerIds])).rows) {
          owner.set(row.id, row.account);
        }
      }

      // Flood cap: count every fetch of an existing tracker in its hour; of the n
      // fetches this batch adds to a window that had seen s before, the first
      // min(cap, s + n) - min(cap, s) are stored, in batch order.
      const groups = new Map<string, PendingGroup>();
      hits.forEach((hit, i) => {
        if (owner.get(hit.tracker) !== hit.account) return;
        const hour = Math.floor(hit.signals.at / HOUR);
        const key = `${hit.tracker} ${hour}`;
        const group = groups.get(key) ?? { tracker: hit.tracker, hour, indexes: [] };
        group.indexes.push(i);
        groups.set(key, group);
      });
      const dropped = new Map<string, number>();
      if (groups.size > 0) {
        const list = [...groups.values()].sort((a, b) => (a.tracker < b.tracker ? -1 : a.tracker > b.tracker ? 1 : a.hour - b.hour));
        const { rows } = await client.query<{ tracker: string; hour: number; seen: number }>(SQL.countFlood, [
          list.map((g) => g.tracker),
          list.map((g) => g.hour),
          list.map((g) => g.indexes.length),
        ]);
        for (const row of rows) {
          const group = groups.get(`${row.tracker} ${row.hour}`)!;
          const n = group.indexes.length;
          const accepted = Math.min(floodCap, row.seen) - Math.min(floodCap, row.seen - n);
          group.indexes.forEach((index, k) => (outcomes[index] = k < accepted ? 'stored' : 'dropped'));
          if (n > accepted) dropped.set(row.tracker, (dropped.get(row.tracker) ?? 0) + n - accepted);
        }
      }

      // Feed positions in batch order, under the account locks taken above.
      const cols = {
        id: [] as string[], account: [] as string[], tracker: [] as string[], seq: [] as number[], at: [] as number[],
        kind: [] as string[], via: [] as Array<string | null>, reason: [] as string[], client: [] as Array<string | null>,
        prefix: [] as string[], asn: [] as Array<number | null>, org: [] as Array<string | null>,
        geo: [] as Array<string | null>, signals: [] as string[],
      };
      const touched = new Set<string>();
      hits.forEach((hit, i) => {
        if (outcomes[i] !== 'stored') return;
        const seq = heads.get(hit.account)! + 1;
        heads.set(hit.account, seq);
        touched.add(hit.account);
        const c = hit.classification;
        const net = hit.signals.network;
        cols.id.push(hit.id);
        cols.account.push(hit.account);
        cols.tracker.push(hit.tracker);
        cols.seq.push(seq);
        cols.at.push(hit.signals.at);
        cols.kind.push(c.kind);
        cols.via.push(c.via);
        cols.reason.push(c.reason);
        cols.client.push(json(c.client));
        cols.prefix.push(net.prefix);
        cols.asn.push(net.asn);
        cols.org.push(net.org);
        cols.geo.push(json(hit.geo));
        cols.signals.push(JSON.stringify(hit.signals));
      });
      if (touched.size > 0 || dropped.size > 0) {
        const touchedList = [...touched];
        // pg_notify inside the transaction is delivered only if it commits
        // (postgresql.org/docs/15/sql-notify.html), so no instance wakes for a rolled-back batch.
        await client.query(SQL.writeBatch, [
          cols.id, cols.account, cols.tracker, cols.seq, cols.at, cols.kind, cols.via, cols.reason, cols.client,
          cols.prefix, cols.asn, cols.org, cols.geo, cols.signals,
          [...dropped.keys()], [...dropped.values()],
          touchedList, touchedList.map((a) => heads.get(a)!),
          CHANNEL, notifyPayloads(instance, touchedList),
        ]);
      }
      return { outcomes, accounts: touched };
    });
  }

  const store: Store = {
    kind: 'postgres',

    async createAccount({ id, tokenHash, createdAt }) {
      await query(SQL.createAccount, [id, tokenHash, createdAt]);
    },

    async accountByTokenHash(tokenHash) {
      const { rows } = await query<{ id: string }>(SQL.accountByTokenHash, [tokenHash]);
      return rows[0]?.id ?? null;
    },

    async deleteAccount(account) {
      const { rowCount } = await query(SQL.deleteAccount, [account]);
      return (rowCount ?? 0) > 0;
    },

    async putTracker({ account, tracker, state, sentAt, now }) {
      const at = state === 'sent' ? (sentAt ?? now) : null;
      const { rows } = await query<{ id: string }>(SQL.putTracker, [tracker, account, state, at, now]);
      if (rows.length === 0) return null;
      return store.getTracker(account, tracker);
    },

    async getTracker(account, tracker) {
      const { rows } = await query<TrackerRow>(SQL.tracker, [tracker, account]);
      return rows[0] ? toTracker(rows[0]) : null;
    },

    async deleteTracker(account, tracker) {
      const { rowCount } = await query(SQL.deleteTracker, [tracker, account]);
      return (rowCount ?? 0) > 0;
    },

    async addSelfView(account, tracker, at) {
      const { rowCount } = await query(SQL.addSelfView, [account, tracker, at]);
      return (rowCount ?? 0) > 0;
    },

    async trackerContext(account, tracker, priorLimit) {
      const record = await store.getTracker(account, tracker);
      if (!record) return null;
      const { rows } = await query<{ at: number; prefix: string; user_agent: string | null; kind: HitKind }>(SQL.priorHits, [
        tracker,
        Math.max(0, priorLimit),
      ]);
      return {
        state: record.state,
        sentAt: record.sentAt,
        selfViews: record.selfViews,
        prior: rows.map((r) => ({ at: r.at, prefix: r.prefix, userAgent: r.user_agent, kind: r.kind })),
      };
    },

    async recordHits(hits) {
      if (hits.length === 0) return [];
      const { outcomes, accounts } = await track(() => writeHits(hits));
      // This instance's waiters directly; other instances through NOTIFY.
      emit(accounts);
      return outcomes;
    },

    async trackerHits(account, tracker) {
      const { rows } = await query<HitRow & { account: string; signals: StoredHit['signals'] }>(SQL.trackerHits, [tracker, account]);
      return rows.map((row) => ({ hit: toHit(row), account: row.account, signals: row.signals }));
    },

    async events(account, after, limit) {
      const position = after === null ? 0 : decodeCursor(after);
      const { rows } = await query<{ head: number } & ({ seq: number } & HitRow | { seq: null })>(SQL.events, [
        account,
        position,
        Math.max(1, Math.min(limit, 10_000)),
      ]);
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
          for (const payload of notifyPayloads(instance, [account])) await client.query(SQL.notify, [CHANNEL, payload]);
          return result.rows.length;
        }),
      );
      if (changed > 0) emit(new Set([account]));
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
      await feed.close();
      await pool.end();
    },
  };
  return store;
}
