/**
 * The ASN table is read through its file (backend/ipdata/asn.ts), not held
 * (issue 15, item 8): the answers of the CSV it is made from, and about a
 * megabyte held instead of the ~13 MB of arrays and organisation names.
 */
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { AsnTable, loadAsnTable, lookupAsn } from '../../backend/ipdata/asn.ts';
import type { ParsedIp } from '../../backend/ipdata/ip.ts';

setFlagsFromString('--expose-gc');
const fullGc = runInNewContext('gc') as () => void;
/** A full collection; buffers' memory is released by a sweeper after it, so twice with a turn between. */
async function gc(): Promise<void> {
  fullGc();
  await new Promise((resolve) => setImmediate(resolve));
  fullGc();
}
const dir = dirname(createRequire(import.meta.url).resolve('@ip-location-db/asn/package.json'));

const v4 = (n: number): ParsedIp => ({ family: 4, bytes: Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255) });
/** The first address of the /48 numbered `n` (the upper 48 bits). */
const v6 = (n: bigint): ParsedIp => {
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 6; i++) bytes[i] = Number((n >> BigInt(40 - 8 * i)) & 0xffn);
  return { family: 6, bytes };
};

/** Every `every`-th row of a CSV of the package, as the package states it. */
async function sampleRows(file: string, every: number): Promise<Array<{ start: bigint; end: bigint; asn: number; org: string }>> {
  const rows = [];
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(join(dir, file), 'utf8') })) {
    if (n++ % every !== 0 || line === '') continue;
    const [start, end, asn] = line.split(',');
    let org = line.split(',').slice(3).join(',');
    if (org.startsWith('"')) org = org.slice(1, -1).replaceAll('""', '"');
    rows.push({ start: BigInt(start!), end: BigInt(end!), asn: Number(asn), org });
  }
  return rows;
}

describe('the ASN table', () => {
  it('holds about a megabyte, not the whole table', async () => {
    // On a fresh checkout this converts the CSV first; what that drops is collected before `after`.
    await gc();
    const before = process.memoryUsage();
    const table = await loadAsnTable();
    for (let i = 0; i < 20_000; i++) lookupAsn(table, v4(Math.imul(i + 1, 0x9e3779b1) >>> 0));
    await gc();
    const after = process.memoryUsage();
    const held = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
    expect(held).toBeLessThan(3 * 1024 * 1024);
    expect(table).toBeDefined();
  }, 120_000);

  it('answers for the first and last address of IPv4 ranges as the CSV says, and nothing just outside a gap', async () => {
    const table = await loadAsnTable();
    const rows = await sampleRows('asn-ipv4-num.csv', 37);
    expect(rows.length).toBeGreaterThan(5_000);
    for (const row of rows) {
      const expected = { asn: row.asn, org: row.org };
      expect(lookupAsn(table, v4(Number(row.start))), `${row.start}`).toEqual(expected);
      expect(lookupAsn(table, v4(Number(row.end))), `${row.end}`).toEqual(expected);
    }
    // 0.0.0.0 and 10.0.0.0 are in no range.
    expect(lookupAsn(table, v4(0))).toBeNull();
    expect(lookupAsn(table, v4(0x0a000000))).toBeNull();
  }, 120_000);

  it('answers for the /48s inside IPv6 ranges as the CSV says', async () => {
    const table = await loadAsnTable();
    const rows = await sampleRows('asn-ipv6-num.csv', 11);
    let checked = 0;
    for (const row of rows) {
      // The /48s whose first address the range holds.
      const first = (row.start + (1n << 80n) - 1n) >> 80n;
      const last = (row.end + 1n) >> 80n;
      if (first >= last) continue;
      const expected = { asn: row.asn, org: row.org };
      expect(lookupAsn(table, v6(first)), `${row.start}`).toEqual(expected);
      expect(lookupAsn(table, v6(last - 1n)), `${row.end}`).toEqual(expected);
      checked++;
    }
    expect(checked).toBeGreaterThan(1_000);
  }, 120_000);

  it('refuses a cut or foreign table file with a sentence naming it', () => {
    expect(() => new AsnTable({ image: Buffer.alloc(64) }, 'a zeroed file')).toThrow('a zeroed file is not an OpenPing ASN table');
  });
});
