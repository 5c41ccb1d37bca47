/**
 * Checks the classifier against real user-agents kept outside the repository
 * (a file of the shape `{ cases: [{ ua, group: crawler|browser|mail, source, name }] }`),
 * as tests/unit/classify-realworld.test.ts does with the corpus in the
 * repository: each a fetch two hours after sending from a home network.
 * Not part of `npm test`: the sample is not in the repository.
 *
 *   npx tsx scripts/check-realworld-ua.ts <path/to/ua-cases.json> [--wrong]
 *
 * Prints the share counted as opens per group and source, the two targets of
 * issue 14 (browsers + mail clients ≥ 99.5%, crawlers + tools ≤ 0.5%), and
 * with --wrong every case on the wrong side. Exits 1 when a target is missed.
 */
import { classify } from '../backend/classify/index.ts';
import { loadIpData, lookupNetwork } from '../backend/ipdata/index.ts';
import { formatUaScores, formatWrong, loadUaCases, runUaCases, scoreUaRuns } from '../tests/fixtures/realworld-ua.ts';

async function main(argv: string[]): Promise<number> {
  const path = argv.find((a) => !a.startsWith('--'));
  if (!path) {
    console.error('Usage: npx tsx scripts/check-realworld-ua.ts <ua-cases.json> [--wrong]');
    return 2;
  }
  const cases = loadUaCases(path);
  await loadIpData();
  const runs = runUaCases(cases, classify, lookupNetwork);
  const scores = scoreUaRuns(runs);
  console.log(`${path}: ${cases.length.toLocaleString('en')} user-agents`);
  console.log(formatUaScores(scores));
  if (argv.includes('--wrong')) console.log(`\non the wrong side:\n${formatWrong(runs)}`);
  return scores.people.openShare >= 0.995 && scores.machines.openShare <= 0.005 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
