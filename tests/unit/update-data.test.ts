/**
 * `npm run update-data` on saved copies of each published format
 * (tests/fixtures/lists): what it writes is normalised, names its source,
 * date and licence, and loads into the classifier's table; a copy it cannot
 * read leaves the old file alone and is reported.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadLists } from '../../backend/classify/network.ts';
import { listMask, parseListFile } from '../../backend/ipdata/cidr-lists.ts';
import { LIST_SOURCES } from '../../backend/ipdata/list-sources.ts';
import { updateData } from '../../scripts/update-data.ts';

const FIXTURES = new URL('../fixtures/lists/', import.meta.url).pathname;
const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'openping-update-data-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function run(from: string, out: string, only: string[] | null = null) {
  const log: string[] = [];
  const failed = await updateData({
    from, out, only, today: '2026-12-07', log: (l) => log.push(l),
    fetchText: () => Promise.reject(new Error('no fetching in tests')),
  });
  return { failed, log };
}

function read(out: string, name: string) {
  return parseListFile(readFileSync(join(out, `${name}.txt`), 'utf8'), name);
}

describe('npm run update-data --from saved copies', () => {
  it('reads each real format and writes merged, sorted CIDRs with source, date and licence', async () => {
    const out = tempDir();
    const { failed, log } = await run(FIXTURES, out);
    expect(failed, log.join('\n')).toEqual([]);

    // Apple's CSV: the /31s of 172.224.226.32–39 merge into one /29; the /64 and /56 stay (IPv6 after IPv4).
    const relay = read(out, 'icloud-private-relay');
    expect(relay.cidrs).toEqual([
      '104.28.30.0/26', '146.75.136.0/22', '172.224.226.0/27', '172.224.226.32/29',
      '2a02:26f7:b000:4000::/64', '2a04:4e41:275f:1700::/56',
    ]);
    expect(relay.meta).toMatchObject({ source: 'https://mask-api.icloud.com/egress-ip-ranges.csv', retrieved: '2026-12-07' });
    expect(relay.meta.snapshot).toMatch(/icloud-private-relay\.csv/);

    // Google's JSON: dated by its creationTime.
    expect(read(out, 'google').cidrs).toEqual(['8.8.4.0/24', '8.8.8.0/24', '34.0.0.0/15', '66.249.64.0/19', '2001:4860::/32']);
    expect(read(out, 'google').meta.retrieved).toBe('2024-04-25');
    expect(read(out, 'google-cloud').cidrs).toEqual(['34.0.0.0/15', '34.35.0.0/16', '2600:1900:4000::/44']);

    // Microsoft's endpoint sets: every set's ips, deduplicated across sets (sets without ips are fine);
    // 52.96.0.0/14 and 52.100.0.0/14 are one aligned /13.
    expect(read(out, 'microsoft-365').cidrs).toEqual([
      '13.107.6.152/31', '13.107.18.10/31', '20.190.128.0/18', '40.92.0.0/15', '40.96.0.0/13', '40.107.0.0/16',
      '40.126.0.0/18', '52.96.0.0/13', '104.47.0.0/17',
      '2603:1006::/40', '2a01:111:f400::/48', '2a01:111:f403::/48',
    ]);

    // A MISP list, dated by its version, with the sidecar's snapshot note.
    const apple = read(out, 'apple');
    expect(apple.cidrs).toEqual(['17.0.0.0/8', '192.12.74.0/24', '192.42.249.0/24', '204.79.190.0/24']);
    expect(apple.meta).toMatchObject({ retrieved: '2024-10-23', snapshot: 'MISP warning list lists/apple/list.json (test sample)' });

    // A vendor's support page: the CIDRs in its text.
    expect(read(out, 'proofpoint').cidrs).toEqual([
      '62.209.50.0/24', '67.231.144.0/20', '91.209.104.0/24', '208.36.134.0/24', '208.84.64.0/22', '208.86.200.0/22', '209.66.100.64/26',
    ]);

    for (const s of LIST_SOURCES) expect(read(out, s.name).meta.licence.length, s.name).toBeGreaterThan(5);

    // And the classifier loads what was written.
    const { table } = loadLists(pathToFileURL(`${out}/`));
    const bit = (name: string) => 1 << table.names.indexOf(name);
    expect(listMask(table, '172.224.226.0/24') & bit('icloud-private-relay')).not.toBe(0);
    expect(listMask(table, '34.1.2.0/24')).toBe(bit('google') | bit('google-cloud'));
    expect(listMask(table, '2a01:111:f403::/48')).toBe(bit('microsoft-365'));
    expect(listMask(table, '73.162.10.0/24')).toBe(0);
  });

  it('leaves the old file alone and names the list when a saved copy cannot be read', async () => {
    const from = tempDir();
    const out = tempDir();
    cpSync(FIXTURES, from, { recursive: true });
    expect((await run(from, out, ['google'])).failed).toEqual([]);
    const before = readFileSync(join(out, 'google.txt'), 'utf8');

    writeFileSync(join(from, 'google.json'), '{"creationTime": "2026-12-01", "prefixes": [{"ipv4Prefix": "8.8.8.0/33"}]}');
    const broken = await run(from, out, ['google', 'apple']);
    expect(broken.failed).toEqual(['google']);
    expect(broken.log.join('\n')).toMatch(/google: NOT updated — google: "8\.8\.8\.0\/33" is not a CIDR/);
    expect(readFileSync(join(out, 'google.txt'), 'utf8')).toBe(before);
    expect(read(out, 'apple').cidrs.length).toBe(4);

    writeFileSync(join(from, 'google.json'), '{"prefixes": []}');
    expect((await run(from, out, ['google'])).log.join('\n')).toMatch(/no address ranges found/);
    await expect(run(from, out, ['gogle'])).rejects.toThrow(/unknown list "gogle"/);
  });

  it('runs as the npm script', async () => {
    const out = tempDir();
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile('npm', ['run', '--silent', 'update-data', '--', '--from', FIXTURES, '--out', out, '--only', 'apple'], { timeout: 60_000 },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/apple: 4 ranges read \(MISP warning list\), 4 after merging/);
    expect(read(out, 'apple').cidrs).toHaveLength(4);
  }, 60_000);
});
