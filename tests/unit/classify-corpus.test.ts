/**
 * The labelled corpus through classify() directly, with the server's real
 * offline ASN lookup. The same corpus goes through the HTTP API in
 * tests/server/classify-corpus.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { classify } from '../../backend/classify/index.ts';
import { HIT_KINDS, OPEN_KINDS } from '../../backend/classify/types.ts';
import { loadIpData, lookupNetwork } from '../../backend/ipdata/index.ts';
import {
  CORPUS,
  compareRules,
  corpusFetches,
  formatComparison,
  formatConfusion,
  runCorpus,
  type CorpusRun,
} from '../fixtures/classify-corpus.ts';

let runs: CorpusRun[];

beforeAll(async () => {
  await loadIpData();
  runs = runCorpus(classify, lookupNetwork);
}, 60_000);

describe('classification corpus (direct)', () => {
  it('uses addresses whose kept prefix the offline data puts in the AS each case needs', () => {
    for (const run of runs) expect(run.signals.network.asn, `${run.case.id} ${run.fetch.ip}`).toBe(run.fetch.asn);
  });

  it('covers every kind, every via, IPv4 and IPv6, HEAD and a missing user-agent', () => {
    const fetches = corpusFetches().map((x) => x.fetch);
    for (const kind of HIT_KINDS) expect(fetches.some((f) => f.expect.kind === kind), kind).toBe(true);
    const vias = new Set(fetches.map((f) => f.expect.via));
    for (const via of ['gmail-proxy', 'yahoo-proxy', 'apple-mpp', 'gmail-prefetch', 'microsoft-defender', 'proofpoint', 'mimecast', 'barracuda', 'microsoft-office']) {
      expect(vias, via).toContain(via);
    }
    expect(fetches.some((f) => f.ip.includes(':'))).toBe(true);
    expect(fetches.some((f) => !f.ip.includes(':'))).toBe(true);
    expect(fetches.some((f) => f.method === 'HEAD')).toBe(true);
    expect(fetches.some((f) => f.ua === null)).toBe(true);
    expect(new Set(CORPUS.map((c) => c.id)).size).toBe(CORPUS.length);
    for (const c of CORPUS) expect(c.source.trim(), c.id).not.toBe('');
  });

  it('counts every hit that should be an open, and no machine hit', () => {
    const missed = runs.filter((r) => OPEN_KINDS.has(r.fetch.expect.kind) && !OPEN_KINDS.has(r.got.kind));
    const falseOpens = runs.filter((r) => !OPEN_KINDS.has(r.fetch.expect.kind) && OPEN_KINDS.has(r.got.kind));
    expect(missed.map((r) => `${r.case.id}: ${r.got.kind} — ${r.got.reason}`)).toEqual([]);
    expect(falseOpens.map((r) => `${r.case.id}: ${r.got.reason}`)).toEqual([]);
  });

  it('gets at least 95% of kinds exactly right, and prints the confusion table and the rules side by side', () => {
    const pairs = runs.map((r) => ({ expected: r.fetch.expect.kind, got: r.got.kind }));
    console.info(`${formatConfusion(pairs)}\n\n${formatComparison(compareRules(runs))}`);
    const right = pairs.filter((p) => p.expected === p.got).length;
    expect(right / pairs.length).toBeGreaterThanOrEqual(0.95);
  });

  it('names the intermediary of each hit as labelled', () => {
    const wrong = runs.filter((r) => r.got.kind === r.fetch.expect.kind && r.got.via !== r.fetch.expect.via);
    expect(wrong.map((r) => `${r.case.id}: via ${r.got.via}, labelled ${r.fetch.expect.via}`)).toEqual([]);
  });

  it('beats each rule other trackers use on precision without losing recall', () => {
    const scores = compareRules(runs);
    const openping = scores.find((s) => s.rule === 'OpenPing')!;
    for (const baseline of scores.filter((s) => s.rule !== 'OpenPing')) {
      expect(openping.precision, baseline.rule).toBeGreaterThan(baseline.precision);
      expect(openping.recall, baseline.rule).toBeGreaterThanOrEqual(baseline.recall);
    }
  });
});
