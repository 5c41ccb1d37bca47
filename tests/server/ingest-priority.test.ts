/**
 * Read-your-writes on a busy machine (issue 13, finding 11): the SQLite store's
 * ingest worker runs at idle priority (backend/store/thread-priority.ts), which
 * under a CPU hog at normal priority may get next to no CPU (sched(7),
 * SCHED_IDLE). A read that waits for logged hits must still get all of them,
 * and shutdown must not wait out its timeout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openSqliteStore } from '../../backend/store/sqlite.ts';
import { StoreBehindError, type Store } from '../../backend/store/types.ts';
import { json, newAccount, putTracker, startTestServer, trackerId } from './helpers.ts';

const hogs: ChildProcess[] = [];
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'openping-ingest-priority-'));
  // One busy loop per core at normal priority, each ending by itself after two minutes should
  // afterAll never run.
  for (let i = 0; i < availableParallelism(); i++) {
    hogs.push(spawn(process.execPath, ['-e', 'const end = Date.now() + 120_000; while (Date.now() < end);'], { stdio: 'ignore' }));
  }
});
afterAll(() => {
  for (const hog of hogs) hog.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const account = 'BusyCoresAccount0001';
const tracker = 'BusyCoresTracker0001';

/** Records n hits, 500 at a time; each batch resolved means durable in the log, as when their pixels were answered. */
async function record(store: Store, n: number): Promise<void> {
  for (let batch = 0; batch < n / 500; batch++) {
    const hits = Array.from({ length: 500 }, (_, i) => ({
      id: `busy-cores-${String(batch * 500 + i).padStart(8, '0')}`,
      account,
      tracker,
      signals: { at: Date.now(), method: 'GET' as const, userAgent: 'x'.repeat(120), headers: {}, network: { prefix: '192.0.2.0/24', family: 4 as const, asn: null, org: null } },
      classification: { kind: 'open' as const, via: null, reason: 'test', client: null },
      geo: null,
    }));
    expect(new Set(await store.recordHits(hits))).toEqual(new Set(['stored']));
  }
}

async function openWithTracker(path: string, errors: string[]): Promise<Store> {
  const store = await openSqliteStore(path, { floodCapPerHour: 1_000_000, onError: (message) => errors.push(message) });
  await store.createAccount({ id: account, tokenHash: 'busy-cores', createdAt: Date.now() });
  await store.putTracker({ account, tracker, state: 'sent', sentAt: Date.now(), now: Date.now() });
  return store;
}

it('a read after N recorded hits returns all N while every core is busy with other work', async () => {
  const errors: string[] = [];
  const store = await openWithTracker(join(dir, 'busy.db'), errors);
  try {
    const n = 20_000;
    await record(store, n);
    expect(await store.trackerHits(account, tracker)).toHaveLength(n);
    let seen = 0;
    let cursor: string | null = null;
    for (;;) {
      const page = await store.events(account, cursor, 500);
      if (page.events.length === 0) break;
      seen += page.events.length;
      cursor = page.cursor;
    }
    expect(seen).toBe(n);
    expect(errors).toEqual([]);
  } finally {
    await store.close();
  }
}, 120_000);

it('shutdown applies what was logged without timing out while every core is busy with other work', async () => {
  const errors: string[] = [];
  const path = join(dir, 'busy-close.db');
  const store = await openWithTracker(path, errors);
  const n = 60_000;
  await record(store, n);
  await store.close();
  // Before the worker was lifted for shutdown, its wait ran out here ("did not reach the database in time").
  expect(errors).toEqual([]);
  const again = await openSqliteStore(path, { onError: (message) => errors.push(message) });
  try {
    expect(await again.trackerHits(account, tracker)).toHaveLength(n);
  } finally {
    await again.close();
  }
}, 120_000);

it('a read whose hits are still not in the database answers 503 with a sentence, not a page without them', async () => {
  const store = await openSqliteStore(join(dir, 'behind.db'));
  // What the SQLite store throws when its wait for the ingest worker runs out (the worker failing).
  const behind = () => Promise.reject(new StoreBehindError());
  const server = await startTestServer({}, { store: { ...store, trackerHitsPage: behind, events: behind } });
  try {
    const acc = await newAccount(server.url);
    const id = trackerId();
    await putTracker(server.url, acc, id);
    for (const path of [`/v1/trackers/${id}`, '/v1/events']) {
      const res = await fetch(`${server.url}${path}`, { headers: acc.auth });
      expect(res.status, path).toBe(503);
      expect(res.headers.get('retry-after'), path).toBe('5');
      expect(await json(res), path).toEqual({ error: 'behind', message: expect.stringMatching(/^Recent hits are still being stored/) });
    }
  } finally {
    await server.stop();
    await store.close();
  }
});
