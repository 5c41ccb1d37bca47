/** Limits that keep the server boring from outside: slow clients, huge heads, retention, graceful shutdown. */
import { statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openSqliteStore } from '../../backend/store/sqlite.ts';
import type { Store } from '../../backend/store/types.ts';
import { newAccount, putTracker, startTestServer, trackerId, type Running } from './helpers.ts';

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
