/**
 * What the header sanitiser (backend/sanitize.ts) costs per hit: every kept
 * header of the corpus fetches, cycled (steady state: its cache answers), the
 * same values made new on every call (the cache never answers), and
 * 512-character values built to make a scan go far (the pixel cuts headers to
 * 512 before sanitising).
 */
import { sanitizeHeader, type KeptHeader } from '../../backend/sanitize.ts';
import { classify } from '../../backend/classify/index.ts';
import { loadIpData, lookupNetwork } from '../../backend/ipdata/index.ts';
import { runCorpus } from '../fixtures/classify-corpus.ts';

/** Makes every value new, so the sanitiser's cache never answers. */
let serial = 0;
const fresh = (value: string) => `${value} ${++serial}`;

function perCall(label: string, n: number, body: (i: number) => unknown): number {
  let best = Number.POSITIVE_INFINITY;
  let sink = 0;
  for (let round = 0; round < 5; round++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) if (body(i)) sink++;
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1000 / n);
  }
  console.log(`${label.padEnd(62)} ${best.toFixed(3).padStart(8)} µs  (best of 5 × ${n.toLocaleString('en')}${sink < 0 ? '' : ''})`);
  return best;
}

export default async function sanitizeBench(): Promise<void> {
  await loadIpData();
  const runs = runCorpus(classify, lookupNetwork);
  const hits = runs.map((r) => {
    const h = r.signals.headers;
    return [
      ['user-agent', r.signals.userAgent],
      ['accept', h.accept ?? null],
      ['accept-language', h.acceptLanguage ?? null],
      ['accept-encoding', h.acceptEncoding ?? null],
      ['referer', h.referer ?? null],
      ['via', h.via ?? null],
      ['from', h.from ?? null],
    ] as Array<[KeptHeader, string | null]>;
  });
  perCall('every kept header of a corpus hit (per hit), values seen before', 100_000, (i) => {
    for (const [name, value] of hits[i % hits.length]!) sanitizeHeader(name, value);
    return true;
  });
  // Values never seen before (the cache misses every time): a number makes each one new.
  perCall('every kept header of a corpus hit (per hit), all new values', 20_000, (i) => {
    for (const [name, value] of hits[i % hits.length]!) sanitizeHeader(name, value === null ? null : fresh(value));
    return true;
  });
  const chrome = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
  perCall('a Chrome user-agent, new every time', 20_000, () => sanitizeHeader('user-agent', fresh(chrome)));
  for (const [label, value] of [
    ['512 × "a:" pairs', 'a:'.repeat(256)],
    ['512 × "["', '['.repeat(512)],
    ['512 × "0."', '0.'.repeat(256)],
    ['512 letters, no delimiter', 'a'.repeat(512)],
    ['512 × "a@"', 'a@'.repeat(256)],
    ['512 × "a://"', 'a://'.repeat(128)],
  ] as const) {
    perCall(`worst case: ${label}`, 2_000, () => sanitizeHeader('user-agent', fresh(value)));
  }
  console.log(`\ncorpus: ${hits.length} fetches cycled`);
}
