/**
 * OpenPing's classifier against the rules other trackers use, on the same
 * labelled corpus (tests/fixtures/classify-corpus.ts): the confusion table of
 * kinds, then precision/recall of opens for "every hit is an open", "isbot
 * says not a bot", "ignore the first 30 s" and OpenPing.
 *
 * Then the real-world user-agents (tests/fixtures/realworld-ua-corpus.json,
 * issue 14): the share of browsers and mail clients counted as opens from a
 * home network, and of crawlers and tools, beside "isbot says not a bot".
 * With OPENPING_UA_CASES=<path to a file of the same shape> (a sample kept
 * outside the repository), the same figures for that file too.
 */
import { isbot } from 'isbot';
import { classify } from '../../backend/classify/index.ts';
import { loadIpData, lookupNetwork } from '../../backend/ipdata/index.ts';
import { compareRules, formatComparison, formatConfusion, runCorpus } from '../fixtures/classify-corpus.ts';
import { formatUaScores, loadUaCases, runUaCases, scoreUaRuns, type UaCase } from '../fixtures/realworld-ua.ts';

function realWorld(label: string, cases: readonly UaCase[]): void {
  const runs = runUaCases(cases, classify, lookupNetwork);
  console.log(`\n${label}: ${cases.length.toLocaleString('en')} user-agents, each fetching 2 h after sending from a home network`);
  console.log(formatUaScores(scoreUaRuns(runs)));
  // isbot alone, as trackers that use it count: everything it does not flag is an open.
  const isbotRuns = runs.map((r) => ({ ...r, open: !isbot(r.case.ua) }));
  const { people, machines } = scoreUaRuns(isbotRuns);
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  console.log(`"isbot says not a bot": browsers + mail clients ${pct(people.openShare)} opens, crawlers + tools ${pct(machines.openShare)} opens`);
}

export default async function classifyCompare(): Promise<void> {
  await loadIpData();
  const runs = runCorpus(classify, lookupNetwork);
  console.log(`corpus: ${runs.length} fetches in ${new Set(runs.map((r) => r.case.id)).size} cases\n`);
  console.log(formatConfusion(runs.map((r) => ({ expected: r.fetch.expect.kind, got: r.got.kind }))));
  console.log('');
  console.log(formatComparison(compareRules(runs)));

  realWorld('real-world corpus (tests/fixtures/realworld-ua-corpus.json)', loadUaCases());
  const extra = process.env.OPENPING_UA_CASES;
  if (extra) realWorld(`OPENPING_UA_CASES (${extra})`, loadUaCases(extra));
}
