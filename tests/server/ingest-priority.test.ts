/**
 * Read-your-writes on a busy machine (issue 13, finding 11): the SQLite store's
 * ingest worker runs at idle priority (backend/store/thread-priority.ts), which
 * under a CPU hog at normal priority may get next to no CPU (sched(7),
 * SCHED_IDLE). A read that waits for logged hits must still get all of them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openSqliteStore } from '../../backend/store/sqlite.ts';

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

it('a read after N recorded hits returns all N while every core is busy with other work', async () => {
  const errors: string[] = [];
  const store = await openSqliteStore(join(dir, 'busy.db'), { floodCapPerHour: 1_000_000, onError: (message) => errors.push(message) });
  try {
    const account = 'BusyCoresAccount0001';
    const tracker = 'BusyCoresTracker0001';
    await store.createAccount({ id: account, tokenHash: 'busy-cores', createdAt: Date.now() });
    await store.putTracker({ account, tracker, state: 'sent', sentAt: Date.now(), now: Date.now() });
    const n = 20_000;
    for (let batch = 0; batch < n / 500; batch++) {
      const hits = Array.from({ length: 500 }, (_, i) => ({
        id: `busy-cores-${String(batch * 500 + i).padStart(8, '0')}`,
        account,
        tracker,
        signals: { at: Date.now(), method: 'GET' as const, userAgent: 'x'.repeat(120), headers: {}, network: { prefix: '192.0.2.0/24', family: 4 as const, asn: null, org: null } },
        classification: { kind: 'open' as const, via: null, reason: 'test', client: null },
        geo: null,
      }));
      // Resolved: the hits are durable in the log, as when their pixels were answered.
      expect(new Set(await store.recordHits(hits))).toEqual(new Set(['stored']));
    }
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
