/**
 * "Track a message from another app" (issue 20): the popup copies a pixel to paste into Apple Mail,
 * Outlook, Thunderbird or a phone; the detail of such an email says how it became sent and lets the
 * user mark it sent or mark a fetch as their own. Rules in lib/anyapp.ts, state in lib/state/anyapp.ts,
 * words in locales/*.yml (`anyApp.*`, through lib/i18n.ts).
 */
import { useSignal } from '@preact/signals';
import type { EmailRecord, HitRecord } from '../../lib/db';
import { isAnyApp, MAIL_APPS, type ProbablyYou, type Verdict } from '../../lib/anyapp';
import type { AnyAppModel } from '../../lib/state/anyapp';
import { t } from '../../lib/i18n';
import { formatTime, networkOf } from '../../lib/state/format';

/** The warning of each mail app, by its id in MAIL_APPS (locales: anyApp.app*). */
function appWarning(id: string): string {
  switch (id) {
    case 'thunderbird':
      return t('anyApp.appThunderbird');
    case 'outlook-windows':
      return t('anyApp.appOutlookWindows');
    case 'outlook-new':
      return t('anyApp.appOutlookNew');
    case 'outlook-mac':
      return t('anyApp.appOutlookMac');
    case 'apple-mail':
      return t('anyApp.appAppleMail');
    case 'gmail-mobile':
      return t('anyApp.appGmailMobile');
    case 'outlook-mobile':
      return t('anyApp.appOutlookMobile');
    default:
      return id;
  }
}

function probablyYouWhy(p: ProbablyYou, hit: HitRecord): string {
  const where = [networkOf(hit), hit.client?.name].filter(Boolean).join(', ');
  return t('anyApp.probablyYouWhy', { minutes: t('anyApp.minutes', Math.round(p.after / 60_000)), where: where || '—' });
}

const WARN: ReadonlySet<Verdict> = new Set(['inlines', 'strips', 'unsure']);

/** The copy form, folded under one button at the top of the popup. */
export function AnyAppPanel({ model }: { model: AnyAppModel }) {
  if (!model.open.value) {
    return (
      <div class="anyapp anyapp--closed">
        <button type="button" class="link" data-action="any-app" aria-expanded="false" onClick={() => (model.open.value = true)}>
          + {t('anyApp.toggle')}
        </button>
      </div>
    );
  }
  const phase = model.phase.value;
  const error = model.error.value;
  return (
    <section class="anyapp" data-openping="any-app" aria-label={t('anyApp.toggle')}>
      <button type="button" class="link" aria-expanded="true" onClick={() => (model.open.value = false)}>
        − {t('anyApp.toggle')}
      </button>
      <p class="note">{t('anyApp.intro')}</p>
      <label class="anyapp__label">
        {t('anyApp.labelName')}
        <input
          type="text"
          data-openping="any-app-label"
          maxLength={200}
          placeholder={t('anyApp.labelPlaceholder')}
          value={model.label.value}
          onInput={(e) => (model.label.value = (e.currentTarget as HTMLInputElement).value)}
        />
        <span class="note">{t('anyApp.labelHint')}</span>
      </label>
      <label class="anyapp__check">
        <input
          type="checkbox"
          data-openping="any-app-autosend"
          checked={model.autoSend.value}
          onChange={(e) => (model.autoSend.value = (e.currentTarget as HTMLInputElement).checked)}
        />
        <span>
          {t('anyApp.autoSend')}
          <span class="note"> {t('anyApp.autoSendHint')}</span>
        </span>
      </label>
      <div class="actions">
        <button type="button" data-action="copy-pixel" disabled={phase === 'copying' || !model.pixelBase.value} onClick={() => void model.copy()}>
          {phase === 'copying' ? t('anyApp.copying') : t('anyApp.copy')}
        </button>
      </div>
      {(!model.pixelBase.value || error === 'no-account') && (
        <p class="note" role="alert">
          {t('anyApp.noAccount')}
        </p>
      )}
      {phase === 'copied' && error === null && (
        <p class="anyapp__done" role="status" data-openping="any-app-copied">
          {model.copiedLabel.value ? t('anyApp.copiedAs', { label: model.copiedLabel.value }) : t('anyApp.copied')}
        </p>
      )}
      {phase !== 'refused' && error !== null && error !== 'no-account' && (
        <p class="note" role="alert">
          {t('anyApp.notRegistered', { why: error })}
        </p>
      )}
      {phase === 'refused' && (
        <div class="anyapp__refused" role="alert" data-openping="any-app-refused">
          <p>{t('anyApp.refused', { why: error ?? '—' })}</p>
          <button type="button" data-action="copy-again" onClick={() => void model.copyAgain()}>
            {t('anyApp.copyAgain')}
          </button>
          <label class="anyapp__label">
            {t('anyApp.markupLabel')}
            <textarea readOnly rows={3} data-openping="any-app-markup" value={model.html.value ?? ''} onFocus={(e) => e.currentTarget.select()} />
          </label>
        </div>
      )}
      <details class="anyapp__apps" open>
        <summary>{t('anyApp.appsTitle')}</summary>
        <ul>
          {MAIL_APPS.filter((a) => WARN.has(a.verdict)).map((a) => (
            <li key={a.id} data-app={a.id} data-verdict={a.verdict}>
              {appWarning(a.id)}
            </li>
          ))}
        </ul>
        <p class="note">{t('anyApp.appsMore')}</p>
      </details>
    </section>
  );
}

/** Facts and actions of an email whose pixel was pasted into another app (nothing for a webmail email). */
export function AnyAppFacts({ email, model }: { email: EmailRecord; model: AnyAppModel }) {
  const copied = useSignal(false);
  if (!isAnyApp(email)) return null;
  const waiting = email.tracking === 'armed';
  return (
    <div class="anyapp__facts" data-openping="any-app-facts" data-sent-by={email.sentBy ?? (waiting ? 'waiting' : undefined)}>
      <dl class="detail__facts">
        <dt>{t('anyApp.sourceFact')}</dt>
        <dd>{t('anyApp.sourceValue')}</dd>
      </dl>
      {email.sentAt !== null && email.sentBy && (
        <p class="note" data-openping="sent-by">
          {t(email.sentBy === 'you' ? 'anyApp.sentByYou' : 'anyApp.sentByFetch', { time: formatTime(email.sentAt) })}
        </p>
      )}
      {waiting && <p class="note">{email.autoSend === false ? t('anyApp.waitingManual') : t('anyApp.waiting')}</p>}
      <div class="actions">
        {waiting && (
          <button type="button" data-action="mark-sent" onClick={() => void model.markSent(email.tracker)}>
            {t('anyApp.markSent')}
          </button>
        )}
        {waiting && (
          <button type="button" data-action="copy-existing" onClick={() => void model.copyExisting(email.tracker).then((ok) => (copied.value = ok))}>
            {copied.value ? t('anyApp.copiedShort') : t('anyApp.copyExisting')}
          </button>
        )}
      </div>
    </div>
  );
}

/** Under a fetch of a pasted pixel: "Probably you" with the reason, and "This was me" on any open. */
export function OwnHitNote({ email, hit, probable, model }: { email: EmailRecord; hit: HitRecord; probable?: ProbablyYou; model: AnyAppModel }) {
  const marked = useSignal(false);
  if (!isAnyApp(email) || hit.kind !== 'open') return null;
  return (
    <div class="anyapp__own" data-openping="own-hit" data-probably-you={probable ? 'true' : 'false'}>
      {probable && (
        <p>
          <strong>{t('anyApp.probablyYou')}</strong> — {probablyYouWhy(probable, hit)}
        </p>
      )}
      {marked.value ? (
        <p class="note" role="status">
          {t('anyApp.markedOwn')}
        </p>
      ) : (
        <button
          type="button"
          class="link"
          data-action="mark-own"
          title={t('anyApp.thisWasMeHint')}
          onClick={() => void model.markOwnHit(email.tracker, hit.at).then((ok) => (marked.value = ok))}
        >
          {t('anyApp.thisWasMe')}
        </button>
      )}
    </div>
  );
}
