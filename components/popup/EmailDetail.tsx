import { useSignal } from '@preact/signals';
import { probablyYou, type ProbablyYou } from '../../lib/anyapp';
import type { EmailRecord, HitRecord } from '../../lib/db';
import type { AnyAppModel } from '../../lib/state/anyapp';
import {
  APPLE_MPP_NOTE,
  KIND_EXPLANATIONS,
  KIND_LABELS,
  emailState,
  emailSubstate,
  emailTitle,
  formatTime,
  networkOf,
  placeOf,
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
}

function HitItem({ hit, email, probable, anyApp }: { hit: HitRecord; email: EmailRecord; probable?: ProbablyYou; anyApp?: AnyAppModel }) {
  // A probable own view of a pasted pixel is not counted (lib/anyapp.ts): dimmed like a machine's.
  const machine = hit.kind !== 'open' || probable !== undefined;
  // A provider proxy's address tells where the proxy is, not the reader (RESEARCH §1): name the proxy, not a place.
  const proxied = hit.via?.endsWith('-proxy') ?? false;
  const where = [proxied ? null : placeOf(hit), networkOf(hit), viaLabel(hit.via) && `via ${viaLabel(hit.via)}`]
    .filter(Boolean)
    .join(' · ');
  return (
    <li data-openping="hit" data-kind={hit.kind} class={machine ? 'hit hit--machine' : 'hit hit--open'}>
      <div class="hit__head">
        <span class="hit__kind">{KIND_LABELS[hit.kind]}</span>
        <time class="hit__time" dateTime={new Date(hit.at).toISOString()}>
          {formatTime(hit.at)}
        </time>
      </div>
      {hit.reason && <p class="hit__reason">{hit.reason}</p>}
      {machine && KIND_EXPLANATIONS[hit.kind] && <p class="hit__why">{KIND_EXPLANATIONS[hit.kind]}</p>}
      {where && <p class="hit__where">{where}</p>}
      {hit.client?.name && <p class="hit__where">{[hit.client.name, hit.client.os, hit.client.device].filter(Boolean).join(' · ')}</p>}
      {anyApp && <OwnHitNote email={email} hit={hit} probable={probable} model={anyApp} />}
    </li>
  );
}

export function EmailDetail({ email, hits, onBack, onOpenThread, onStop, onDelete, anyApp }: Props) {
  const confirming = useSignal(false);
  const own = probablyYou(email, hits);
  const state = emailState(email);
  const substate = emailSubstate(email);
  return (
    <section class="detail" data-openping="detail" data-state={state} data-substate={substate ?? undefined}>
      <button type="button" class="link" onClick={onBack}>
        ← All emails
      </button>
      <h2 class="detail__subject">{emailTitle(email)}</h2>
      <dl class="detail__facts">
        {email.recipients.length > 0 && (
          <>
            <dt>To</dt>
            <dd>{email.recipients.map((r) => (r.name ? `${r.name} <${r.address}>` : r.address)).join(', ')}</dd>
          </>
        )}
        {email.sentAt !== null && (
          <>
            <dt>Sent</dt>
            <dd>{formatTime(email.sentAt)}</dd>
          </>
        )}
        <dt>Status</dt>
        <dd class={`row__status row__status--${state}`}>{statusLine(email)}</dd>
        {email.tracking === 'stopped' && (
          <>
            <dt>Tracking</dt>
            <dd>Stopped — later opens are not recorded.</dd>
          </>
        )}
      </dl>
      {anyApp && <AnyAppFacts email={email} model={anyApp} />}
      {substate === 'apple-mpp' && (
        <p class="note" data-openping="substate-note">
          {APPLE_MPP_NOTE}
        </p>
      )}
      {state === 'delivered' && substate === null && (
        <p class="note">
          Only machines have fetched this message so far (listed below, dimmed). It has arrived, but nobody is known to
          have opened it.
        </p>
      )}
      <div class="actions">
        {email.threadUrl && (
          <button type="button" data-action="open-thread" onClick={() => onOpenThread(email.tracker)}>
            Open thread
          </button>
        )}
        {email.tracking !== 'stopped' && (
          <button type="button" data-action="stop" onClick={() => onStop(email.tracker)}>
            Stop tracking
          </button>
        )}
        {confirming.value ? (
          <button type="button" class="danger" data-action="confirm-delete" onClick={() => onDelete(email.tracker)}>
            Really delete?
          </button>
        ) : (
          <button type="button" class="danger" data-action="delete" onClick={() => (confirming.value = true)}>
            Delete
          </button>
        )}
      </div>
      <h3>Timeline</h3>
      {hits.length === 0 ? (
        <p class="note">No fetch of the pixel yet.</p>
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
