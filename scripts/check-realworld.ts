/**
 * Checks the classifier against addresses sampled from published ranges that
 * nobody on this project wrote (a `net-cases.json` of the shape
 * `{ cases: [{ network, cidr, ip, ua, uaKind, expect: HitKind[], source }] }`).
 * Not part of `npm test`: the samples live outside the repository.
 *
 *   npx tsx scripts/check-realworld.ts <path/to/net-cases.json> [--verbose]
 *
 * Exits 1 when fewer than 98 % get an accepted kind (issue 14's target).
 * Each case is one fetch an hour after sending (so timing rules do not decide
 * it); its address goes through the server's own lookup (the kept /24 or /48,
 * its AS) exactly as at ingest. Prints the share with an accepted kind, per
 * network and user-agent, and the wrong ones grouped by what they got.
 */
import { readFileSync } from 'node:fs';
import { classify } from '../backend/classify/index.ts';
import type { HitKind } from '../backend/classify/types.ts';
import { loadIpData, lookupNetwork } from '../backend/ipdata/index.ts';

interface NetCase {
  network: string;
  cidr: string;
  ip: string;
  ua: string | null;
  uaKind: string;
  expect: HitKind[];
  source?: string;
}

const HOUR = 3_600_000;
/** Issue 14: addresses from published ranges, with the user agent each system sends, get the right kind. */
const TARGET = 0.98;
const SENT_AT = Date.UTC(2026, 11, 1, 9);

async function main(argv: string[]): Promise<number> {
  const path = argv.find((a) => !a.startsWith('--'));
  const verbose = argv.includes('--verbose');
  if (!path) {
    console.error('Usage: npx tsx scripts/check-realworld.ts <net-cases.json> [--verbose]');
    return 2;
  }
  const data = JSON.parse(readFileSync(path, 'utf8')) as { cases?: NetCase[] };
  if (!Array.isArray(data.cases)) {
    console.error(`${path}: no "cases" array`);
    return 2;
  }
  await loadIpData();
  const groups = new Map<string, { right: number; total: number }>();
  const wrong = new Map<string, string[]>();
  let right = 0;
  for (const c of data.cases) {
    const network = lookupNetwork(c.ip);
    if (!network) throw new Error(`${c.ip} is not an address`);
    const got = classify(
      { at: SENT_AT + HOUR, method: 'GET', userAgent: c.ua, headers: {}, network },
      { state: 'sent', sentAt: SENT_AT, selfViews: [], prior: [] },
    );
    const ok = c.expect.includes(got.kind);
    const key = `${c.network} / ${c.uaKind}`;
    const g = groups.get(key) ?? { right: 0, total: 0 };
    g.total++;
    groups.set(key, g);
    if (ok) {
      g.right++;
      right++;
    } else {
      const why = `${key}: expected ${c.expect.join('|')}, got ${got.kind}${got.via ? ` via ${got.via}` : ''}`;
      const list = wrong.get(why) ?? [];
      list.push(`${c.ip} (${network.prefix} AS${network.asn ?? '-'} ${network.org ?? ''}) — ${got.reason}`);
      wrong.set(why, list);
    }
  }
  const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)}%`;
  console.log(`${path}: ${right} of ${data.cases.length} right kind (${pct(right, data.cases.length)})\n`);
  for (const [key, g] of [...groups].sort()) console.log(`  ${key.padEnd(44)} ${String(g.right).padStart(4)}/${String(g.total).padEnd(4)} ${pct(g.right, g.total)}`);
  if (wrong.size > 0) console.log('\nWrong:');
  for (const [why, list] of wrong) {
    console.log(`  ${why} (${list.length})`);
    for (const line of verbose ? list : list.slice(0, 3)) console.log(`    ${line}`);
  }
  if (right < TARGET * data.cases.length) {
    console.log(`\nBelow the target of ${(TARGET * 100).toFixed(0)} %.`);
    return 1;
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
