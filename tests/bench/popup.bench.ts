/**
 * Popup first render with 10,000 tracked emails (target ≤ 150 ms), next to
 * 10 emails in the same run: real Chromium, the built extension, the real
 * server; the database is seeded through the extension's own page.
 * "first rows": navigation start → first rows in the DOM (performance mark in EmailList).
 * "all read": → every record read (search covers everything).
 */
import { execFileSync } from 'node:child_process';
import { E2E_OUT_DIR, E2E_SERVER_URL } from '../e2e/env';
import { launchExtension, removeServerData, startServer } from '../e2e/harness';
import { PopupPage, waitForIdentity } from '../e2e/pages/popup';

const RUNS = 9;

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const fmt = (ms: number) => `${ms.toFixed(1).padStart(7)} ms`;

export default async function popupBench(): Promise<void> {
  execFileSync('npx', ['wxt', 'build'], {
    stdio: 'ignore',
    env: { ...process.env, OPENPING_SERVER_URL: E2E_SERVER_URL, OPENPING_OUT_DIR: E2E_OUT_DIR },
  });
  const server = await startServer();
  const session = await launchExtension();
  try {
    await waitForIdentity(session.worker);
    const medians: Record<number, number> = {};
    for (const size of [10, 10_000]) {
      const seeder = await PopupPage.open(session.context, session.extensionId);
      await seeder.page.evaluate(
        () =>
          new Promise<void>((resolve, reject) => {
            const req = indexedDB.open('openping');
            req.onsuccess = () => {
              const tx = req.result.transaction('emails', 'readwrite');
              tx.objectStore('emails').clear();
              tx.oncomplete = () => (req.result.close(), resolve());
              tx.onerror = () => reject(tx.error);
            };
          }),
      );
      await seeder.seed(size, { openedEvery: 3, deliveredEvery: 5 });
      await seeder.close();

      const firstRows: number[] = [];
      const allRead: number[] = [];
      const searches: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const popup = await PopupPage.open(session.context, session.extensionId);
        const t = await popup.timings();
        if (t.firstRows === null || t.allLoaded === null) throw new Error('The popup did not render its rows.');
        const rows = await popup.rows.count();
        if (rows === 0 || rows > 60) throw new Error(`Expected a window of rows, found ${rows}.`);
        firstRows.push(t.firstRows);
        allRead.push(t.allLoaded);
        // A search over everything: from the keystroke to the next frame with the filtered rows.
        searches.push(
          await popup.page.evaluate(async () => {
            const input = document.querySelector<HTMLInputElement>('[data-openping="search"]')!;
            const start = performance.now();
            input.value = 'person7@example.com';
            input.dispatchEvent(new Event('input', { bubbles: true }));
            await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
            if (!document.querySelector('[data-openping="email"]')?.textContent?.includes('Seeded message 7')) {
              throw new Error('search did not find the email');
            }
            return performance.now() - start;
          }),
        );
        await popup.close();
      }
      medians[size] = quantile(firstRows, 0.5);
      console.log(
        `${String(size).padStart(6)} emails  first rows: median ${fmt(quantile(firstRows, 0.5))}, p95 ${fmt(quantile(firstRows, 0.95))}` +
          ` | all read: median ${fmt(quantile(allRead, 0.5))} | search: median ${fmt(quantile(searches, 0.5))}  (${RUNS} runs)`,
      );
    }
    console.log(
      `target: first render with 10,000 emails ≤ 150 ms — ${medians[10_000]! <= 150 ? 'within' : 'OVER'};` +
        ` 10,000 vs 10 emails: ${(medians[10_000]! / medians[10]!).toFixed(2)}×`,
    );
  } finally {
    await session.close();
    await server.stop();
    removeServerData(server);
  }
}
