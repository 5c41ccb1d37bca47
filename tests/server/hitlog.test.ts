/**
 * The SQLite store's hit log (backend/store/hitlog.ts) and its replay: frames
 * read back exactly as written, a torn tail is ignored, a failed frame fails
 * only its own hits and writing goes on in a new segment, and whatever a
 * stopped server left in the log is in the database after the next start.
 */
import { appendFileSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { comparePositions, encodeHitRecord, HitLog, listFree, listSegments, readFrames, recycleSegment, segmentPath, type HitRecord, type LogPosition, type LogRecord } from '../../backend/store/hitlog.ts';
import Database from '../../backend/store/sqlite-driver.ts';
import fc from 'fast-check';
import { IngestWorker } from '../../backend/store/sqlite-ingest.ts';
import { openSqliteStore } from '../../backend/store/sqlite.ts';
import type { HitSignals } from '../../backend/store/types.ts';

const ACCOUNT = 'AccountForHitLog0001';
const TRACKER = 'TrackerForHitLog0001';

let dir: string;
let db: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'openping-hitlog-'));
  db = join(dir, 'openping.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function signals(at: number): HitSignals {
  return {
    at,
    method: 'GET',
    userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0',
    headers: { accept: 'image/*', referer: null },
    network: { prefix: '203.0.113.0/24', family: 4, asn: 64500, org: 'Example Net' },
  };
}

function hitRecord(n: number, tracker = TRACKER): HitRecord {
  return [0, `hit-${String(n).padStart(12, '0')}`, ACCOUNT, tracker, 'open', null, 'Opened in a mail client.', null, { country: 'DE', region: null, city: null }, signals(1_790_000_000_000 + n)];
}

/** Frames of every segment, in order, as the replay reads them. */
function readAll(path: string): LogRecord[] {
  const out: LogRecord[] = [];
  for (const segment of listSegments(path)) {
    const fd = openSync(segmentPath(path, segment), 'r');
    try {
      out.push(...readFrames(fd, segment, 0, null).records);
    } finally {
      closeSync(fd);
    }
  }
  return out;
}

async function makeTracker(): Promise<void> {
  const store = await openSqliteStore(db);
  await store.createAccount({ id: ACCOUNT, tokenHash: 'hash-of-hitlog-token', createdAt: 1 });
  await store.putTracker({ account: ACCOUNT, tracker: TRACKER, state: 'sent', sentAt: 1_790_000_000_000, now: 1_790_000_000_000 });
  await store.close();
}

describe('hit log frames', () => {
  it('reads back every record in order, across segments, and tells durable positions in order', async () => {
    const durable: LogPosition[] = [];
    const log = new HitLog(db, 1, (p) => durable.push({ ...p }), { segmentBytes: 4096 });
    const written: LogRecord[] = [];
    for (let group = 0; group < 20; group++) {
      const syncs: Promise<void>[] = [];
      for (let i = 0; i < 5; i++) {
        const r = hitRecord(group * 5 + i);
        written.push(r);
        log.append(JSON.stringify(r));
        syncs.push(log.sync());
      }
      if (group % 3 === 0) written.push([1, TRACKER, ACCOUNT]), log.append(JSON.stringify([1, TRACKER, ACCOUNT]));
      await Promise.all([...syncs, log.sync()]);
    }
    await log.flush();
    log.close();
    expect(listSegments(db).length).toBeGreaterThan(1);
    expect(readAll(db)).toEqual(written);
    for (let i = 1; i < durable.length; i++) expect(comparePositions(durable[i]!, durable[i - 1]!)).toBeGreaterThan(0);
    expect(durable.at(-1)).toEqual(log.durable);
  });

  it('stops at a torn or corrupt frame and keeps what came before it', async () => {
    const log = new HitLog(db, 1, () => undefined);
    log.append(JSON.stringify(hitRecord(1)));
    log.append(JSON.stringify(hitRecord(2)));
    await log.sync();
    const end = log.durable.offset;
    await log.flush();
    log.close();
    const file = segmentPath(db, 1);
    // A frame whose header promises more than the file holds (a crash mid-write).
    const header = Buffer.alloc(8);
    header.writeUInt32LE(5000, 0);
    appendFileSync(file, Buffer.concat([header, Buffer.from('[0,"partial')]));
    let fd = openSync(file, 'r');
    let read = readFrames(fd, 1, 0, null);
    closeSync(fd);
    expect(read.records.map((r) => r[1])).toEqual([hitRecord(1)[1], hitRecord(2)[1]]);
    expect(read).toMatchObject({ offset: end, torn: true, done: false });

    // A whole frame with a wrong checksum is no better.
    const payload = Buffer.from(JSON.stringify(hitRecord(3)));
    const bad = Buffer.alloc(8);
    bad.writeUInt32LE(payload.length, 0);
    bad.writeUInt32LE(12345, 4);
    writeFileSync(file, Buffer.concat([bad, payload]));
    fd = openSync(file, 'r');
    read = readFrames(fd, 1, 0, null);
    closeSync(fd);
    expect(read).toMatchObject({ records: [], offset: 0, torn: true });
  });

  it('fails only the hits of a frame that could not be written, and goes on in a new segment', async () => {
    const log = new HitLog(db, 1, () => undefined);
    log.append(JSON.stringify(hitRecord(1)));
    await log.sync();
    const sealedAt = log.durable.offset;
    // Swap the log's descriptor for a read-only one on the same file: the next write fails (EBADF).
    const inside = log as unknown as { fd: number };
    closeSync(inside.fd);
    inside.fd = openSync(segmentPath(db, 1), 'r');
    log.append(JSON.stringify(hitRecord(2)));
    await expect(log.sync()).rejects.toThrow(/Hit log write failed/);
    log.append(JSON.stringify(hitRecord(3)));
    await log.sync();
    expect(log.durable.segment).toBe(2);
    expect(log.sealed.get(1)).toBe(sealedAt);
    await log.flush();
    log.close();
    expect(readAll(db).map((r) => r[1])).toEqual([hitRecord(1)[1], hitRecord(3)[1]]);
  });
});

describe('record text', () => {
  it('parses back to what JSON.stringify of the record parses to, in ASCII only, whatever the strings hold', () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.constantFrom('a"b', 'a\\b', '\u0000\n\t', '\ud800', 'é ü — 😀', '<script>'));
    const maybe = fc.option(text, { nil: null });
    fc.assert(
      fc.property(
        fc.record({
          id: text,
          account: text,
          tracker: text,
          reason: text,
          via: maybe,
          ua: maybe,
          accept: fc.option(text, { nil: undefined }),
          referer: fc.option(maybe, { nil: undefined }),
          org: maybe,
          at: fc.oneof(fc.integer(), fc.double()),
          frozen: fc.boolean(),
          client: fc.option(fc.record({ name: maybe, os: maybe, device: maybe }), { nil: null }),
          geo: fc.option(fc.record({ country: maybe, region: maybe, city: maybe }), { nil: null }),
        }),
        (v) => {
          const network = { prefix: '203.0.113.0/24', family: 4 as const, asn: 64500, org: v.org };
          const headers: HitSignals['headers'] = {};
          if (v.accept !== undefined) headers.accept = v.accept;
          if (v.referer !== undefined) headers.referer = v.referer;
          const signals: HitSignals = { at: v.at, method: 'GET', userAgent: v.ua, headers, network: v.frozen ? Object.freeze(network) : network };
          const classification = { kind: 'open' as const, via: v.via, reason: v.reason, client: v.client };
          const geo = v.geo && (v.frozen ? Object.freeze(v.geo) : v.geo);
          const record: HitRecord = [0, v.id, v.account, v.tracker, 'open', v.via, v.reason, v.client, geo, signals];
          const text = encodeHitRecord(v.id, v.account, v.tracker, classification, geo, signals);
          expect(text).toMatch(/^[\x00-\x7f]*$/);
          expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(record)));
          // Encoded twice (the second time from the caches of repeated texts and frozen objects): the same text.
          expect(encodeHitRecord(v.id, v.account, v.tracker, classification, geo, signals)).toBe(text);
        },
      ),
      { numRuns: 2000 },
    );
    // A signals object of another shape (an extra field) is still written whole.
    const odd = { ...signals(1), extra: 'kept' } as HitSignals;
    expect(JSON.parse(encodeHitRecord('a', 'b', 'c', { kind: 'bot', via: null, reason: 'r', client: null }, null, odd))[9].extra).toBe('kept');
  });
});

describe('recycled segments', () => {
  it('writes a new segment over an applied one, and never reads the old frames as its own', async () => {
    // Below 1 MB segments no zero-filled spare is prepared, so the second log must take the recycled file.
    const first = new HitLog(db, 1, () => undefined, { segmentBytes: 1 << 19 });
    // Two frames of one record each; the new segment's first frame will be exactly as long as the first,
    // so the second old frame starts right where the new data ends — only the checksum's seed tells it apart.
    first.append(JSON.stringify(hitRecord(1)));
    await first.sync();
    first.append(JSON.stringify(hitRecord(2)));
    await first.sync();
    await first.flush();
    first.close();
    recycleSegment(db, 1);
    expect(listSegments(db)).toEqual([]);
    expect(listFree(db)).toHaveLength(1);

    const second = new HitLog(db, 2, () => undefined, { segmentBytes: 1 << 19 });
    second.append(JSON.stringify(hitRecord(3)));
    await second.sync();
    await second.flush();
    second.close();
    // The free file became segment 2: its old bytes are still there, past the new frame.
    expect(listFree(db)).toHaveLength(0);
    expect(statSync(segmentPath(db, 2)).size).toBeGreaterThan(second.durable.offset);
    const old = readFileSync(segmentPath(db, 2)).subarray(second.durable.offset, second.durable.offset + 64);
    expect(old.some((b) => b !== 0)).toBe(true);
    expect(readAll(db).map((r) => r[1])).toEqual([hitRecord(3)[1]]);
  });

  it('keeps no hit in a log file much past an hour: old free files are deleted, an old segment is retired', async () => {
    const log = new HitLog(db, 1, () => undefined, { maxAgeMs: 50 });
    log.append(JSON.stringify(hitRecord(1)));
    await log.sync();
    const stale = `${db}-hits.free.77`;
    writeFileSync(stale, 'old hits');
    utimesSync(stale, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    await new Promise((r) => setTimeout(r, 80));
    log.retireOld();
    expect(existsSync(stale)).toBe(false);
    expect(log.sealed.get(1)).toBeGreaterThan(0);
    expect(log.durable).toEqual({ segment: 2, offset: 0 });
    await log.flush();
    log.close();
  });
});

describe('replay on start', () => {
  it('puts every logged hit in the database after an unclean stop, ignores a torn tail, and clears the log', async () => {
    await makeTracker();
    // What a server killed before its worker applied them leaves behind: two segments, the last one torn.
    const log = new HitLog(db, 7, () => undefined, { segmentBytes: 2048 });
    for (let i = 0; i < 30; i++) {
      log.append(JSON.stringify(hitRecord(i)));
      if (i % 4 === 3) log.append(JSON.stringify([1, TRACKER, ACCOUNT]));
      await log.sync();
    }
    // A hit for a tracker that does not exist is skipped, as the pixel would have.
    log.append(JSON.stringify(hitRecord(99, 'TrackerThatIsNotThere1')));
    await log.sync();
    await log.flush();
    log.close();
    const last = listSegments(db).at(-1)!;
    expect(last).toBeGreaterThan(7);
    appendFileSync(segmentPath(db, last), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 91]));

    const store = await openSqliteStore(db);
    try {
      expect(listSegments(db)).toEqual([last + 1]);
      const hits = await store.trackerHits(ACCOUNT, TRACKER);
      expect(hits.map((h) => h.hit.id)).toEqual(Array.from({ length: 30 }, (_, i) => hitRecord(i)[1]));
      expect(hits[0]!.signals).toEqual(signals(1_790_000_000_000));
      expect(hits[0]!.hit).toMatchObject({ kind: 'open', network: { prefix: '203.0.113.0/24', asn: 64500, org: 'Example Net' }, geo: { country: 'DE' } });
      expect((await store.getTracker(ACCOUNT, TRACKER))!.dropped).toBe(7);
      const feed = await store.events(ACCOUNT, null, 100);
      expect(feed.events).toHaveLength(30);
    } finally {
      await store.close();
    }
    // Applied once only: a second start finds nothing more to replay.
    const again = await openSqliteStore(db);
    try {
      expect((await again.trackerHits(ACCOUNT, TRACKER)).length).toBe(30);
    } finally {
      await again.close();
    }
  });

  it('answers recordHits only once durable, applies them before any read, and leaves no log after close', async () => {
    await makeTracker();
    const store = await openSqliteStore(db);
    const outcomes = await store.recordHits(
      Array.from({ length: 50 }, (_, i) => {
        const r = hitRecord(i);
        return { id: r[1], account: ACCOUNT, tracker: TRACKER, signals: r[9], classification: { kind: 'open' as const, via: null, reason: r[6], client: null }, geo: r[8] };
      }),
    );
    expect(outcomes).toEqual(Array(50).fill('stored'));
    // Durable before the answer: in the log (the segment being written stays until close, applied or not).
    expect(readAll(db).filter((r) => r[0] === 0)).toHaveLength(50);
    expect((await store.events(ACCOUNT, null, 100)).events).toHaveLength(50);
    await store.close();
    // Applied segments are kept only as free files for reuse, never as segments to replay.
    expect(listSegments(db)).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.includes('-hits.') && !/-hits\.(free\.\d+|spare|lock)$/.test(f))).toEqual([]);
    expect(existsSync(db)).toBe(true);
  });
});

describe('ingest worker', () => {
  it('is restarted when it dies, and applies what was logged meanwhile exactly once', async () => {
    await makeTracker();
    const errors: string[] = [];
    const applied: string[][] = [];
    const { ingest, next } = await IngestWorker.start(db, (accounts) => applied.push(accounts), (message) => errors.push(message));
    const log = new HitLog(db, next, () => ingest.kick());
    ingest.attach(log);
    try {
      log.append(JSON.stringify(hitRecord(1)));
      await log.sync();
      await ingest.barrier();
      // The worker dies (as on an uncaught error); hits keep being logged meanwhile.
      await (ingest as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
      for (let i = 2; i <= 5; i++) log.append(JSON.stringify(hitRecord(i)));
      await log.sync();
      // Logged, durable, and waiting for the worker's restart (a second away): the backlog says so.
      expect(ingest.pendingBytes()).toBeGreaterThan(4 * 200);
      const started = performance.now();
      await ingest.barrier();
      // In the database itself (not replayed by a later start): the restarted worker applied them.
      const reader = new Database(db, { readonly: true });
      const n = (reader.prepare('SELECT count(*) AS n FROM hits').get() as { n: number }).n;
      reader.close();
      expect(n).toBe(5);
      expect(ingest.pendingBytes()).toBe(0);
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(applied.length).toBeGreaterThanOrEqual(2);
    } finally {
      await log.flush();
      await ingest.close();
      log.close();
    }
    const store = await openSqliteStore(db);
    try {
      expect((await store.trackerHits(ACCOUNT, TRACKER)).map((h) => h.hit.id)).toEqual([1, 2, 3, 4, 5].map((i) => hitRecord(i)[1]));
    } finally {
      await store.close();
    }
  });
});

describe('backlog bound', () => {
  const MAX = 4096;

  /** A worker with a 4 KB bound, killed (and restarted a second later unless `forGood`), and 40 hits logged meanwhile. */
  async function behind(errors: string[], forGood: boolean): Promise<{ ingest: IngestWorker; log: HitLog }> {
    await makeTracker();
    const { ingest, next } = await IngestWorker.start(db, () => undefined, (message) => errors.push(message), MAX);
    const log = new HitLog(db, next, () => ingest.kick());
    ingest.attach(log);
    // Within the bound: no wait at all.
    expect(ingest.room()).toBeNull();
    // As if every restart failed.
    if (forGood) (ingest as unknown as { restartLater(): void }).restartLater = () => undefined;
    await (ingest as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    for (let i = 1; i <= 40; i++) log.append(JSON.stringify(hitRecord(i)));
    await log.sync();
    expect(ingest.pendingBytes()).toBeGreaterThan(MAX);
    return { ingest, log };
  }

  it('holds new hits back while the log not yet applied is past its bound, until the worker has caught up', async () => {
    const errors: string[] = [];
    const { ingest, log } = await behind(errors, false);
    try {
      const started = performance.now();
      let resumed = false;
      const room = ingest.room()?.then(() => (resumed = true));
      expect(room).toBeDefined();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(resumed).toBe(false);
      await room;
      // Released by the restarted worker's progress (back under half the bound), not by the stall's 5 s timeout.
      expect(ingest.pendingBytes()).toBeLessThanOrEqual(MAX / 2);
      expect(performance.now() - started).toBeLessThan(4_000);
      expect(errors.filter((e) => e.includes('past its bound'))).toEqual([]);
    } finally {
      await log.flush();
      await ingest.close();
      log.close();
    }
  });

  it('lets the held hits go after 5 s, with one message, when the worker is gone for good, so a pixel is still answered', async () => {
    const errors: string[] = [];
    const { ingest, log } = await behind(errors, true);
    try {
      const started = performance.now();
      const stalls = [ingest.room(), ingest.room(), ingest.room()];
      expect(stalls.every((stall) => stall !== null)).toBe(true);
      await Promise.all(stalls);
      const waited = performance.now() - started;
      expect(waited).toBeGreaterThan(4_500);
      expect(waited).toBeLessThan(7_000);
      expect(errors.filter((e) => e.includes('past its bound'))).toHaveLength(1);
      expect(ingest.pendingBytes()).toBeGreaterThan(MAX);
    } finally {
      await log.flush();
      log.close();
    }
  }, 15_000);
});

describe('classifier context', () => {
  it("waits for a tracker's own logged hits, not for the whole backlog", async () => {
    await makeTracker();
    const store = await openSqliteStore(db);
    try {
      const other = 'TrackerForHitLog0002';
      expect(await store.putTracker({ account: ACCOUNT, tracker: other, state: 'sent', sentAt: 1_790_000_000_000, now: 1_790_000_000_000 })).not.toBeNull();
      const r = hitRecord(1);
      await store.recordHits([{ id: r[1], account: ACCOUNT, tracker: TRACKER, signals: r[9], classification: { kind: 'open', via: null, reason: r[6], client: null }, geo: null }]);
      // The log is applied 20 ms after the last hit when quiet: another tracker's context does not ask for it sooner.
      expect(await store.trackerContext(ACCOUNT, other, 20)).toMatchObject({ prior: [] });
      expect(store.pendingBytes!()).toBeGreaterThan(0);
      // This tracker's own context waits for its hit.
      expect((await store.trackerContext(ACCOUNT, TRACKER, 20))!.prior).toHaveLength(1);
      expect(store.pendingBytes!()).toBe(0);
    } finally {
      await store.close();
    }
  });
});

describe('one owner per database', () => {
  it('refuses a second server on a database in use, lets a tool read alongside it, and frees it on close', async () => {
    await makeTracker();
    const owner = await openSqliteStore(db);
    try {
      await expect(openSqliteStore(db)).rejects.toThrow(/in use by another OpenPing server \(it holds .*openping\.db-hits\.lock\); stop that one first/);
      const tool = await openSqliteStore(db, { alongsideServer: true });
      try {
        expect(await tool.getTracker(ACCOUNT, TRACKER)).toMatchObject({ tracker: TRACKER });
        const r = hitRecord(1);
        await expect(
          tool.recordHits([{ id: r[1], account: ACCOUNT, tracker: TRACKER, signals: r[9], classification: { kind: 'open', via: null, reason: r[6], client: null }, geo: null }]),
        ).rejects.toThrow(/only the server records hits/);
      } finally {
        await tool.close();
      }
      // The tool's close leaves the owner's lock alone.
      await expect(openSqliteStore(db)).rejects.toThrow(/in use by another OpenPing server/);
    } finally {
      await owner.close();
    }
    // Closed, the lock is free again (the file stays: see HitLogLock).
    await (await openSqliteStore(db)).close();
  });

  it('takes the place of a lock file of earlier versions, which held a process id', async () => {
    await makeTracker();
    // Process 1: in a container, the new server itself.
    writeFileSync(`${db}-hits.lock`, '1\n');
    const store = await openSqliteStore(db);
    try {
      await expect(openSqliteStore(db)).rejects.toThrow(/in use by another OpenPing server/);
    } finally {
      await store.close();
    }
  });
});
