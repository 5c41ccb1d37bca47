/**
 * The Gmail content script in real Chromium on the saved fixture:
 * - how long after a compose opens its Track switch appears (target ≤ 100 ms),
 * - what 200 compose open/close cycles leave behind (DOM nodes, listeners, JS
 *   heap after GC), side by side with the same page without the extension.
 * Prints figures; never passes or fails on them.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { BrowserContext, Page } from 'playwright-core';

const ROUNDS = 40;
const CYCLES = 200;

interface Metrics {
  nodes: number;
  listeners: number;
  heapMb: number;
}

async function metrics(page: Page): Promise<Metrics> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('Performance.enable');
  const { metrics: list } = await cdp.send('Performance.getMetrics');
  const get = (name: string) => list.find((m) => m.name === name)?.value ?? NaN;
  await cdp.detach();
  return { nodes: get('Nodes'), listeners: get('JSEventListeners'), heapMb: get('JSHeapUsedSize') / 1e6 };
}

/** Opens and discards composes; returns the switch latency of each (ms, null without extension). */
async function cycle(page: Page, count: number, expectSwitch: boolean): Promise<number[]> {
  return page.evaluate(
    async ({ count, expectSwitch }) => {
      const latencies: number[] = [];
      for (let i = 0; i < count; i++) {
        const opened = performance.now();
        (document.getElementById('compose-button') as HTMLElement).click();
        const compose = [...document.querySelectorAll('#compose-dock .M9')].pop()!;
        if (expectSwitch) {
          await new Promise<void>((resolve) => {
            if (compose.querySelector('openping-toggle')) return resolve();
            const observer = new MutationObserver(() => {
              if (compose.querySelector('openping-toggle')) {
                observer.disconnect();
                resolve();
              }
            });
            observer.observe(compose, { childList: true, subtree: true });
          });
          latencies.push(performance.now() - opened);
        }
        (compose.querySelector('.oh') as HTMLElement).click();
        // Let the page and the extension see the close before the next round.
        await new Promise((r) => setTimeout(r, 0));
      }
      return latencies;
    },
    { count, expectSwitch },
  );
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const fmt = (m: Metrics) => `${m.nodes} nodes, ${m.listeners} listeners, ${m.heapMb.toFixed(2)} MB heap`;

/** The Gmail content script's own modules (what entrypoints/gmail.content.ts pulls in from the project). */
const CONTENT_MODULES = [
  'entrypoints/gmail.content.ts',
  'lib/compose.ts',
  'lib/pixel.ts',
  'lib/webmail/gmail.ts',
  'lib/webmail/gmail-selectors.ts',
  'components/TrackToggle.tsx',
];

export default async function composeBench(): Promise<void> {
  const timers = CONTENT_MODULES.map((file) => [file, (readFileSync(file, 'utf8').match(/\bset(Interval|Timeout)\s*\(/g) ?? []).length] as const);
  console.log(`Timer calls (setInterval/setTimeout) in the Gmail content script's modules: ${timers.reduce((n, [, c]) => n + c, 0)}`);
  for (const [file, count] of timers) if (count > 0) console.log(`  ${file}: ${count}`);

  const { E2E_OUT_DIR, E2E_SERVER_URL } = await import('../e2e/env');
  const { launchExtension, removeServerData, startServer } = await import('../e2e/harness');
  const { chromiumArgs, findChromium } = await import('../e2e/chromium');
  const { GmailPage, routeGmail } = await import('../e2e/pages/gmail');
  const { chromium } = await import('playwright-core');

  execFileSync('npx', ['wxt', 'build'], {
    stdio: 'ignore',
    env: { ...process.env, OPENPING_SERVER_URL: E2E_SERVER_URL, OPENPING_OUT_DIR: E2E_OUT_DIR },
  });
  const server = await startServer();
  const session = await launchExtension();
  const plain = await chromium.launch({
    executablePath: findChromium(),
    headless: true,
    args: chromiumArgs('/nonexistent').filter((a) => !a.includes('extension')),
  });
  try {
    await routeGmail(session.context);
    const plainContext: BrowserContext = await plain.newContext();
    await routeGmail(plainContext);

    const gmail = await GmailPage.open(session.context);
    // The first compose also waits for the background's first answer (account creation).
    const warm = await gmail.openCompose();
    await gmail.toggleReady(warm);
    await warm.locator('.oh').click();

    const latencies = (await cycle(gmail.page, ROUNDS, true)).sort((a, b) => a - b);
    console.log(`Track switch after a compose opens (${ROUNDS} composes, ms):`);
    console.log(
      `  median ${percentile(latencies, 50).toFixed(1)}  p95 ${percentile(latencies, 95).toFixed(1)}  max ${latencies.at(-1)!.toFixed(1)}  (target ≤ 100 ms: ${latencies.at(-1)! <= 100 ? 'within' : 'OVER'})`,
    );

    const plainPage = (await GmailPage.open(plainContext)).page;
    const before = { ext: await metrics(gmail.page), plain: await metrics(plainPage) };
    await cycle(gmail.page, CYCLES, true);
    await cycle(plainPage, CYCLES, false);
    const after = { ext: await metrics(gmail.page), plain: await metrics(plainPage) };
    console.log(`${CYCLES} compose open/close cycles, after GC:`);
    console.log(`  with OpenPing     before: ${fmt(before.ext)}   after: ${fmt(after.ext)}`);
    console.log(`  without extension before: ${fmt(before.plain)}   after: ${fmt(after.plain)}`);
    const growth = (m: keyof Metrics) => ({ ext: after.ext[m] - before.ext[m], plain: after.plain[m] - before.plain[m] });
    const nodes = growth('nodes');
    const listeners = growth('listeners');
    const heap = growth('heapMb');
    console.log(
      `  growth with / without: nodes ${nodes.ext} / ${nodes.plain}, listeners ${listeners.ext} / ${listeners.plain}, heap ${heap.ext.toFixed(2)} / ${heap.plain.toFixed(2)} MB`,
    );
    console.log(`  switches left in the page: ${await gmail.page.locator('openping-toggle').count()}`);
  } finally {
    await plain.close();
    await session.close();
    await server.stop();
    removeServerData(server);
  }
}
