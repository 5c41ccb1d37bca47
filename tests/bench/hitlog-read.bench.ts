/**
 * Reading the SQLite store's hit log back (backend/store/hitlog.ts readFrames),
 * as the ingest worker and a start-up replay do: records per second for a
 * whole 16 MB segment (every record checked by checkRecord), and what looking
 * past damage costs — a flipped byte in the first frame (the rest is found by
 * scanning forward), and a start-up after a crash in a recycled file, where
 * everything past the last frame (zeros, or old frames) must be ruled out.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeHitRecord, HitLog, readFrames, recycleSegment, segmentPath, SEGMENT_BYTES } from '../../backend/store/hitlog.ts';

const RUNS = 5;

function record(n: number): string {
  return encodeHitRecord(
    `hit-${String(n).padStart(12, '0')}`,
    'BenchAccount00000000000',
    `BenchTracker${String(n % 1000).padStart(10, '0')}`,
    { kind: 'open', via: 'gmail-proxy', reason: 'Fetched by Gmail’s image proxy when the message was opened', client: { name: 'Gmail', os: null, device: null } },
    Object.freeze({ country: 'US', region: 'California', city: 'Mountain View' }),
    {
      at: 1_790_000_000_000 + n,
      method: 'GET',
      userAgent: 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)',
      headers: { accept: 'image/*', acceptLanguage: null, acceptEncoding: 'gzip', referer: null, via: null, from: null },
      network: Object.freeze({ prefix: '66.249.93.0/24', family: 4, asn: 15169, org: 'Google LLC' }),
    },
  );
}

/** Fills segment `segment` to about SEGMENT_BYTES with frames of 100 records; returns the records written. */
async function fillSegment(db: string, segment: number): Promise<number> {
  const log = new HitLog(db, segment, () => undefined);
  let n = 0;
  while (log.durable.segment === segment && log.durable.offset < SEGMENT_BYTES - (1 << 20)) {
    for (let i = 0; i < 100; i++) log.append(record(n++));
    await log.sync();
  }
  await log.flush();
  log.close();
  return n;
}

function timeRead(db: string, segment: number, end: number | null): { ms: number; records: number; skipped: number; torn: boolean } {
  let best = Number.POSITIVE_INFINITY;
  let last = { records: 0, skipped: 0, torn: false };
  for (let run = 0; run < RUNS; run++) {
    const fd = openSync(segmentPath(db, segment), 'r');
    const started = performance.now();
    const read = readFrames(fd, segment, 0, end);
    best = Math.min(best, performance.now() - started);
    closeSync(fd);
    last = { records: read.records.length, skipped: read.skips.reduce((sum, s) => sum + s.bytes, 0), torn: read.torn };
  }
  return { ms: best, ...last };
}

export default async function bench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'openping-bench-hitlog-'));
  const db = join(dir, 'bench.db');
  try {
    const written = await fillSegment(db, 1);
    const size = readFileSync(segmentPath(db, 1)).length;
    const whole = timeRead(db, 1, null);
    console.log(`whole segment: ${(size / 2 ** 20).toFixed(1)} MB, ${whole.records} of ${written} records in ${whole.ms.toFixed(1)} ms (${Math.round(whole.records / (whole.ms / 1000)).toLocaleString('en')} records/s; best of ${RUNS})`);

    const bytes = readFileSync(segmentPath(db, 1));
    bytes[100]! ^= 0x04;
    writeFileSync(segmentPath(db, 1), bytes);
    const damaged = timeRead(db, 1, null);
    console.log(`flipped byte in the first frame: ${damaged.records} records in ${damaged.ms.toFixed(1)} ms, ${damaged.skipped} bytes skipped`);

    // A crash right after a recycled file became the segment being written: one new frame, then what the file held before —
    // the zero-filled spare (free.0, taken first), then segment 1's old frames (free.1).
    bytes[100]! ^= 0x04;
    writeFileSync(segmentPath(db, 1), bytes);
    recycleSegment(db, 1);
    for (const [segment, what] of [
      [2, 'the zero-filled spare'],
      [3, 'old frames of an applied segment'],
    ] as const) {
      const log = new HitLog(db, segment, () => undefined);
      for (let i = 0; i < 100; i++) log.append(record(i));
      await log.sync();
      await log.flush();
      log.close();
      const after = readFileSync(segmentPath(db, segment)).length;
      const tail = timeRead(db, segment, null);
      console.log(`start-up after a crash in a recycled file (${what}, ${(after / 2 ** 20).toFixed(1)} MB): ${tail.records} records in ${tail.ms.toFixed(1)} ms, torn tail: ${tail.torn}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
