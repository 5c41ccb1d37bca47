/**
 * Events feed latency with 1M stored hits (target ≤ 5 ms per page, issue 3;
 * cost should follow new events, not stored history). The hits are bulk-loaded
 * into a real SQLite file; pages are then read through the real server over
 * HTTP (GET /v1/events, 500 per page), so the figure includes auth and JSON.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from '../../backend/store/sqlite-driver.ts';
import { hashToken } from '../../backend/http.ts';
import { createLogger } from '../../backend/log.ts';
import { createServer } from '../../backend/server.ts';
import { openSqliteStore } from '../../backend/store/sqlite.ts';

const TOTAL = Number(process.env.BENCH_FEED_HITS ?? 1_000_000);
const BIG_SHARE = 2; // every 2nd hit belongs to the big account
const TOKEN_BIG = 'B'.repeat(43);
const TOKEN_SMALL = 'S'.repeat(43);

/** SQLite here has no generate_series: `${seq(a, b)} … FROM s` yields value = a..b. */
const seq = (a: number | string, b: number | string) =>
  `WITH RECURSIVE s(value) AS (SELECT ${a} UNION ALL SELECT value + 1 FROM s WHERE value < ${b}) SELECT`;

function percentile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export default async function feedBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'openping-feed-'));
  const path = join(dir, 'openping.db');
  try {
    // Schema through the store itself, then a bulk load straight in SQL.
    const store = await openSqliteStore(path);
    const now = Date.now();
    await store.createAccount({ id: 'BigAccount0123456789', tokenHash: hashToken(TOKEN_BIG), createdAt: now });
    await store.createAccount({ id: 'SmallAccount01234567', tokenHash: hashToken(TOKEN_SMALL), createdAt: now });
    await store.close();
    const started = performance.now();
    const db = new Database(path);
    db.pragma('synchronous = OFF');
    db.exec(`
      INSERT INTO accounts (id, token_hash, created_at)
        ${seq(1, 999)} 'Other' || printf('%015d', value), 'h' || value, ${now} FROM s;
    `);
    const signals = JSON.stringify({
      at: now,
      method: 'GET',
      userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
      headers: { accept: 'image/avif,image/webp,*/*', acceptLanguage: 'en-GB,en;q=0.9', acceptEncoding: 'gzip, deflate, br' },
      network: { prefix: '66.249.93.0/24', family: 4, asn: 15169, org: 'Google LLC' },
    });
    db.transaction(() => {
      db.exec(`
        INSERT INTO trackers (id, account, state, sent_at, created_at)
          ${seq(0, 999)} 'BigTracker' || printf('%012d', value), 'BigAccount0123456789', 'sent', ${now - 86_400_000}, ${now} FROM s;
        INSERT INTO trackers (id, account, state, sent_at, created_at)
          ${seq(1, 999)} 'OtherTrack' || printf('%012d', value), 'Other' || printf('%015d', value), 'sent', ${now - 86_400_000}, ${now} FROM s;
        INSERT INTO trackers (id, account, state, sent_at, created_at)
          VALUES ('SmallTracker01234567', 'SmallAccount01234567', 'sent', ${now - 86_400_000}, ${now});
      `);
      db.prepare(
        `INSERT INTO hits (id, account, tracker, at, kind, via, reason, client, prefix, asn, org, geo, signals)
         ${seq(1, TOTAL)} 'hit' || printf('%013d', value),
                CASE WHEN value % ${BIG_SHARE} = 0 THEN 'BigAccount0123456789' ELSE 'Other' || printf('%015d', 1 + value % 999) END,
                CASE WHEN value % ${BIG_SHARE} = 0 THEN 'BigTracker' || printf('%012d', value % 1000) ELSE 'OtherTrack' || printf('%012d', 1 + value % 999) END,
                ${now - 86_400_000} + value, 'open', 'gmail-proxy', 'Fetched by Gmail''s image proxy when the message was opened',
                '{"name":"Gmail","os":null,"device":null}', '66.249.93.0/24', 15169, 'Google LLC',
                '{"country":"US","region":"California","city":"Mountain View"}', ?
         FROM s`,
      ).run(signals);
    })();
    db.close();
    console.log(`loaded ${TOTAL.toLocaleString('en')} hits (half in one account, half over 999 others) in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const server = createServer({ port: 0, db: path, logLevel: 'warn' }, { logger: createLogger('warn') });
    const { url } = await server.listen();
    try {
      // The server writes a page with one res.end(), so fetch() resolving (headers in) marks the whole
      // server-side cost; reading and parsing the JSON afterwards is the client's share, shown apart.
      const clientMs: number[] = [];
      const page = async (token: string, after: string | null) => {
        const t = performance.now();
        const res = await fetch(`${url}/v1/events${after === null ? '' : `?after=${after}`}`, { headers: { authorization: `Bearer ${token}` } });
        const ms = performance.now() - t;
        const body = (await res.json()) as { events: unknown[]; cursor: string };
        clientMs.push(performance.now() - t - ms);
        return { ms, body };
      };
      const report = (name: string, times: number[], events: number) => {
        const parse = clientMs.splice(0);
        console.log(
          `${name.padEnd(58)} server median ${percentile(times, 50).toFixed(2)} ms  p99 ${percentile(times, 99).toFixed(2)} ms  + client read/parse median ${percentile(parse, 50).toFixed(2)} ms  (${times.length} pages, ${events} events)`,
        );
      };

      for (let i = 0; i < 20; i++) await page(TOKEN_BIG, null); // warm-up
      clientMs.length = 0;
      // 1. The big account (500k hits) paged from the start: 200 full pages.
      let after: string | null = null;
      let times: number[] = [];
      let events = 0;
      for (let i = 0; i < 200; i++) {
        const { ms, body } = await page(TOKEN_BIG, after);
        times.push(ms);
        events += body.events.length;
        after = body.cursor;
      }
      report('full page (500 events), account with 500k hits, from start', times, events);
      // 2. Deep in its history: a cursor near the end of 1M positions.
      const deep = String(TOTAL - 200_000);
      times = [];
      events = 0;
      after = deep;
      for (let i = 0; i < 100; i++) {
        const { ms, body } = await page(TOKEN_BIG, after);
        times.push(ms);
        events += body.events.length;
        after = body.events.length ? body.cursor : deep;
      }
      report('full page (500 events), 800k positions deep', times, events);
      // 3. Caught up: nothing new (what a polling client does most of the time).
      const tail = (await page(TOKEN_BIG, String(TOTAL))).body.cursor;
      times = [];
      for (let i = 0; i < 300; i++) times.push((await page(TOKEN_BIG, tail)).ms);
      report('empty page at the tail (caught-up client), big account', times, 0);
      // 4. An account with no hits among the 1M: history of others must not cost it.
      times = [];
      for (let i = 0; i < 300; i++) times.push((await page(TOKEN_SMALL, null)).ms);
      report('empty page, account with no hits among 1M', times, 0);
      console.log('target: ≤ 5 ms per page with 1M hits stored');
    } finally {
      await server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
