import { useSignal } from '@preact/signals';
import { probablyYou, type ProbablyYou } from '../../lib/anyapp';
import type { EmailRecord, HitRecord } from '../../lib/db';
import type { AnyAppModel } from '../../lib/state/anyapp';
import { reasonText, t } from '../../lib/i18n';
import {
  appleMppNote,
  emailState,
  emailSubstate,
  emailTitle,
  formatTime,
  kindExplanation,
  kindLabel,
  networkOf,
  placeOf,
  recipientFull,
  statusLine,
  viaLabel,
} from '../../lib/state/format';
import { AnyAppFacts, OwnHitNote } from './AnyApp';

interface Props {
  email: EmailRecord;
  hits: HitRecord[];
  onBack(): void;
  onOpenThread(tracker: string): void;
  onStop(tracker: string): void;
  onDelete(tracker: string): void;
  /** A pixel pasted into another app: its facts and actions (AnyApp.tsx). */
  anyApp?: AnyAppModel;
  /** Mutes (true) or unmutes this email's notifications. */
  onMute(tracker: string, muted: boolean): void;
}

function HitItem({ hit, email, probable, anyApp }: { hit: HitRecord; email: EmailRecord; probable?: ProbablyYou; anyApp?: AnyAppModel }) {
  // A probable own view of a pasted pixel is not counted (lib/anyapp.ts): dimmed like a machine's.
  const machine = hit.kind !== 'open' || probable !== undefined;
  // A provider proxy's address tells where the proxy is, not the reader (RESEARCH §1): name the proxy, not a place.
  const proxied = hit.via?.endsWith('-proxy') ?? false;
  const via = viaLabel(hit.via);
  const where = [proxied ? null : placeOf(hit), networkOf(hit), via && t('popup.via', { via })]
    .filter(Boolean)
    .join(' · ');
  return (
    <li data-openping="hit" data-kind={hit.kind} class={machine ? 'hit hit--machine' : 'hit hit--open'}>
      <div class="hit__head">
        <span class="hit__kind">{kindLabel(hit.kind)}</span>
        <time class="hit__time" dateTime={new Date(hit.at).toISOString()}>
          {formatTime(hit.at)}
        </time>
      </div>
      {hit.reason && <p class="hit__reason">{reasonText(hit)}</p>}
      {machine && kindExplanation(hit.kind) && <p class="hit__why">{kindExplanation(hit.kind)}</p>}
      {where && <p class="hit__where">{where}</p>}
      {hit.client?.name && <p class="hit__where">{[hit.client.name, hit.client.os, hit.client.device].filter(Boolean).join(' · ')}</p>}
      {anyApp && <OwnHitNote email={email} hit={hit} probable={probable} model={anyApp} />}
    </li>
  );
}

export function EmailDetail({ email, hits, onBack, onOpenThread, onStop, onDelete, onMute, anyApp }: Props) {
  const confirming = useSignal(false);
  const own = probablyYou(email, hits);
  const state = emailState(email);
  const substate = emailSubstate(email);
  return (
    <section class="detail" data-openping="detail" data-state={state} data-substate={substate ?? undefined}>
      <button type="button" class="link" onClick={onBack}>
        {t('popup.back')}
      </button>
      <h2 class="detail__subject">{emailTitle(email)}</h2>
      <dl class="detail__facts">
        {email.recipients.length > 0 && (
          <>
            <dt>{t('popup.factTo')}</dt>
            <dd>{email.recipients.map(recipientFull).join(', ')}</dd>
          </>
        )}
        {email.sentAt !== null && (
          <>
            <dt>{t('popup.factSent')}</dt>
            <dd>{formatTime(email.sentAt)}</dd>
          </>
        )}
        <dt>{t('popup.factStatus')}</dt>
        <dd class={`row__status row__status--${state}`}>{statusLine(email)}</dd>
        {email.tracking === 'stopped' && (
          <>
            <dt>{t('popup.factTracking')}</dt>
            <dd>{t('popup.trackingStopped')}</dd>
          </>
        )}
        {email.muted && (
          <>
            <dt>{t('popup.factNotifications')}</dt>
            <dd data-openping="muted">{t('popup.muted')}</dd>
          </>
        )}
      </dl>
      {anyApp && <AnyAppFacts email={email} model={anyApp} />}
      {substate === 'apple-mpp' && (
        <p class="note" data-openping="substate-note">
          {appleMppNote()}
        </p>
      )}
      {state === 'delivered' && substate === null && (
        <p class="note">{t('popup.deliveredNote')}</p>
      )}
      <div class="actions">
        {email.threadUrl && (
          <button type="button" data-action="open-thread" onClick={() => onOpenThread(email.tracker)}>
            {t('popup.openThread')}
          </button>
        )}
        {email.tracking !== 'stopped' && (
          <button type="button" data-action="stop" onClick={() => onStop(email.tracker)}>
            {t('popup.stopTracking')}
          </button>
        )}
        <button
          type="button"
          data-action={email.muted ? 'unmute' : 'mute'}
          aria-pressed={email.muted ? 'true' : 'false'}
          onClick={() => onMute(email.tracker, !email.muted)}
        >
          {email.muted ? t('popup.unmute') : t('popup.mute')}
        </button>
        {confirming.value ? (
          <button type="button" class="danger" data-action="confirm-delete" onClick={() => onDelete(email.tracker)}>
            {t('popup.confirmDelete')}
          </button>
        ) : (
          <button type="button" class="danger" data-action="delete" onClick={() => (confirming.value = true)}>
            {t('popup.delete')}
          </button>
        )}
      </div>
      <h3>{t('popup.timeline')}</h3>
      {hits.length === 0 ? (
        <p class="note">{t('popup.noHits')}</p>
      ) : (
        <ol class="timeline" data-openping="timeline">
          {hits.map((hit) => (
            <HitItem key={hit.id} hit={hit} email={email} probable={own.get(hit.id)} anyApp={anyApp} />
          ))}
        </ol>
      )}
    </section>
  );
}
