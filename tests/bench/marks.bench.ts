/**
 * `npm run bench marks`: the list marks' render time for 100 and 1,000 Gmail-like rows in real
 * Chromium (issue 16: 100 rows within one 16 ms frame), first render and an update in place,
 * median of 15 runs each after 3 warm-ups; then the built scripts' sizes (bundle.bench.ts).
 */
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { findChromium } from '../e2e/chromium';
import bundleSizes from './bundle.bench';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export default async function marksBench(): Promise<void> {
  const bundled = await build({
    entryPoints: ['tests/bench/marks-page.ts'],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'marksBench',
    platform: 'browser',
    logLevel: 'silent',
  });
  const browser = await chromium.launch({ executablePath: findChromium(), headless: true });
  try {
    const page = await browser.newPage();
    await page.setContent('<!doctype html><html><body></body></html>');
    // A plain page has no extension i18n: the words' lookup answers the key (its cost stays in the figure).
    await page.addScriptTag({
      content: "const i18n = { getMessage: (n) => n, getUILanguage: () => 'en' }; globalThis.chrome = { i18n, runtime: {} }; globalThis.browser = globalThis.chrome;",
    });
    await page.addScriptTag({ content: bundled.outputFiles[0]!.text });
    for (const n of [100, 1_000]) {
      const firsts: number[] = [];
      const updates: number[] = [];
      let marks = 0;
      for (let i = 0; i < 18; i++) {
        const r = await page.evaluate((rows) => (window as unknown as { marksBench: { run(n: number): { first: number; update: number; marks: number } } }).marksBench.run(rows), n);
        if (i < 3) continue;
        firsts.push(r.first);
        updates.push(r.update);
        marks = r.marks;
      }
      console.log(`${String(n).padStart(5)} rows (${marks} marked): first render ${median(firsts).toFixed(2)} ms, update ${median(updates).toFixed(2)} ms (median of ${firsts.length})`);
    }
  } finally {
    await browser.close();
  }
  await bundleSizes();
}
