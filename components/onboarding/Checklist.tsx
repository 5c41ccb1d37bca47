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
import { t } from '../../lib/i18n';
import { CHECK_TEXT, type Check, type CheckResult, type SetupCheckModel } from '../../lib/state/setup-check';

// The checklist's own words, from the browser's i18n (locales/*.yml `check.*`; the checks' texts are in CHECK_TEXT).
const RESULT_KEYS = {
  waiting: 'check.resultWaiting',
  running: 'check.resultRunning',
  pass: 'check.resultPass',
  fail: 'check.resultFail',
  timeout: 'check.resultTimeout',
  skipped: 'check.resultSkipped',
} as const satisfies Record<CheckResult, string>;

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
        <strong>{CHECK_TEXT.label(check.id)}</strong>
        <span class="visually-hidden">: {t(RESULT_KEYS[check.result])}</span>
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
              {t('check.deployLink')}
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
      <h2 id="checklist-title">{t('check.title')}</h2>
      <ol data-openping="checklist" data-running={running ? 'true' : 'false'} aria-live="polite" aria-busy={running}>
        {model.checks.value.map((check) => (
          <CheckItem key={check.id} check={check} />
        ))}
      </ol>
      <button type="button" data-action="check" disabled={running} onClick={() => void model.run()}>
        {running ? t('check.checking') : t('check.again')}
      </button>
    </section>
  );
}
