/**
 * Issue 14 targets on real user-agents from public fixture lists
 * (tests/fixtures/realworld-ua-corpus.json): from a home network two hours
 * after sending, at least 99.5% of browsers and mail clients count as opens,
 * and at most 0.5% of crawlers and tools do. The figures are printed by
 * `npm run bench classify-compare`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { classify } from '../../backend/classify/index.ts';
import { loadIpData, lookupNetwork } from '../../backend/ipdata/index.ts';
import { HOME_ADDRESSES, formatWrong, loadUaCases, runUaCases, scoreUaRuns, type UaRun } from '../fixtures/realworld-ua.ts';

let runs: UaRun[];

beforeAll(async () => {
  await loadIpData();
  runs = runUaCases(loadUaCases(), classify, lookupNetwork);
}, 60_000);

describe('real-world user-agents (issue 14)', () => {
  it('is a sizeable corpus of every group, each case with a source, fetched from home networks', () => {
    const groups = { crawler: 0, browser: 0, mail: 0 };
    for (const r of runs) {
      groups[r.case.group]++;
      expect(r.case.source, r.case.ua).not.toBe('');
    }
    expect(groups.browser).toBeGreaterThan(3000);
    expect(groups.crawler).toBeGreaterThan(1000);
    expect(groups.mail).toBeGreaterThan(50);
    for (const ip of HOME_ADDRESSES) expect(lookupNetwork(ip)?.asn, ip).not.toBeNull();
  });

  it('counts at least 99.5% of browsers and mail clients as opens', () => {
    const { people } = scoreUaRuns(runs);
    const wrong = runs.filter((r) => r.case.group !== 'crawler' && !r.open);
    expect(people.openShare, `${people.opens}/${people.total}; not opens:\n${formatWrong(wrong)}`).toBeGreaterThanOrEqual(0.995);
  });

  it('counts at most 0.5% of crawlers and tools as opens', () => {
    const { machines } = scoreUaRuns(runs);
    const wrong = runs.filter((r) => r.case.group === 'crawler' && r.open);
    expect(machines.openShare, `${machines.opens}/${machines.total}; opens:\n${formatWrong(wrong)}`).toBeLessThanOrEqual(0.005);
  });
});
