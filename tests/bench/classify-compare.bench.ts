/**
 * OpenPing's classifier against the rules other trackers use, on the same
 * labelled corpus (tests/fixtures/classify-corpus.ts): the confusion table of
 * kinds, then precision/recall of opens for "every hit is an open", "isbot
 * says not a bot", "ignore the first 30 s" and OpenPing.
 */
import { classify } from '../../backend/classify/index.ts';
import { loadIpData, lookupNetwork } from '../../backend/ipdata/index.ts';
import { compareRules, formatComparison, formatConfusion, runCorpus } from '../fixtures/classify-corpus.ts';

export default async function classifyCompare(): Promise<void> {
  await loadIpData();
  const runs = runCorpus(classify, lookupNetwork);
  console.log(`corpus: ${runs.length} fetches in ${new Set(runs.map((r) => r.case.id)).size} cases\n`);
  console.log(formatConfusion(runs.map((r) => ({ expected: r.fetch.expect.kind, got: r.got.kind }))));
  console.log('');
  console.log(formatComparison(compareRules(runs)));
}
