/**
 * A full disk, on a real small filesystem (a tmpfs of its own, mounted here:
 * needs root; without it the test fails with a sentence, it does not skip).
 *
 * While the disk is full: every pixel still gets its GIF, quickly; a hit that
 * could not be made durable is not counted as stored (it is counted as an
 * error in /metrics and logged); /healthz answers 503 `{"ok":false}` with the
 * warning `store-failing`; API calls answer 503 with a sentence, at once.
 * Once there is room again the store says so by itself, and after a restart
 * every hit that was answered as stored is in the database.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../backend/log.ts';
import { createServer, type OpenPingServer } from '../../backend/server.ts';
import { HitLog, listSegments } from '../../backend/store/hitlog.ts';
import type { NewHit, RecordOutcome } from '../../backend/store/types.ts';

const root = mkdtempSync(join(tmpdir(), 'openping-full-'));
const mount = join(root, 'fs');
const db = join(mount, 'openping.db');
const servers: OpenPingServer[] = [];
let mounted = false;

beforeAll(() => {
  mkdirSync(mount);
  try {
    // Room for the database, the hit log and its 16 MB spare file (hitlog.ts: prepared while 64 MB are free).
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=72m', 'tmpfs', mount], { stdio: 'pipe' });
    mounted = true;
  } catch (error) {
    const said = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`This test needs a small filesystem of its own: mounting a tmpfs at ${mount} failed (${said || String(error)}); run it as root.`);
  }
});

afterAll(async () => {
  try {
    for (const server of servers) await server.close().catch(() => undefined);
  } finally {
    // Lazy: detached even if something still has a file open there.
    if (mounted) execFileSync('umount', ['-l', mount], { stdio: 'pipe' });
    rmSync(root, { recursive: true, force: true });
  }
});

let logs = '';
async function start(): Promise<{ server: OpenPingServer; url: string }> {
  const server = createServer(
    { port: 0, host: '127.0.0.1', db, publicUrl: 'https://ping.example', floodCapPerHour: 1_000_000 },
    { logger: createLogger('info', { write: (s: string) => void (logs += s) }) },
  );
  servers.push(server);
  const { url } = await server.listen();
  return { server, url };
}

/** Fills the filesystem: appends until it answers ENOSPC, in smaller and smaller pieces. */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  try {
    for (const size of [1 << 20, 1 << 16, 1 << 12, 1 << 9, 1]) {
      const chunk = Buffer.alloc(size, 0x55);
      for (;;) {
        try {
          if (writeSync(fd, chunk) < size) break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw error;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

it('on a full disk answers every pixel, says it is failing, answers the API 503 at once, and loses no hit answered as stored', async () => {
  const { server, url } = await start();
  const account = (await (await fetch(`${url}/v1/accounts`, { method: 'POST' })).json()) as { account: string; token: string };
  const auth = { authorization: `Bearer ${account.token}`, 'content-type': 'application/json' };
  const [trackerA, trackerB] = ['FullDiskTrackerA012345', 'FullDiskTrackerB012345'];
  for (const t of [trackerA, trackerB]) {
    expect((await fetch(`${url}/v1/trackers/${t}`, { method: 'PUT', headers: auth, body: JSON.stringify({ state: 'sent' }) })).status).toBe(200);
  }

  // What the store answered for each hit, by its user agent (each request has its own).
  const outcomes = new Map<string, RecordOutcome | 'error'>();
  const store = server.store;
  const recordHits = store.recordHits.bind(store);
  store.recordHits = async (hits: readonly NewHit[]) => {
    try {
      const out = await recordHits(hits);
      hits.forEach((h, i) => outcomes.set(h.signals.userAgent!, out[i]!));
      return out;
    } catch (error) {
      for (const h of hits) outcomes.set(h.signals.userAgent!, 'error');
      throw error;
    }
  };

  let n = 0;
  /** Fetches the pixel; returns how long it took. Each must be the GIF, whatever happens behind it. */
  const pixel = async (tracker: string): Promise<number> => {
    const started = performance.now();
    const res = await fetch(`${url}/p/${account.account}/${tracker}.gif`, { headers: { 'user-agent': `full-disk/${n++}` } });
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(43);
    return performance.now() - started;
  };
  const burst = async (tracker: string, count: number) => {
    const times: number[] = [];
    for (let i = 0; i < count; i += 8) times.push(...(await Promise.all(Array.from({ length: Math.min(8, count - i) }, () => pixel(tracker)))));
    return times;
  };

  await burst(trackerA, 20);
  expect([...outcomes.values()].every((o) => o === 'stored')).toBe(true);

  // The spare file is ready (writing it while the disk fills would free its room again).
  await expect.poll(() => existsSync(`${db}-hits.free.0`), { timeout: 20_000 }).toBe(true);
  const filler = join(mount, 'filler');
  fill(filler);
  try {
    // After a failed hit its tracker's context is dropped, and the next fetch reloads it: that reload
    // waited 10 s for the tracker's hits the worker could not apply.
    const times = await burst(trackerA, 64);
    // The first fetch of a tracker whose context was never loaded.
    times.push(await pixel(trackerB));
    expect([...outcomes.values()].filter((o) => o === 'error').length).toBeGreaterThan(0);

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(503);
    const body = (await health.json()) as { ok: boolean; warnings: Array<{ code: string; message: string }> };
    expect(body).toMatchObject({ ok: false, warnings: [{ code: 'store-failing', message: expect.stringMatching(/ENOSPC|no space|disk is full/i) }] });

    // The API says so at once: well under the 10 s a read used to wait for hits that could not be applied.
    const calls: Array<[string, RequestInit]> = [
      [`${url}/v1/trackers/${trackerA}`, { headers: auth }],
      [`${url}/v1/trackers/FullDiskTrackerC012345`, { method: 'PUT', headers: auth, body: JSON.stringify({ state: 'sent' }) }],
      [`${url}/v1/events?after=0`, { headers: auth }],
      [`${url}/v1/accounts`, { method: 'POST' }],
    ];
    for (const [target, init] of calls) {
      const started = performance.now();
      const res = await fetch(target, init);
      times.push(performance.now() - started);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: 'store_failing', message: expect.stringMatching(/cannot store/) });
    }
    // Generous for a loaded machine, yet below the 10 s (BARRIER_TIMEOUT_MS) each used to wait.
    expect(Math.max(...times)).toBeLessThan(7_000);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(Number(/^openping_pixel_requests_total\{outcome="error"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(logs).toMatch(/hit not recorded/);
  } finally {
    unlinkSync(filler);
  }

  // Room again: the store finds out by itself (its probe), without a pixel or an API call to tell it.
  await expect.poll(async () => (await fetch(`${url}/healthz`)).status, { timeout: 15_000, interval: 200 }).toBe(200);
  expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ ok: true, warnings: [] });
  expect(logs).toMatch(/store: working again/);
  await burst(trackerA, 10);
  expect((await fetch(`${url}/v1/trackers/${trackerA}`, { headers: auth })).status).toBe(200);

  await server.close();
  const again = await start();
  const kept = new Set((await again.server.store.trackerHits(account.account, trackerA)).map((h) => h.signals.userAgent));
  for (const h of await again.server.store.trackerHits(account.account, trackerB)) kept.add(h.signals.userAgent);
  const stored = [...outcomes].filter(([, o]) => o === 'stored').map(([ua]) => ua);
  expect(stored.length).toBeGreaterThan(30);
  expect(stored.filter((ua) => !kept.has(ua))).toEqual([]);
}, 90_000);

it('leaves no new hit-log file behind per group of hits that fails on the full disk, and writes on once there is room', async () => {
  const path = join(mount, 'log-only.db');
  // Below 1 MB no spare file is prepared: each segment is a new file that grows as it is written.
  const log = new HitLog(path, 1, () => undefined, { segmentBytes: 1 << 19 });
  const filler = join(mount, 'filler-2');
  fill(filler);
  try {
    const record = JSON.stringify([1, 'LogOnlyTracker00000000', 'LogOnlyAccount00000000']);
    let failed = 0;
    for (let i = 0; i < 50; i++) {
      // Large enough not to fit in what is left of a page the file already has.
      for (let j = 0; j < 200; j++) log.append(record);
      await log.sync().catch(() => failed++);
    }
    expect(failed).toBe(50);
    expect(listSegments(path)).toEqual([1]);
  } finally {
    unlinkSync(filler);
  }
  log.append(JSON.stringify([1, 'LogOnlyTracker00000000', 'LogOnlyAccount00000000']));
  await log.sync();
  expect(log.durable).toMatchObject({ segment: 1 });
  await log.flush();
  log.close();
  expect(listSegments(path)).toEqual([1]);
});

it('prepares no spare segment file when the disk has little room left (it would take the last of it)', () => {
  const { bavail, bsize } = statfsSync(mount);
  const filler = join(mount, 'filler-3');
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(1 << 20, 0x55);
  try {
    // 30 MB left: room for the log and the database, not for a spare beside them.
    for (let left = bavail * bsize - (30 << 20); left > 0; left -= chunk.length) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
  const path = join(mount, 'no-spare.db');
  try {
    // Default (16 MB) segments: a new segment file starts writing a spare at once, unless it holds back.
    const log = new HitLog(path, 1, () => undefined);
    expect(existsSync(`${path}-hits.spare`)).toBe(false);
    log.close();
  } finally {
    unlinkSync(filler);
  }
});
