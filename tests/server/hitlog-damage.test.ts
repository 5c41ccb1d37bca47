/**
 * A damaged hit-log segment (backend/store/hitlog.ts) costs only its damaged
 * bytes: a flipped byte or a bad length in a middle frame, or a frame whose
 * checksum is right but whose contents are not records, is skipped or
 * quarantined; every later frame is applied; the server starts and says how
 * much it skipped; the segment is kept aside as `.corrupt`, not recycled; and
 * retention removes what is kept aside, as it removes old hits.
 */
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { HitLog, listFree, listSegments, readFrames, segmentPath, type HitRecord } from '../../backend/store/hitlog.ts';
import Database from '../../backend/store/sqlite-driver.ts';
import { openSqliteStore } from '../../backend/store/sqlite.ts';
import { createLogger } from '../../backend/log.ts';
import { createServer } from '../../backend/server.ts';

const ACCOUNT = 'AccountForDamage0001';
const TRACKER = 'TrackerForDamage0001';
const FRAMES = 30;
const DAMAGED = 10;

let dir: string;
let db: string;
/** The segment writeSegment wrote. */
let segment: number;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'openping-damage-'));
  db = join(dir, 'openping.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function hitRecord(n: number): HitRecord {
  return [
    0,
    `hit-${String(n).padStart(12, '0')}`,
    ACCOUNT,
    TRACKER,
    'open',
    null,
    'Opened in a mail client.',
    null,
    null,
    { at: Date.now() - 60_000 + n, method: 'GET', userAgent: `damage/${n}`, headers: {}, network: { prefix: '203.0.113.0/24', family: 4, asn: 64500, org: 'Example Net' } },
  ];
}
const idOf = (n: number) => hitRecord(n)[1];

/**
 * What a stopped server leaves behind: the segment the next start replays, with one frame per hit
 * (`extra` adds frames of other texts after hit DAMAGED - 1). Returns where each hit's frame starts and ends.
 */
async function writeSegment(extra: string[] = []): Promise<Array<{ start: number; end: number }>> {
  const store = await openSqliteStore(db);
  await store.createAccount({ id: ACCOUNT, tokenHash: 'hash-of-damage-token', createdAt: 1 });
  await store.putTracker({ account: ACCOUNT, tracker: TRACKER, state: 'sent', sentAt: Date.now() - 3_600_000, now: Date.now() - 3_600_000 });
  await store.close();
  // The segment the next start replays from (the store's close moved past every earlier one).
  const reader = new Database(db, { readonly: true });
  segment = (reader.prepare('SELECT segment FROM hit_log').get() as { segment: number }).segment;
  reader.close();
  // Below 1 MB no spare file is prepared (the folder holds only what the test looks at).
  const log = new HitLog(db, segment, () => undefined, { segmentBytes: 1 << 19 });
  const frames: Array<{ start: number; end: number }> = [];
  for (let i = 0; i < FRAMES; i++) {
    if (i === DAMAGED) {
      for (const text of extra) {
        log.append(text);
        await log.sync();
      }
    }
    const start = log.durable.offset;
    log.append(JSON.stringify(hitRecord(i)));
    await log.sync();
    frames.push({ start, end: log.durable.offset });
  }
  await log.flush();
  log.close();
  return frames;
}

/** Starts the real server on the database; returns the ids stored, the log, and /healthz's status. */
async function start(): Promise<{ ids: string[]; logs: string; health: number; dropped: number }> {
  let logs = '';
  const server = createServer({ port: 0, host: '127.0.0.1', db, publicUrl: 'https://ping.example' }, { logger: createLogger('info', { write: (s: string) => void (logs += s) }) });
  const { url } = await server.listen();
  try {
    const health = (await fetch(`${url}/healthz`)).status;
    const ids = (await server.store.trackerHits(ACCOUNT, TRACKER)).map((h) => h.hit.id);
    const dropped = (await server.store.getTracker(ACCOUNT, TRACKER))!.dropped;
    return { ids, logs, health, dropped };
  } finally {
    await server.close();
  }
}

function keptAside(): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.corrupt'));
}

it('skips a frame with a flipped byte, applies every later frame, says so, and keeps the segment as .corrupt', async () => {
  const frames = await writeSegment();
  const file = segmentPath(db, segment);
  const bytes = readFileSync(file);
  const at = frames[DAMAGED]!.start + 8 + 20;
  bytes[at]! ^= 0x04;
  writeFileSync(file, bytes);

  const { ids, logs, health } = await start();
  expect(health).toBe(200);
  expect(ids).toEqual(Array.from({ length: FRAMES }, (_, i) => i).filter((i) => i !== DAMAGED).map(idOf));
  const size = frames[DAMAGED]!.end - frames[DAMAGED]!.start;
  expect(logs).toMatch(new RegExp(`hit log segment ${segment} is damaged: skipped ${size} bytes .*${FRAMES - DAMAGED - 1} later frames`));
  expect(keptAside()).toEqual([`openping.db-hits.${String(segment).padStart(8, '0')}.corrupt`]);
  // Kept as it was found, not recycled into a free file.
  expect(readFileSync(`${file}.corrupt`).equals(bytes)).toBe(true);
  expect(listSegments(db)).not.toContain(segment);
});

it('skips a frame with a bad length, applies every later frame, and keeps the segment as .corrupt', async () => {
  const frames = await writeSegment();
  const file = segmentPath(db, segment);
  const bytes = readFileSync(file);
  // Longer than the frame, but within the segment: the old reader took the next frames as its payload.
  bytes.writeUInt32LE(bytes.readUInt32LE(frames[DAMAGED]!.start) + 300, frames[DAMAGED]!.start);
  writeFileSync(file, bytes);

  const { ids, logs, health } = await start();
  expect(health).toBe(200);
  expect(ids).toEqual(Array.from({ length: FRAMES }, (_, i) => i).filter((i) => i !== DAMAGED).map(idOf));
  expect(logs).toMatch(new RegExp(`hit log segment ${segment} is damaged: skipped \\d+ bytes`));
  expect(keptAside()).toEqual([`openping.db-hits.${String(segment).padStart(8, '0')}.corrupt`]);
});

it('quarantines frames and records that are not what the log holds, starts, and applies every hit', async () => {
  // Each with a right checksum: texts the log writer framed itself.
  const odd = ['{"unexpected":true}', '5', 'not json at all', '[0,"hit-x","someone",null]', `[1,"${TRACKER}","${ACCOUNT}"],[7]`];
  await writeSegment(odd);

  const { ids, logs, health, dropped } = await start();
  expect(health).toBe(200);
  expect(ids).toEqual(Array.from({ length: FRAMES }, (_, i) => idOf(i)));
  // The one good record among them, a drop, was applied.
  expect(dropped).toBe(1);
  const quarantine = readdirSync(dir).filter((f) => f.startsWith('openping.db-hits.quarantine.'));
  expect(quarantine).toHaveLength(1);
  const entries = readFileSync(join(dir, quarantine[0]!), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { segment: number; reason: string; record?: unknown; text?: string });
  expect(entries.map((e) => ('record' in e ? e.record : e.text))).toEqual([{ unexpected: true }, 5, 'not json at all', [0, 'hit-x', 'someone', null], [7]]);
  for (const e of entries) expect(e).toMatchObject({ segment, reason: expect.any(String) });
  expect(logs).toMatch(new RegExp(`quarantined 5 records of hit log segment ${segment}`));
  expect(keptAside()).toEqual([`openping.db-hits.${String(segment).padStart(8, '0')}.corrupt`]);
});

it('deletes what it kept aside once it is as old as the retention period allows', async () => {
  await writeSegment(['5']);
  const frames = readFileSync(segmentPath(db, segment));
  frames[60]! ^= 0x01;
  writeFileSync(segmentPath(db, segment), frames);
  await start();
  const kept = readdirSync(dir).filter((f) => f.endsWith('.corrupt') || f.includes('-hits.quarantine.'));
  expect(kept).toHaveLength(2);
  // A day's worth of keeping: still there with a 180-day retention; gone once older than it.
  const store = await openSqliteStore(db);
  try {
    await store.deleteHitsBefore(Date.now() - 180 * 86_400_000);
    expect(readdirSync(dir).filter((f) => kept.includes(f))).toEqual(kept);
    const old = new Date(Date.now() - 181 * 86_400_000);
    for (const f of kept) utimesSync(join(dir, f), old, old);
    await store.deleteHitsBefore(Date.now() - 180 * 86_400_000);
    expect(readdirSync(dir).filter((f) => kept.includes(f))).toEqual([]);
  } finally {
    await store.close();
  }
  expect(existsSync(db)).toBe(true);
  expect(listFree(db).every((f) => !f.endsWith('.corrupt'))).toBe(true);
});

it('finds the next whole frame past damage longer than what it reads at once, and a frame longer than that', async () => {
  const log = new HitLog(db, 1, () => undefined, { segmentBytes: 64 << 20 });
  const frames: Array<{ start: number; end: number; ids: string[] }> = [];
  // Small, about 2.2 MB (longer than the 1 MB scanning window), small.
  for (const count of [1, 8000, 1]) {
    const start = log.durable.offset;
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const r = hitRecord(frames.length * 10_000 + i);
      ids.push(r[1]);
      log.append(JSON.stringify(r));
    }
    await log.sync();
    frames.push({ start, end: log.durable.offset, ids });
  }
  await log.flush();
  log.close();
  expect(frames[1]!.end - frames[1]!.start).toBeGreaterThan(2 << 20);
  const file = segmentPath(db, 1);
  /** What readFrames found, without the records themselves (thousands, too many for a failure message). */
  const read = (end: number | null) => {
    const fd = openSync(file, 'r');
    try {
      const { records, offset, torn, done, skips } = readFrames(fd, 1, 0, end);
      return { ids: records.map((r) => r[1]), offset, torn, done, skips: skips.map(({ at, bytes }) => ({ at, bytes })) };
    } finally {
      closeSync(fd);
    }
  };
  const all = [...frames[1]!.ids, ...frames[2]!.ids];
  const bytes = readFileSync(file);
  bytes[frames[0]!.start + 12]! ^= 0x10;
  writeFileSync(file, bytes);
  // The big frame starts inside the first window and ends past it.
  let found = read(null);
  expect({ ...found, ids: found.ids.length }).toEqual({ ids: all.length, offset: frames[2]!.end, skips: [{ at: 0, bytes: frames[0]!.end }], torn: false, done: true });
  expect(found.ids.join() === all.join()).toBe(true);
  // Damage across the big frame: the small one after it lies past several windows.
  bytes[frames[1]!.start + 100_000]! ^= 0x10;
  writeFileSync(file, bytes);
  found = read(null);
  expect(found).toEqual({ ids: frames[2]!.ids, offset: frames[2]!.end, skips: [{ at: 0, bytes: frames[1]!.end }], torn: false, done: true });
  // Nothing whole after the damage: a torn tail when reading to the file's end, damage up to a known end.
  bytes[frames[2]!.start + 20]! ^= 0x10;
  writeFileSync(file, bytes);
  expect(read(null)).toEqual({ ids: [], offset: 0, torn: true, done: false, skips: [] });
  expect(read(frames[2]!.end)).toEqual({ ids: [], offset: frames[2]!.end, torn: false, done: true, skips: [{ at: 0, bytes: frames[2]!.end }] });
});

it('reads on past a zeroed block in the middle of a segment (a lost write)', async () => {
  const log = new HitLog(db, 1, () => undefined, { segmentBytes: 1 << 19 });
  const ends: number[] = [];
  for (let i = 0; i < 40; i++) {
    log.append(JSON.stringify(hitRecord(i)));
    await log.sync();
    ends.push(log.durable.offset);
  }
  await log.flush();
  log.close();
  const file = segmentPath(db, 1);
  const bytes = readFileSync(file);
  // 4 KB of zeros from the start of frame 5 on, as a block the disk never wrote.
  bytes.fill(0, ends[4]!, ends[4]! + 4096);
  writeFileSync(file, bytes);
  const fd = openSync(file, 'r');
  try {
    const read = readFrames(fd, 1, 0, null);
    const firstAfter = ends.findIndex((end) => end > ends[4]! + 4096);
    expect(read.records.map((r) => r[1])).toEqual([...[0, 1, 2, 3, 4], ...Array.from({ length: 40 - firstAfter - 1 }, (_, i) => firstAfter + 1 + i)].map(idOf));
    expect(read.skips).toEqual([{ at: ends[4], bytes: ends[firstAfter]! - ends[4]!, framesBefore: 5 }]);
    expect(read).toMatchObject({ torn: false, done: true, offset: ends[39] });
  } finally {
    closeSync(fd);
  }
});
