/**
 * Pixel throughput with durable storage on PostgreSQL beside SQLite, same run,
 * same load tool (wrk when installed, else autocannon), loopback only, bounded
 * in time (~70 s). Each server runs as its own process (`node --import tsx
 * backend/main.ts`, what `npm run server` runs), as it would in production.
 *
 * Prints requests/s, p50/p99 latency and answered vs recorded (stored + dropped)
 * per configuration, then the ratios. Never pass/fail on time.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from '../../backend/store/sqlite-driver.ts';
import pg from 'pg';
import { openPostgresStore } from '../../backend/store/postgres.ts';
import { createTestDatabase, startServerProcess, type ServerProcess } from '../server/pg.ts';

const run = promisify(execFile);
const WRK = '/usr/bin/wrk';
const CONNECTIONS = 50;
const SECONDS = 6;
const WARMUP_SECONDS = 1;
const ROUNDS = 2;
const TRACKERS = 500;
const ACCOUNTS = 100;

interface LoadResult {
  requests: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n;
}

async function wrk(baseUrl: string, paths: string[], seconds: number, connections: number): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'openping-wrk-'));
  const script = join(dir, 'paths.lua');
  // Rotate over many trackers so the flood cap never turns stored hits into dropped ones.
  writeFileSync(
    script,
    `local paths = {${paths.map((p) => JSON.stringify(p)).join(',')}}\nlocal i = 0\n` +
      'request = function()\n  i = i % #paths + 1\n  return wrk.format("GET", paths[i])\nend\n',
  );
  try {
    const { stdout } = await run(WRK, ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, baseUrl], {
      maxBuffer: 1 << 20,
    });
    const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? NaN);
    const perSecond = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN);
    const p50 = /\s50%\s+([\d.]+)(us|ms|s)/.exec(stdout);
    const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(stdout);
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
    const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
    const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((s, n) => s + Number(n), 0) : 0);
    return {
      requests,
      perSecond,
      p50ms: p50 ? toMs(p50[1]!, p50[2]!) : NaN,
      p99ms: p99 ? toMs(p99[1]!, p99[2]!) : NaN,
      errors,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function autocannonLoad(baseUrl: string, paths: string[], seconds: number, connections: number): Promise<LoadResult> {
  // autocannon ships no type declarations; the fields used are in its README.
  type Result = { requests: { total: number; average: number }; latency: { p50: number; p99: number }; errors: number; non2xx: number };
  const { default: autocannon } = (await import('autocannon' as string)) as { default: (opts: object) => Promise<Result> };
  let i = 0;
  const result = await autocannon({
    url: baseUrl,
    connections,
    duration: seconds,
    requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, path: paths[i++ % paths.length] }) }],
  });
  return {
    requests: result.requests.total,
    perSecond: result.requests.average,
    p50ms: result.latency.p50,
    p99ms: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
}

const load = existsSync(WRK) ? wrk : autocannonLoad;

/**
 * ACCOUNTS accounts × TRACKERS/ACCOUNTS trackers, interleaved: a hosted service
 * sees many accounts at once, and on PostgreSQL writers of one account take turns
 * (its feed positions are assigned in commit order), different accounts do not.
 */
async function registerTrackers(base: string): Promise<string[]> {
  const perAccount: string[][] = [];
  for (let a = 0; a < ACCOUNTS; a++) {
    const res = await fetch(`${base}/v1/accounts`, { method: 'POST' });
    if (res.status !== 201) throw new Error(`POST /v1/accounts answered ${res.status}`);
    const { account, token } = (await res.json()) as { account: string; token: string };
    const paths: string[] = [];
    for (let i = 0; i < TRACKERS / ACCOUNTS; i++) {
      const tracker = `bench${String(a * 1000 + i).padStart(6, '0')}${Math.random().toString(36).slice(2, 12)}`;
      const put = await fetch(`${base}/v1/trackers/${tracker}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{"state":"sent"}',
      });
      if (put.status !== 200) throw new Error(`PUT tracker answered ${put.status}`);
      paths.push(`/p/${account}/${tracker}.gif`);
    }
    perAccount.push(paths);
  }
  return perAccount[0]!.flatMap((_, i) => perAccount.map((paths) => paths[i]!));
}

interface Row {
  name: string;
  store: 'sqlite' | 'pg1' | 'pg2';
  result: LoadResult;
  recorded: number;
}

function print(row: Row): void {
  const { result } = row;
  console.log(
    `${row.name.padEnd(28)} ${result.perSecond.toFixed(0).padStart(7)} req/s   p50 ${result.p50ms.toFixed(2).padStart(6)} ms   ` +
      `p99 ${result.p99ms.toFixed(2).padStart(6)} ms   answered ${result.requests}   recorded ${row.recorded}` +
      (result.errors ? `   errors ${result.errors}` : ''),
  );
}

export default async function pixelPostgres(): Promise<void> {
  console.log(
    `load: ${existsSync(WRK) ? 'wrk' : 'autocannon'} -c${CONNECTIONS}, ${SECONDS} s per run after ${WARMUP_SECONDS} s warm-up, loopback; ` +
      `${TRACKERS} trackers over ${ACCOUNTS} accounts`,
  );
  const rows: Row[] = [];
  const env = { OPENPING_LOG_LEVEL: 'warn', OPENPING_ACCOUNTS_PER_HOUR: '1000' };
  const dir = mkdtempSync(join(tmpdir(), 'openping-bench-'));
  const file = join(dir, 'openping.db');
  const db = await createTestDatabase('bench');
  const servers: ServerProcess[] = [];
  try {
    const sqlite = await startServerProcess({ ...env, OPENPING_DB: file });
    servers.push(sqlite);
    const postgres = await startServerProcess({ ...env, OPENPING_DB: db.url });
    servers.push(postgres);
    const sqlitePaths = await registerTrackers(sqlite.url);
    const pgPaths = await registerTrackers(postgres.url);
    await load(sqlite.url, sqlitePaths, WARMUP_SECONDS, CONNECTIONS);
    await load(postgres.url, pgPaths, WARMUP_SECONDS, CONNECTIONS);

    // Alternating rounds, so a burst of other work on the machine hits both stores alike.
    for (let round = 1; round <= ROUNDS; round++) {
      let before = countSqlite(file);
      const onSqlite = await load(sqlite.url, sqlitePaths, SECONDS, CONNECTIONS);
      await applied(sqlite.url);
      rows.push({ name: `SQLite, 1 instance #${round}`, store: 'sqlite', result: onSqlite, recorded: countSqlite(file) - before });
      print(rows.at(-1)!);
      before = await countPostgres(db.url);
      const onPostgres = await load(postgres.url, pgPaths, SECONDS, CONNECTIONS);
      rows.push({ name: `PostgreSQL, 1 instance #${round}`, store: 'pg1', result: onPostgres, recorded: (await countPostgres(db.url)) - before });
      print(rows.at(-1)!);
    }

    // Two instances on the same database, each loaded with half the connections.
    const second = await startServerProcess({ ...env, OPENPING_DB: db.url });
    servers.push(second);
    await load(second.url, pgPaths, WARMUP_SECONDS, CONNECTIONS);
    const before = await countPostgres(db.url);
    const halves = await Promise.all([postgres, second].map((s) => load(s.url, pgPaths, SECONDS, CONNECTIONS / 2)));
    const both: LoadResult = {
      requests: halves.reduce((sum, r) => sum + r.requests, 0),
      perSecond: halves.reduce((sum, r) => sum + r.perSecond, 0),
      p50ms: Math.max(...halves.map((r) => r.p50ms)),
      p99ms: Math.max(...halves.map((r) => r.p99ms)),
      errors: halves.reduce((sum, r) => sum + r.errors, 0),
    };
    rows.push({ name: 'PostgreSQL, 2 instances', store: 'pg2', result: both, recorded: (await countPostgres(db.url)) - before });
    print(rows.at(-1)!);
  } finally {
    for (const server of servers) await server.stop();
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  }

  // wrk stops counting at its deadline while the last requests still commit, so recorded may exceed answered.
  const unrecorded = rows.filter((r) => r.recorded < r.result.requests).map((r) => r.name);
  console.log(`answered but not recorded: ${unrecorded.length === 0 ? 'none' : unrecorded.join(', ')}`);
  const mean = (store: Row['store']) => {
    const picked = rows.filter((r) => r.store === store);
    return picked.reduce((sum, r) => sum + r.result.perSecond, 0) / picked.length;
  };
  console.log(`PostgreSQL 1 instance / SQLite throughput: ${(mean('pg1') / mean('sqlite')).toFixed(2)}× (means of ${ROUNDS} alternating rounds)`);
  console.log(`PostgreSQL 2 instances / SQLite throughput: ${(mean('pg2') / mean('sqlite')).toFixed(2)}×`);
  console.log('(2 shared cores: the load tool, the servers and PostgreSQL compete for them; compare ratios, not absolutes.)');

  await feedLatency();
}

const FEED_HITS = 1_000_000;

/** Events-feed page latency on PostgreSQL with 1M hits stored for the account: from the start, near the end, idle. */
async function feedLatency(): Promise<void> {
  const db = await createTestDatabase('feed');
  const store = await openPostgresStore(db.url);
  try {
    const account = 'benchAccount000000000';
    const tracker = 'benchTracker000000000';
    await store.createAccount({ id: account, tokenHash: 'bench', createdAt: Date.now() });
    await store.putTracker({ account, tracker, state: 'sent', sentAt: Date.now(), now: Date.now() });
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const filled = performance.now();
    // Written straight in SQL (the pixel path would take minutes); same columns and indexes as recorded hits.
    await client.query(
      `INSERT INTO hits (id, account, tracker, seq, at, kind, via, reason, client, prefix, asn, org, geo, signals)
       SELECT 'h' || g, $1, $2, g, 1764201600000 + g, 'open', NULL, 'Opened.', NULL, '203.0.113.0/24', 64500, 'Example',
              '{"country":"GB","region":null,"city":null}', '{"at":0,"method":"GET","userAgent":"Mozilla/5.0","headers":{},"network":{"prefix":"203.0.113.0/24","family":4,"asn":64500,"org":"Example"}}'
       FROM generate_series(1, $3::bigint) g`,
      [account, tracker, FEED_HITS],
    );
    await client.query('UPDATE accounts SET feed_seq = $2 WHERE id = $1', [account, FEED_HITS]);
    await client.query('ANALYZE hits');
    await client.end();
    console.log(`\nevents feed, ${FEED_HITS.toLocaleString('en')} hits stored for one account (filled in ${((performance.now() - filled) / 1000).toFixed(1)} s), pages of 500:`);
    const measure = async (name: string, after: string | null) => {
      const times: number[] = [];
      for (let i = 0; i < 200; i++) {
        const t = performance.now();
        await store.events(account, after, 500);
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      console.log(`  ${name.padEnd(26)} p50 ${times[100]!.toFixed(2)} ms   p99 ${times[197]!.toFixed(2)} ms`);
    };
    await measure('first page', null);
    await measure('page near the end', `p${FEED_HITS - 600}`);
    await measure('idle poll at the head', `p${FEED_HITS}`);
  } finally {
    await store.close();
    await db.drop();
  }
}

/**
 * Waits until the SQLite server has applied its hit log to the database: an
 * answered hit is durable in the log at once (backend/store/hitlog.ts) and
 * reaches the `hits` table when the ingest worker gets to it, which under a
 * burst is up to a second or two later. Counted before that, hits look missing.
 */
async function applied(url: string): Promise<void> {
  const started = performance.now();
  for (;;) {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const pending = /^openping_hit_log_pending_bytes (\d+)$/m.exec(metrics)?.[1];
    if (pending === undefined) throw new Error('The SQLite server exports no openping_hit_log_pending_bytes.');
    if (pending === '0') return;
    if (performance.now() - started > 60_000) throw new Error(`The hit log was still not applied after 60 s (${pending} bytes pending).`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Stored hits plus counted-but-dropped fetches: every answered request should be one of them. */
function countSqlite(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT (SELECT count(*) FROM hits) + (SELECT coalesce(sum(dropped), 0) FROM trackers) AS n').get() as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

async function countPostgres(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      'SELECT (SELECT count(*) FROM hits) + (SELECT coalesce(sum(dropped), 0) FROM trackers) AS n',
    );
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}
