import type { Page } from 'playwright-core';

/**
 * The setup checklist (components/onboarding/Checklist.tsx) once a run has finished: not running, and no
 * check still waiting or running. `data-running="false"` alone also matches the page before its first run
 * starts, which let a test read the checks while the last one was still running.
 */
const SETTLED = '[data-openping="checklist"][data-running="false"]:not(:has([data-result="waiting"], [data-result="running"]))';

export async function waitForChecklist(page: Page, timeout = 60_000): Promise<void> {
  await page.locator(SETTLED).waitFor({ timeout });
}
