/**
 * "Track a message from another app" (issue 20): the popup copies a pixel to paste into Apple Mail,
 * Outlook, Thunderbird or a phone; the detail of such an email says how it became sent and lets the
 * user mark it sent or mark a fetch as their own. Rules in lib/anyapp.ts, state in lib/state/anyapp.ts.
 */
import { useSignal } from '@preact/signals';
import type { EmailRecord, HitRecord } from '../../lib/db';
import { isAnyApp, MAIL_APPS, type ProbablyYou, type Verdict } from '../../lib/anyapp';
import type { AnyAppModel } from '../../lib/state/anyapp';
import { formatTime, networkOf } from '../../lib/state/format';

/** This feature's English words in one table (the popup's strings move to browser i18n; see lib/i18n once it exists). */
export const ANY_APP_TEXT = {
  toggle: 'Track a message from another app',
  intro:
    'For mail you write in Apple Mail, Outlook, Thunderbird or on a phone: copy an invisible pixel, paste it into the message (rich text, not plain text) and send it from there.',
  labelName: 'What is this message?',
  labelHint: 'Only this browser keeps it, like every subject.',
  labelPlaceholder: 'e.g. Offer for Ada',
  autoSend: 'Mark it sent at its first fetch from another network',
  autoSendHint: 'Turn this off when you write on a phone or on another network than this browser’s; then press “I sent it” after sending.',
  copy: 'Copy pixel',
  copying: 'Copying…',
  copied: (label: string | null) =>
    `Copied. Paste it into your message (Ctrl+V / ⌘V), best at the end, and send it. It is listed below${label ? ` as “${label}”` : ''}.`,
  refused: (why: string | null) =>
    `The browser did not let OpenPing use the clipboard${why ? ` (${why})` : ''}. Try again, or select the pixel below and copy it yourself.`,
  copyAgain: 'Copy again',
  markupLabel: 'The pixel as HTML',
  noAccount: 'There is no account on the tracking server yet, so there is no pixel to copy. Check the connection in Settings.',
  notRegistered: (why: string) => `The pixel is copied, but OpenPing could not note it: ${why}`,
  appsTitle: 'Before you rely on it',
  apps: {
    thunderbird: 'Thunderbird keeps a pasted image as a link: it works.',
    'outlook-windows':
      'Outlook for Windows (classic) sends a copy of pictures from the internet by default, so the pixel is never fetched — unless “send a copy of the pictures instead of the reference” is turned off in its mail format options.',
    'outlook-new': 'New Outlook for Windows: not known whether it keeps a pasted image as a link — send yourself a test first.',
    'outlook-mac': 'Outlook for Mac: not known whether it keeps a pasted image as a link — send yourself a test first.',
    'apple-mail': 'Apple Mail: not known whether it keeps a pasted image as a link — send yourself a test first.',
    'gmail-mobile': 'The Gmail app on phones writes plain text: the pixel is dropped. (In Gmail on the web, use the Track switch.)',
    'outlook-mobile': 'The Outlook app on phones writes plain text: the pixel is dropped.',
  } as Record<string, string>,
  appsMore: 'Sources and details: docs/any-app.md.',
  source: 'From another app',
  sourceFact: 'Written in',
  sourceValue: 'another app (pixel copied from OpenPing)',
  waiting: 'When you have sent it, press “I sent it” — or OpenPing marks it sent at its first fetch from another network.',
  waitingManual: 'Press “I sent it” once you have sent it.',
  markSent: 'I sent it',
  copyExisting: 'Copy the pixel again',
  sentByYou: (at: number) => `Marked sent by you at ${formatTime(at)}.`,
  sentByFetch: (at: number) => `Sent — first fetched from another network at ${formatTime(at)}.`,
  copiedShort: 'Copied',
  probablyYou: 'Probably you',
  probablyYouWhy: (p: ProbablyYou, hit: HitRecord) =>
    `Fetched ${minutes(p.after)} after sending from the network${networkOf(hit) ? ` (${networkOf(hit)})` : ''} and ${
      hit.client?.name ? hit.client.name : 'the app'
    } that loaded your draft — most likely you looking at your sent copy. Not counted as an open.`,
  thisWasMe: 'This was me',
  thisWasMeHint: 'Marks this fetch as your own view. The server re-labels it — and any other fetch from 10 s before to 30 s after it, as for every own view.',
  markedOwn: 'Marked as yours — the label changes once the server has it.',
} as const;

function minutes(ms: number): string {
  const m = Math.round(ms / 60_000);
  return m < 1 ? 'less than a minute' : m === 1 ? '1 minute' : `${m} minutes`;
}

const WARN: ReadonlySet<Verdict> = new Set(['inlines', 'strips', 'unsure']);

/** The copy form, folded under one button at the top of the popup. */
export function AnyAppPanel({ model }: { model: AnyAppModel }) {
  const t = ANY_APP_TEXT;
  if (!model.open.value) {
    return (
      <div class="anyapp anyapp--closed">
        <button type="button" class="link" data-action="any-app" aria-expanded="false" onClick={() => (model.open.value = true)}>
          + {t.toggle}
        </button>
      </div>
    );
  }
  const phase = model.phase.value;
  const error = model.error.value;
  return (
    <section class="anyapp" data-openping="any-app" aria-label={t.toggle}>
      <button type="button" class="link" aria-expanded="true" onClick={() => (model.open.value = false)}>
        − {t.toggle}
      </button>
      <p class="note">{t.intro}</p>
      <label class="anyapp__label">
        {t.labelName}
        <input
          type="text"
          data-openping="any-app-label"
          maxLength={200}
          placeholder={t.labelPlaceholder}
          value={model.label.value}
          onInput={(e) => (model.label.value = (e.currentTarget as HTMLInputElement).value)}
        />
        <span class="note">{t.labelHint}</span>
      </label>
      <label class="anyapp__check">
        <input
          type="checkbox"
          data-openping="any-app-autosend"
          checked={model.autoSend.value}
          onChange={(e) => (model.autoSend.value = (e.currentTarget as HTMLInputElement).checked)}
        />
        <span>
          {t.autoSend}
          <span class="note"> {t.autoSendHint}</span>
        </span>
      </label>
      <div class="actions">
        <button type="button" data-action="copy-pixel" disabled={phase === 'copying' || !model.pixelBase.value} onClick={() => void model.copy()}>
          {phase === 'copying' ? t.copying : t.copy}
        </button>
      </div>
      {!model.pixelBase.value && <p class="note" role="alert">{t.noAccount}</p>}
      {error === 'no-account' && <p class="note" role="alert">{t.noAccount}</p>}
      {phase === 'copied' && error === null && (
        <p class="anyapp__done" role="status" data-openping="any-app-copied">
          {t.copied(model.copiedLabel.value)}
        </p>
      )}
      {phase !== 'refused' && error !== null && error !== 'no-account' && (
        <p class="note" role="alert">
          {t.notRegistered(error)}
        </p>
      )}
      {phase === 'refused' && (
        <div class="anyapp__refused" role="alert" data-openping="any-app-refused">
          <p>{t.refused(error)}</p>
          <button type="button" data-action="copy-again" onClick={() => void model.copyAgain()}>
            {t.copyAgain}
          </button>
          <label class="anyapp__label">
            {t.markupLabel}
            <textarea readOnly rows={3} data-openping="any-app-markup" value={model.html.value ?? ''} onFocus={(e) => e.currentTarget.select()} />
          </label>
        </div>
      )}
      <details class="anyapp__apps" open>
        <summary>{t.appsTitle}</summary>
        <ul>
          {MAIL_APPS.filter((a) => WARN.has(a.verdict)).map((a) => (
            <li key={a.id} data-app={a.id} data-verdict={a.verdict}>
              {t.apps[a.id]}
            </li>
          ))}
        </ul>
        <p class="note">{t.appsMore}</p>
      </details>
    </section>
  );
}

/** Facts and actions of an email whose pixel was pasted into another app (nothing for a webmail email). */
export function AnyAppFacts({ email, model }: { email: EmailRecord; model: AnyAppModel }) {
  const t = ANY_APP_TEXT;
  const copied = useSignal(false);
  if (!isAnyApp(email)) return null;
  const waiting = email.tracking === 'armed';
  return (
    <div class="anyapp__facts" data-openping="any-app-facts" data-sent-by={email.sentBy ?? (waiting ? 'waiting' : undefined)}>
      <dl class="detail__facts">
        <dt>{t.sourceFact}</dt>
        <dd>{t.sourceValue}</dd>
      </dl>
      {email.sentAt !== null && email.sentBy && (
        <p class="note" data-openping="sent-by">
          {email.sentBy === 'you' ? t.sentByYou(email.sentAt) : t.sentByFetch(email.sentAt)}
        </p>
      )}
      {waiting && <p class="note">{email.autoSend === false ? t.waitingManual : t.waiting}</p>}
      <div class="actions">
        {waiting && (
          <button type="button" data-action="mark-sent" onClick={() => void model.markSent(email.tracker)}>
            {t.markSent}
          </button>
        )}
        {waiting && (
          <button type="button" data-action="copy-existing" onClick={() => void model.copyExisting(email.tracker).then((ok) => (copied.value = ok))}>
            {copied.value ? t.copiedShort : t.copyExisting}
          </button>
        )}
      </div>
    </div>
  );
}

/** Under a fetch of a pasted pixel: "Probably you" with the reason, and "This was me" on any open. */
export function OwnHitNote({ email, hit, probable, model }: { email: EmailRecord; hit: HitRecord; probable?: ProbablyYou; model: AnyAppModel }) {
  const t = ANY_APP_TEXT;
  const marked = useSignal(false);
  if (!isAnyApp(email) || hit.kind !== 'open') return null;
  return (
    <div class="anyapp__own" data-openping="own-hit" data-probably-you={probable ? 'true' : 'false'}>
      {probable && (
        <p>
          <strong>{t.probablyYou}</strong> — {t.probablyYouWhy(probable, hit)}
        </p>
      )}
      {marked.value ? (
        <p class="note" role="status">
          {t.markedOwn}
        </p>
      ) : (
        <button
          type="button"
          class="link"
          data-action="mark-own"
          title={t.thisWasMeHint}
          onClick={() => void model.markOwnHit(email.tracker, hit.at).then((ok) => (marked.value = ok))}
        >
          {t.thisWasMe}
        </button>
      )}
    </div>
  );
}
