/**
 * The wire contract's reason codes (contract/reasons.ts): every reason the
 * classifier gives carries a code whose template words exactly its sentence,
 * and a stored sentence (hits kept before the codes) is named back to the same
 * code and parameters.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { classify } from '../../backend/classify/index.ts';
import { loadIpData, lookupNetwork } from '../../backend/ipdata/index.ts';
import { codedReason, formatReason, parseReason, REASON_CODES, reasonParamNames, SECONDS_PARAMS } from '../../contract/index.ts';
import { runCorpus, type CorpusRun } from '../fixtures/classify-corpus.ts';

let runs: CorpusRun[];
beforeAll(async () => {
  await loadIpData();
  runs = runCorpus(classify, lookupNetwork);
}, 60_000);

/** Parameters as real ones look: names with spaces and apostrophes, and seconds 0, 1 and many. */
function sampleParams(code: (typeof REASON_CODES)[number], seconds: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const name of reasonParamNames(code)) params[name] = SECONDS_PARAMS.has(name) ? seconds : `O'Neil & Co. (${name}), Inc.`;
  return params;
}

describe('reason codes', () => {
  it('word each code and name the sentence back to the same code and parameters', () => {
    for (const code of REASON_CODES) {
      for (const seconds of ['0', '1', '37']) {
        const params = sampleParams(code, seconds);
        const sentence = formatReason(code, params);
        expect(sentence, code).not.toMatch(/[{}]/);
        expect(parseReason(sentence), sentence).toEqual({ reasonCode: code, reasonParams: params });
      }
    }
  });

  it('give every classified hit of the corpus a code whose wording is its reason', () => {
    const seen = new Set<string>();
    for (const run of runs) {
      const { reason, reasonCode, reasonParams } = run.got;
      expect(formatReason(reasonCode, reasonParams), run.case.id).toBe(reason);
      expect(codedReason(reason), run.case.id).toEqual({ reasonCode, reasonParams });
      seen.add(reasonCode);
    }
    // The corpus is broad: most codes occur in it.
    expect(seen.size).toBeGreaterThanOrEqual(15);
  });

  it('name the sentences the classifier wrote before the codes existed', () => {
    // Worded by backend/classify/index.ts before reason codes (git show 741445c:backend/classify/index.ts).
    expect(codedReason('A repeat of the fetch less than a second earlier from the same place — counted once.'))
      .toEqual({ reasonCode: 'duplicate', reasonParams: { seconds: '0' } });
    expect(codedReason('Opened in Outlook on Windows.')).toEqual({ reasonCode: 'client-open-os', reasonParams: { client: 'Outlook', os: 'Windows' } });
    expect(codedReason('Claimed to be Gmail\'s image proxy but came from an unknown network, not Google\'s own network — an imitation, not a person.'))
      .toEqual({ reasonCode: 'forged-unknown', reasonParams: { claimed: 'Gmail\'s image proxy', owner: 'Google' } });
    expect(codedReason('Fetched from a data centre (Amazon.com, Inc.), where scanners and scripts run — not a person reading mail.'))
      .toEqual({ reasonCode: 'hosting', reasonParams: { org: 'Amazon.com, Inc.' } });
  });

  it('leave a sentence no template words without a code', () => {
    expect(codedReason('Opened.')).toEqual({ reasonCode: null, reasonParams: {} });
    expect(codedReason('')).toEqual({ reasonCode: null, reasonParams: {} });
  });

  it('refuse to word a code without its parameters', () => {
    expect(() => formatReason('tool', {})).toThrow(/name/);
  });
});
