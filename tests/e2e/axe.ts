/**
 * axe-core in a real page (issue 17): every a11y test checks its page with the same rules and
 * prints the same report. Any test can use it: `expect(await axeViolations(page)).toEqual([])`
 * gives a readable list of what fails, one line per rule and element.
 *
 * The script is evaluated through the DevTools protocol (page.evaluate), not added as a <script>:
 * extension pages' CSP (script-src 'self') would refuse an inline one, and Gmail's does too.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeOptions {
  /**
   * Check only inside these elements, e.g. the compose switch inside a Gmail fixture that is not ours:
   * a CSS selector, or a path of selectors into open shadow roots (host first), as axe's context takes it
   * (github.com/dequelabs/axe-core doc/context.md, "Shadow DOM").
   */
  include?: (string | string[])[];
}

interface AxeNode {
  target: unknown[];
  failureSummary?: string;
}
interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: AxeNode[];
}

/**
 * Runs axe-core on `page` as it is now (wait for what you want checked first) and returns one
 * line per violating element: "<rule> (<impact>) <selector>: <how to fix>". All of axe's
 * rules that are not experimental run: WCAG 2.0–2.2 A and AA and axe's best practices.
 */
export async function axeViolations(page: Page, options: AxeOptions = {}): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const violations = (await page.evaluate(
    ({ include }) => {
      const axe = (window as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: unknown[] }> } }).axe;
      const context = include ? { include: include.map((selector) => [selector]) } : document;

      return axe.run(context, { resultTypes: ['violations'] }).then((r) => r.violations);
    },
    { include: options.include },
  )) as AxeViolation[];
  return violations.flatMap((v) =>
    v.nodes.map((n) => `${v.id} (${v.impact ?? 'n/a'}) ${n.target.map(String).join(' ')}: ${v.help}. ${(n.failureSummary ?? '').replace(/\s+/g, ' ')}`),
  );
}
