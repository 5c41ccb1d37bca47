/** Limits that keep the server boring from outside: slow clients, huge heads, retention, graceful shutdown. */
import { statSync } from 'node:fs';
import { get } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../backend/config.ts';
import { openPostgresStore } from '../../backend/store/postgres.ts';
import { openSqliteStore } from '../../backend/store/sqlite.ts';
import type { Store } from '../../backend/store/types.ts';
import { json, newAccount, putTracker, startTestServer, trackerId, type Running } from './helpers.ts';
import { createTestDatabase } from './pg.ts';

let s: Running;
beforeAll(async () => {
  s = await startTestServer({ accountsPerHour: 1000, headersTimeoutMs: 500, requestTimeoutMs: 1000, retentionDays: 30 });
});
afterAll(async () => {
  await s.stop();
});

function socketTo(url: string) {
  const { hostname, port } = new URL(url);
  return connect(Number(port), hostname);
}

it('drops a client that sends its headers too slowly', async () => {
  const socket = socketTo(s.url);
  let reply = '';
  socket.on('data', (d) => (reply += d.toString()));
  const closed = new Promise<number>((resolve) => {
    const started = Date.now();
    socket.on('close', () => resolve(Date.now() - started));
  });
  socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
  const after = await closed;
  expect(after).toBeLessThan(5000);
  expect(reply).toMatch(/^HTTP\/1\.1 408/);
  expect(reply).toContain('"error":"timeout"');
});

it('answers 431 in the error shape for an oversized request head', async () => {
  const res = await fetch(`${s.url}/healthz`, { headers: { 'x-big': 'a'.repeat(20_000) } });
  expect(res.status).toBe(431);
  expect(await res.json()).toEqual({ error: 'headers_too_large', message: expect.any(String) });
});

it('deletes hits older than OPENPING_RETENTION_DAYS and keeps newer ones', async () => {
  const acc = await newAccount(s.url);
  const tracker = trackerId();
  await putTracker(s.url, acc, tracker);
  const day = 86_400_000;
  const signals = (at: number) => ({
    at,
    method: 'GET' as const,
    userAgent: null,
    headers: {},
    network: { prefix: '192.0.2.0/24', family: 4 as const, asn: null, org: null },
  });
  const label = { kind: 'open' as const, via: null, reason: 'Opened.', client: null };
  await s.server.store.recordHits([
    { id: 'old-hit-0123456789', account: acc.account, tracker, signals: signals(Date.now() - 31 * day), classification: label, geo: null },
    { id: 'new-hit-0123456789', account: acc.account, tracker, signals: signals(Date.now() - 29 * day), classification: label, geo: null },
  ]);
  expect(await s.server.runRetention()).toBe(1);
  expect((await s.server.store.trackerHits(acc.account, tracker)).map((h) => h.hit.id)).toEqual(['new-hit-0123456789']);
});

it('on close, finishes the commits in flight and answers them, releases long-polls, then stops', async () => {
  const real = await openSqliteStore(join(s.dir, 'graceful.db'));
  let received = 0;
  // A slow disk: each commit takes 300 ms, so close() starts while hits are mid-commit.
  const slow: Store = {
    ...real,
    async recordHits(hits) {
      received += hits.length;
      await new Promise((r) => setTimeout(r, 300));
      return real.recordHits(hits);
    },
  };
  const own = await startTestServer({ accountsPerHour: 1000 }, { store: slow });
  const acc = await newAccount(own.url);
  const tracker = trackerId();
  await putTracker(own.url, acc, tracker);
  const poll = fetch(`${own.url}/v1/events?wait=20`, { headers: acc.auth }).then((r) => r.status);
  const n = 20;
  const pixels = Array.from({ length: n }, () => fetch(`${own.url}/p/${acc.account}/${tracker}.gif`).then(async (r) => (await r.arrayBuffer()).byteLength));
  while (received < n) await new Promise((r) => setTimeout(r, 10));
  const started = Date.now();
  await own.server.close();
  expect(Date.now() - started).toBeLessThan(5000);
  expect(await poll).toBe(200);
  expect(await Promise.all(pixels)).toEqual(Array(n).fill(43));
  expect(await real.trackerHits(acc.account, tracker)).toHaveLength(n);
  await expect(fetch(`${own.url}/healthz`)).rejects.toThrow();
  await own.stop();
  await real.close();
});

it('refuses a database path whose folder cannot be created, with a clear sentence instead of hanging', async () => {
  // /proc answers mkdir with ENOENT although the parent exists; Node's recursive mkdir loops on that.
  await expect(openSqliteStore('/proc/openping-no-such-folder/openping.db')).rejects.toThrow(
    /^Cannot create the database folder \/proc\/openping-no-such-folder \(ENOENT\)/,
  );
  await expect(openSqliteStore(join(s.db, 'openping.db'))).rejects.toThrow(/is not a folder/);
}, 5000);

it('keeps the WAL file bounded under back-to-back commits (checkpoints off the event loop still let it rewind)', async () => {
  const path = join(s.dir, 'wal-bound.db');
  const store = await openSqliteStore(path, { floodCapPerHour: 1_000_000 });
  try {
    await store.createAccount({ id: 'WalBoundAccount0001', tokenHash: 'wal-bound', createdAt: Date.now() });
    const tracker = 'WalBoundTracker00001';
    await store.putTracker({ account: 'WalBoundAccount0001', tracker, state: 'sent', sentAt: Date.now(), now: Date.now() });
    let n = 0;
    let largest = 0;
    for (let batch = 0; batch < 1500; batch++) {
      const hits = Array.from({ length: 20 }, () => {
        const at = Date.now();
        return {
          id: `wal-bound-${String(n++).padStart(8, '0')}`,
          account: 'WalBoundAccount0001',
          tracker,
          signals: { at, method: 'GET' as const, userAgent: 'x'.repeat(120), headers: {}, network: { prefix: '192.0.2.0/24', family: 4 as const, asn: null, org: null } },
          classification: { kind: 'open' as const, via: null, reason: 'test', client: null },
          geo: null,
        };
      });
      expect(await store.recordHits(hits)).toEqual(Array(20).fill('stored'));
      if (batch % 100 === 99) largest = Math.max(largest, statSync(`${path}-wal`).size);
    }
    // Without rewinding, 1500 commits of ~8 pages each would leave a WAL of ~50 MB.
    expect(largest).toBeGreaterThan(0);
    expect(largest).toBeLessThan(16 * 1024 * 1024);
    expect(await store.trackerHits('WalBoundAccount0001', tracker)).toHaveLength(n);
  } finally {
    await store.close();
  }
}, 60_000);

// ── per-tracker self-views, per-account caps (issue 13, findings 2 and 4) ──────────────

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';

function storedHit(account: string, tracker: string, at: number, n: number) {
  return {
    id: `${at.toString(36).padStart(9, '0')}load${String(n).padStart(7, '0')}`,
    account,
    tracker,
    signals: {
      at,
      method: 'GET' as const,
      userAgent: CHROME,
      headers: { accept: 'image/avif,image/webp,*/*', acceptLanguage: 'en-GB' },
      network: { prefix: '198.51.100.0/24', family: 4 as const, asn: 64500, org: 'Example Broadband' },
    },
    classification: { kind: 'open' as const, via: null, reason: 'Opened in Chrome.', client: { name: 'Chrome', os: 'Windows', device: null } },
    geo: null,
  };
}

function p95(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))]!;
}

/**
 * Pixel fetches of `url` every 10 ms until `until` settles (and at least `min`), each timed
 * from when it was due, not from when it went out. The server runs in this process: while
 * its event loop stalls, no fetch goes out either, and timing from the send would leave the
 * stall out (coordinated omission); the fetches due during a stall all count it.
 */
async function pixelLatencies(url: string, min: number, until: Promise<unknown> = Promise.resolve()): Promise<number[]> {
  const interval = 10;
  let settled = false;
  void until.finally(() => (settled = true));
  const started = performance.now();
  const probes: Array<Promise<number>> = [];
  for (let i = 0; i < min || !settled; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    // A connection each (agent: false): a kept-alive one may be closed by the server just as a probe
    // is sent on it. A probe that fails (a stalled server resets connections) counts as never answered.
    probes.push(
      new Promise<number>((resolve) => {
        get(url, { agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(performance.now() - due));
        }).on('error', () => resolve(Number.POSITIVE_INFINITY));
      }),
    );
  }
  return Promise.all(probes);
}

it.each(['sqlite', 'postgres'])('keeps pixels of other trackers fast while a tracker with many hits gets a burst of self-views (%s)', async (kind) => {
  // Its own server: the one above allows requests only 1 s to arrive, which a stalled event loop would miss.
  const pgdb = kind === 'postgres' ? await createTestDatabase('selfviews') : null;
  const pgStore = pgdb ? await openPostgresStore(pgdb.url) : null;
  const own = await startTestServer({ accountsPerHour: 1000 }, pgStore ? { store: pgStore } : {});
  try {
  const victim = await newAccount(own.url);
  const tracker = trackerId();
  const hours = 15;
  const start = Date.now() - hours * 3_600_000;
  await putTracker(own.url, victim, tracker, { state: 'sent', sentAt: Date.now() - 6 * 86_400_000 });
  // 12,000 hits over 15 hours (800 an hour, under the flood cap), stored directly.
  const total = 12_000;
  const spacing = Math.floor((hours * 3_600_000) / total);
  for (let i = 0; i < total; i += 2000) {
    await own.server.store.recordHits(Array.from({ length: 2000 }, (_, k) => storedHit(victim.account, tracker, start + (i + k) * spacing, i + k)));
  }
  // Reads wait until the hit log is applied: measure with the ingest worker idle, as before and during alike.
  await own.server.store.getTracker(victim.account, tracker);
  const bystander = await newAccount(own.url);
  const other = trackerId();
  await putTracker(own.url, bystander, other);
  const probe = `${own.url}/p/${bystander.account}/${other}.gif`;
  await pixelLatencies(probe, 20); // warm-up
  const baseline = await pixelLatencies(probe, 200);
  // 30 self-views at once, each at a different time among the hits (none within a minute of another).
  const burst = Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      fetch(`${own.url}/v1/trackers/${tracker}/self-views`, {
        method: 'POST',
        headers: victim.auth,
        body: JSON.stringify({ at: start + i * 29 * 60_000 }),
      }).then(async (r) => {
        await r.arrayBuffer();
        return r.status;
      }),
    ),
  );
  const during = await pixelLatencies(probe, 200, burst);
  const statuses = await burst;
  // Before the fix each self-view re-classified all 12,000 hits on the event loop: p95 went from
  // 225 ms to 48 s with SQLite (ratio 214; connections were reset), 112 ms to 14.7 s with
  // PostgreSQL (ratio 132), on this machine under load. Now the accepted self-views' commits (each
  // an fsync on the event loop with SQLite) take turns with the pixels: ratios of 2.7 to 6.1 were
  // seen with load averages of 9 to 14. The bound leaves room for a loaded
  // machine; the baseline is taken as at least 5 ms so a very quiet one does not make it tighter than the noise.
  const ratio = p95(during) / Math.max(p95(baseline), 5);
  expect(ratio, `pixel p95 ${p95(baseline).toFixed(1)} ms → ${p95(during).toFixed(1)} ms during the burst`).toBeLessThan(20);
  expect(statuses.filter((st) => st === 204).length).toBeGreaterThan(0);
  } finally {
    await own.stop();
    await pgStore?.close();
    await pgdb?.drop();
  }
}, 180_000);

it('merges self-views within a minute, refuses a burst beyond the per-tracker limit with 429, and re-labels only hits near a self-view', async () => {
  const own = await startTestServer({ accountsPerHour: 1000, selfViewsPerMinute: 4 });
  try {
    const acc = await newAccount(own.url);
    const tracker = trackerId();
    const now = Date.now();
    await putTracker(own.url, acc, tracker, { state: 'sent', sentAt: now - 6 * 86_400_000 });
    // Person-like opens 5 minutes apart, the last a minute ago.
    const hits = Array.from({ length: 10 }, (_, i) => storedHit(acc.account, tracker, now - 60_000 - (9 - i) * 300_000, i));
    await own.server.store.recordHits(hits);
    const post = (at: number) =>
      fetch(`${own.url}/v1/trackers/${tracker}/self-views`, { method: 'POST', headers: acc.auth, body: JSON.stringify({ at }) });
    const near = hits[4]!.signals.at;
    expect((await post(near + 5_000)).status).toBe(204);
    // Within a minute of the stored one: merged, no second self-view.
    expect((await post(near + 40_000)).status).toBe(204);
    expect((await own.server.store.getTracker(acc.account, tracker))!.selfViews).toEqual([near + 5_000, near + 40_000]);
    const kinds = (await own.server.store.trackerHits(acc.account, tracker)).map((h) => h.hit.kind);
    expect(kinds).toEqual(hits.map((_, i) => (i === 4 ? 'self' : 'open')));
    expect((await post(near + 30_000)).status).toBe(204);
    expect((await post(hits[8]!.signals.at)).status).toBe(204);
    // The fifth of this minute (merged ones count too) is refused, in the error shape, with Retry-After.
    const refused = await post(hits[0]!.signals.at);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({ error: 'rate_limited', message: expect.stringMatching(/self-views/) });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    const after = (await own.server.store.trackerHits(acc.account, tracker)).map((h) => h.hit.kind);
    expect(after).toEqual(hits.map((_, i) => (i === 4 || i === 8 ? 'self' : 'open')));
  } finally {
    await own.stop();
  }
});

it('counts hits beyond the account\'s hourly cap as dropped, and refuses new trackers beyond the daily cap with 429', async () => {
  const own = await startTestServer({ accountsPerHour: 1000, floodCapPerHour: 2, accountHitsPerHour: 3, trackersPerDay: 3 });
  try {
    const acc = await newAccount(own.url);
    const trackers = [trackerId(), trackerId(), trackerId()];
    for (const tracker of trackers) expect((await putTracker(own.url, acc, tracker)).status).toBe(200);
    const refused = await putTracker(own.url, acc, trackerId());
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({ error: 'rate_limited', message: expect.stringMatching(/3 new trackers a day/) });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // A tracker it has is still updated; another account is not limited.
    expect((await putTracker(own.url, acc, trackers[0]!, { state: 'sent' })).status).toBe(200);
    const other = await newAccount(own.url);
    expect((await putTracker(own.url, other, trackerId())).status).toBe(200);
    // Two pixels of each tracker within the hour: the account stores three, the others are dropped (a clock
    // hour may turn between two of them, which starts a new allowance: then more are stored, never fewer).
    for (const tracker of trackers) {
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${own.url}/p/${acc.account}/${tracker}.gif`);
        expect(res.status).toBe(200);
        expect((await res.arrayBuffer()).byteLength).toBe(43);
      }
    }
    const pages = await Promise.all(
      trackers.map(async (tracker) => json<{ hits: unknown[]; dropped: number }>(await fetch(`${own.url}/v1/trackers/${tracker}`, { headers: acc.auth }))),
    );
    const stored = pages.reduce((n, p) => n + p.hits.length, 0);
    const dropped = pages.reduce((n, p) => n + p.dropped, 0);
    expect(stored + dropped).toBe(6);
    expect(stored).toBeGreaterThanOrEqual(3);
    expect(pages[2]!.dropped).toBeGreaterThan(0);
  } finally {
    await own.stop();
  }
});

it('reads the caps from the environment, refusing a bad value with a sentence naming the variable', () => {
  expect(loadConfig({})).toMatchObject({ accountHitsPerHour: 10_000, trackersPerDay: 500, selfViewsPerMinute: 10 });
  expect(loadConfig({ OPENPING_ACCOUNT_HITS_PER_HOUR: '2000', OPENPING_TRACKERS_PER_DAY: '50', OPENPING_SELF_VIEWS_PER_MINUTE: '3' })).toMatchObject({
    accountHitsPerHour: 2000,
    trackersPerDay: 50,
    selfViewsPerMinute: 3,
  });
  // A flood cap above the default account cap raises the account's default with it.
  expect(loadConfig({ OPENPING_FLOOD_CAP: '50000' })).toMatchObject({ floodCapPerHour: 50_000, accountHitsPerHour: 50_000 });
  const bad: Array<[Record<string, string>, string]> = [
    [{ OPENPING_ACCOUNT_HITS_PER_HOUR: 'lots' }, 'OPENPING_ACCOUNT_HITS_PER_HOUR'],
    [{ OPENPING_FLOOD_CAP: '5000', OPENPING_ACCOUNT_HITS_PER_HOUR: '4000' }, 'OPENPING_ACCOUNT_HITS_PER_HOUR'],
    [{ OPENPING_TRACKERS_PER_DAY: '0' }, 'OPENPING_TRACKERS_PER_DAY'],
    [{ OPENPING_TRACKERS_PER_DAY: '1.5' }, 'OPENPING_TRACKERS_PER_DAY'],
    [{ OPENPING_SELF_VIEWS_PER_MINUTE: '-1' }, 'OPENPING_SELF_VIEWS_PER_MINUTE'],
  ];
  for (const [env, name] of bad) {
    expect(() => loadConfig(env), JSON.stringify(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^${name} must be a whole number from \\d+ to \\d+; got "[^"]*"\\.$`));
  }
});
