import { useSignal } from '@preact/signals';
import type { EmailRecord, HitRecord } from '../../lib/db';
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

interface Props {
  email: EmailRecord;
  hits: HitRecord[];
  onBack(): void;
  onOpenThread(tracker: string): void;
  onStop(tracker: string): void;
  onDelete(tracker: string): void;
}

function HitItem({ hit }: { hit: HitRecord }) {
  const machine = hit.kind !== 'open';
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
    </li>
  );
}

export function EmailDetail({ email, hits, onBack, onOpenThread, onStop, onDelete }: Props) {
  const confirming = useSignal(false);
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
            <HitItem key={hit.id} hit={hit} />
          ))}
        </ol>
      )}
    </section>
  );
}
