/**
 * Several stateless server instances over one PostgreSQL database (issue 8):
 * real servers on real ports, a real PostgreSQL, and for the crash test a real
 * child process killed with SIGKILL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrustProxy } from '../../backend/config.ts';
import { createLogger } from '../../backend/log.ts';
import { createServer, type OpenPingServer } from '../../backend/server.ts';
import { createTestDatabase, startServerProcess, type TestDatabase } from './pg.ts';
import { newAccount, putTracker, trackerId, type Account } from './helpers.ts';

interface Instance {
  url: string;
  server: OpenPingServer;
  logs(): string;
}

let db: TestDatabase;
const instances: Instance[] = [];

async function startInstance(): Promise<Instance> {
  let lines = '';
  const logger = createLogger('warn', { write: (s: string) => void (lines += s) });
  const server = createServer(
    // The kill -9 test registers one tracker per request, thousands for one account.
    { port: 0, host: '127.0.0.1', db: db.url, publicUrl: 'https://ping.example', accountsPerHour: 1000, trackersPerDay: 1_000_000 },
    { logger },
  );
  const { url } = await server.listen();
  const instance = { url, server, logs: () => lines };
  instances.push(instance);
  return instance;
}

beforeAll(async () => {
  db = await createTestDatabase('multi');
});
afterAll(async () => {
  for (const instance of instances) await instance.server.close().catch(() => undefined);
  await db?.drop();
});

const pixelUrl = (base: string, acc: Account, tracker: string) => `${base}/p/${acc.account}/${tracker}.gif`;

/** Fetches a pixel; true when the full 43-byte GIF came back with 200 (an answered hit). */
async function fetchPixel(url: string): Promise<boolean> {
  const res = await fetch(url, { headers: { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131 Safari/537.36' } });
  const body = new Uint8Array(await res.arrayBuffer());
  return res.status === 200 && body.length === 43;
}

interface FeedPage {
  events: Array<{ id: string; tracker: string; kind: string }>;
  cursor: string;
}

async function readFeed(base: string, acc: Account, cursor: string | null, wait = 0): Promise<FeedPage> {
  const query = new URLSearchParams();
  if (cursor !== null) query.set('after', cursor);
  if (wait > 0) query.set('wait', String(wait));
  const res = await fetch(`${base}/v1/events?${query}`, { headers: acc.auth });
  if (res.status !== 200) throw new Error(`GET /v1/events answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as FeedPage;
}

/** Runs `task(i)` for i in [0, n) with at most `concurrency` at once. */
async function pool(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

describe('two server instances on one PostgreSQL database', () => {
  let a: Instance;
  let b: Instance;
  beforeAll(async () => {
    a = await startInstance();
    b = await startInstance();
  });

  it('records pixels spread across both under concurrency, and the feed read alternately from both delivers each hit exactly once', async () => {
    const acc = await newAccount(a.url);
    const trackers = Array.from({ length: 40 }, () => trackerId());
    for (const [i, tracker] of trackers.entries()) {
      expect((await putTracker(i % 2 ? b.url : a.url, acc, tracker)).status).toBe(200);
    }
    const total = 800;
    let answered = 0;
    let loading = true;
    const load = pool(total, 40, async (i) => {
      if (await fetchPixel(pixelUrl(i % 2 ? b.url : a.url, acc, trackers[i % trackers.length]!))) answered++;
    }).finally(() => (loading = false));

    // A reader alternating between the instances while the hits arrive.
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let turn = 0; loading; turn++) {
      const page = await readFeed(turn % 2 ? b.url : a.url, acc, cursor);
      seen.push(...page.events.map((e) => e.id));
      cursor = page.cursor;
    }
    await load;
    for (let turn = 0; ; turn++) {
      const page = await readFeed(turn % 2 ? b.url : a.url, acc, cursor);
      if (page.events.length === 0) break;
      seen.push(...page.events.map((e) => e.id));
      cursor = page.cursor;
    }

    expect(answered).toBe(total);
    const stored: string[] = [];
    for (const tracker of trackers) {
      stored.push(...(await a.server.store.trackerHits(acc.account, tracker)).map((s) => s.hit.id));
      expect((await b.server.store.getTracker(acc.account, tracker))?.dropped).toBe(0);
    }
    expect(stored).toHaveLength(total);
    expect(seen).toHaveLength(total);
    expect(new Set(seen)).toEqual(new Set(stored));
  });

  it('records hits on one instance of a tracker it saw as unknown before the other registered it', async () => {
    const acc = await newAccount(a.url);
    const tracker = trackerId();
    // B answers a fetch that arrives before the registration (e.g. held in the extension's outbox).
    expect(await fetchPixel(pixelUrl(b.url, acc, tracker))).toBe(true);
    expect((await putTracker(a.url, acc, tracker)).status).toBe(200);
    // B's context cache lags at most SHARED_CONTEXT_TTL_MS (1 s).
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await fetchPixel(pixelUrl(b.url, acc, tracker))).toBe(true);
    expect(await a.server.store.trackerHits(acc.account, tracker)).toHaveLength(1);
  });

  it('releases a long-poll held on one instance soon after a hit recorded by the other', async () => {
    const acc = await newAccount(b.url);
    const tracker = trackerId();
    expect((await putTracker(b.url, acc, tracker)).status).toBe(200);
    const { cursor } = await readFeed(b.url, acc, null);
    let releasedAt = 0;
    const poll = readFeed(b.url, acc, cursor, 10).then((page) => {
      releasedAt = performance.now();
      return page;
    });
    // Let the long-poll reach its wait on instance B.
    await new Promise((r) => setTimeout(r, 300));
    expect(releasedAt).toBe(0);
    const sentAt = performance.now();
    expect(await fetchPixel(pixelUrl(a.url, acc, tracker))).toBe(true);
    const answeredAt = performance.now();
    const page = await poll;
    expect(page.events.map((e) => e.tracker)).toEqual([tracker]);
    const lag = releasedAt - answeredAt;
    console.info(`long-poll on B released ${lag.toFixed(1)} ms after A answered the pixel`);
    // 100 ms on an idle machine; on a loaded one, a few times what the pixel's own round trip took
    // (LISTEN/NOTIFY, not a poll interval, which would show as a lag of its own).
    expect(lag).toBeLessThan(Math.max(100, 5 * (answeredAt - sentAt)));
  });

  it('shares the account-creation rate limit between instances', async () => {
    const limited = [await startInstanceWithLimit(3), await startInstanceWithLimit(3)];
    // Another client network (a /24 of its own) through a trusted forwarding header.
    const headers = { 'x-forwarded-for': '192.0.2.10' };
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${limited[i % 2]!.url}/v1/accounts`, { method: 'POST', headers });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([201, 201, 201, 429, 429, 429]);
  });
});

async function startInstanceWithLimit(accountsPerHour: number): Promise<Instance> {
  let lines = '';
  const logger = createLogger('warn', { write: (s: string) => void (lines += s) });
  const server = createServer(
    {
      port: 0,
      host: '127.0.0.1',
      db: db.url,
      publicUrl: 'https://ping.example',
      accountsPerHour,
      trustProxy: parseTrustProxy('loopback'),
    },
    { logger },
  );
  const { url } = await server.listen();
  const instance = { url, server, logs: () => lines };
  instances.push(instance);
  return instance;
}

describe('kill -9 of one instance under load', () => {
  it('loses no hit that was answered before the kill', async () => {
    const survivor = await startInstance();
    const victim = await startServerProcess({ OPENPING_DB: db.url, OPENPING_LOG_LEVEL: 'warn', OPENPING_ACCOUNTS_PER_HOUR: '1000' });
    try {
      const acc = await newAccount(victim.url);
      // One tracker per request, so each answered request names the hit that must exist.
      const trackers = Array.from({ length: 4000 }, () => trackerId());
      const spare = trackerId();
      await pool(trackers.length + 1, 16, async (i) => {
        const tracker = trackers[i] ?? spare;
        await survivor.server.store.putTracker({ account: acc.account, tracker, state: 'sent', sentAt: Date.now(), now: Date.now() });
      });
      // Even requests go to the victim, odd ones to the survivor: both write the same database under load.
      const answered: string[] = [];
      let answeredBySurvivorAfterKill = 0;
      let victimFailures = 0;
      let killed = false;
      const load = pool(trackers.length, 32, async (i) => {
        const toVictim = i % 2 === 0;
        if (toVictim && victimFailures > 0) return;
        try {
          const ok = await fetchPixel(pixelUrl(toVictim ? victim.url : survivor.url, acc, trackers[i]!));
          if (ok) answered.push(trackers[i]!);
          if (ok && !toVictim && killed) answeredBySurvivorAfterKill++;
        } catch (error) {
          if (!toVictim) throw error;
          victimFailures++;
        }
      });
      // Kill once the load is well under way, mid-commit with high probability.
      while (answered.length < 600) await new Promise((r) => setTimeout(r, 5));
      await victim.kill9();
      killed = true;
      await load;
      expect(victimFailures).toBeGreaterThan(0);
      expect(answeredBySurvivorAfterKill).toBeGreaterThan(0);

      const missing: string[] = [];
      for (const tracker of answered) {
        if ((await survivor.server.store.trackerHits(acc.account, tracker)).length === 0) missing.push(tracker);
      }
      console.info(
        `kill -9 under load: ${answered.length} answered pixels (${answeredBySurvivorAfterKill} by the survivor after the kill); ` +
          `${missing.length} of them missing from PostgreSQL`,
      );
      expect(missing).toEqual([]);

      // The crashed instance comes back on the same database.
      const restarted = await startServerProcess({ OPENPING_DB: db.url, OPENPING_LOG_LEVEL: 'warn' });
      try {
        expect(await survivor.server.store.trackerHits(acc.account, spare)).toEqual([]);
        expect(await fetchPixel(pixelUrl(restarted.url, acc, spare))).toBe(true);
        expect(await survivor.server.store.trackerHits(acc.account, spare)).toHaveLength(1);
      } finally {
        await restarted.stop();
      }
    } finally {
      await victim.kill9();
    }
    // 4000 registrations and 4000 pixels against one PostgreSQL: 47 s alone on the 2-core machine, and it ran
    // out of a 60 s budget with the whole server project running beside it. The budget is a hang guard, not a measure.
  }, 240_000);
});
