/**
 * The setup checklist (lib/state/setup-check.ts), on the setup page and the
 * options page. Stable attributes for tests and tools (tests/e2e/onboarding.test.ts;
 * an https deployment's test drives the same ones):
 * - the list: `data-openping="checklist"`, `data-running="true|false"`;
 * - each check: `data-openping="check"`, `data-check="server|account|pixel-url|warnings|test-pixel"`,
 *   `data-result="waiting|running|pass|fail|timeout|skipped"`, and on a failure
 *   `data-codes` (space-separated, e.g. `public-url-local public-url-http`);
 * - the button that runs it again: `data-action="check"`.
 */
import { DEPLOY_DOCS_URL } from '../../lib/config';
import { CHECK_TEXT, type Check, type CheckResult, type SetupCheckModel } from '../../lib/state/setup-check';

// The checklist's own words (the checks' texts are in CHECK_TEXT), kept together for the browser's i18n (STYLE §14).
const TEXT = {
  title: 'Setup check',
  again: 'Check again',
  checking: 'Checking…',
  deployLink: 'How to deploy OpenPing (README, Deploy)',
  result: {
    waiting: 'Not checked yet',
    running: 'Checking',
    pass: 'Passed',
    fail: 'Failed',
    timeout: 'Timed out',
    skipped: 'Skipped',
  } satisfies Record<CheckResult, string>,
} as const;

const MARKS: Record<CheckResult, string> = { waiting: '○', running: '…', pass: '✓', fail: '✗', timeout: '⏱', skipped: '–' };

function CheckItem({ check }: { check: Check }) {
  const failed = check.result === 'fail' || check.result === 'timeout';
  return (
    <li
      class={`check check--${check.result}`}
      data-openping="check"
      data-check={check.id}
      data-result={check.result}
      data-codes={check.codes.length > 0 ? check.codes.join(' ') : undefined}
    >
      <span class="check__mark" aria-hidden="true">
        {MARKS[check.result]}
      </span>
      <div class="check__body">
        <strong>{CHECK_TEXT.label[check.id]}</strong>
        <span class="visually-hidden">: {TEXT.result[check.result]}</span>
        {check.detail && (
          <p class="check__detail">
            {check.detail.split('\n').map((line) => (
              <span key={line}>
                {line}
                <br />
              </span>
            ))}
          </p>
        )}
        {failed && check.next && (
          <p class="check__next">
            {check.next}{' '}
            <a href={DEPLOY_DOCS_URL} target="_blank" rel="noreferrer">
              {TEXT.deployLink}
            </a>
          </p>
        )}
      </div>
    </li>
  );
}

export function Checklist({ model }: { model: SetupCheckModel }) {
  const running = model.running.value;
  return (
    <section class="checklist" aria-labelledby="checklist-title">
      <h2 id="checklist-title">{TEXT.title}</h2>
      <ol data-openping="checklist" data-running={running ? 'true' : 'false'} aria-live="polite" aria-busy={running}>
        {model.checks.value.map((check) => (
          <CheckItem key={check.id} check={check} />
        ))}
      </ol>
      <button type="button" data-action="check" disabled={running} onClick={() => void model.run()}>
        {running ? TEXT.checking : TEXT.again}
      </button>
    </section>
  );
}
