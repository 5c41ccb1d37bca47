/**
 * "Your browsers" on the options page (issue 21): add another browser (shows a pairing code), join
 * another browser's account (enter one), and the account's browsers with a way to log each out.
 * Everything it does goes through the background (lib/messages.ts → lib/pairing.ts).
 */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
// The QR code: `qrcode` (npm, ~28M downloads a week), its SVG output as an <img>, so no canvas and no
// innerHTML. Imported only here, on the options page: the content scripts never load it.
import { toString as qrSvg } from 'qrcode';
import { t } from '../../lib/i18n';
import { send } from '../../lib/messages';
import { NotifyChoice } from './NotifyChoice';

type DeviceView = { id: string; name: string | null; createdAt: number; current: boolean; publicKey: string | null };

export function Devices() {
  const devices = useSignal<DeviceView[]>([]);
  const code = useSignal<string | null>(null);
  const qr = useSignal<string | null>(null);
  const draft = useSignal('');
  const notice = useSignal<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const busy = useSignal(false);

  const refresh = async () => {
    const res = await send({ type: 'devices' });
    if (res.ok) devices.value = res.devices;
  };
  useEffect(() => void refresh(), []);

  const act = async <R extends { ok: boolean; error: string | null }>(work: () => Promise<R>, done?: string | ((res: R) => string)) => {
    busy.value = true;
    try {
      const res = await work();
      const text = typeof done === 'function' ? done(res) : done;
      notice.value = res.ok ? (text ? { kind: 'ok', text } : null) : { kind: 'error', text: t('devices.failed', { error: res.error ?? '' }) };
      await refresh();
    } finally {
      busy.value = false;
    }
  };

  return (
    <section data-openping="devices">
      <h2>{t('devices.heading')}</h2>
      <p class="hint">{t('devices.hint')}</p>
      {notice.value && (
        <p class={`notice notice--${notice.value.kind}`} role={notice.value.kind === 'error' ? 'alert' : 'status'} data-openping="devices-notice">
          {notice.value.text}
        </p>
      )}
      <ul data-openping="device-list">
        {devices.value.map((d) => (
          <li key={d.id} data-openping="device" data-device={d.id} data-current={String(d.current)}>
            {d.name ?? t('devices.firstBrowser')}
            {d.current ? ` (${t('devices.thisBrowser')})` : ''} · {new Date(d.createdAt).toLocaleDateString()}
            {d.publicKey === null && <span class="hint" data-openping="device-no-key">{` · ${t('devices.noKey')}`}</span>}{' '}
            <button type="button" data-action="revoke-device" disabled={busy.value} onClick={() =>
                void act(
                  () => send({ type: 'revokeDevice', device: d.id }),
                  (res) => (res.leftOut.length > 0 ? t('devices.revokedLeftOut', { names: res.leftOut.join(', ') }) : t('devices.revoked')),
                )
              }
            >
              {t('devices.revoke')}
            </button>
          </li>
        ))}
      </ul>
      {devices.value.length > 1 && <NotifyChoice devices={devices.value} />}
      <div class="row">
        <button
          type="button"
          data-action="pair-start"
          disabled={busy.value}
          onClick={() =>
            void act(async () => {
              const res = await send({ type: 'pairStart' });
              code.value = res.code;
              qr.value = res.code ? await qrSvg(res.code, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' }) : null;
              return res;
            })
          }
        >
          {t('devices.add')}
        </button>
      </div>
      {code.value && (
        <p>
          <code data-openping="pairing-code">{code.value}</code>
          <br />
          {qr.value && (
            <img data-openping="pairing-qr" width={160} height={160} alt={t('devices.qrAlt')} src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(qr.value)}`} />
          )}
          <br />
          <span class="hint">{t('devices.codeHint')}</span>
        </p>
      )}
      <h3>{t('devices.join')}</h3>
      <p class="hint">{t('devices.joinHint')}</p>
      <label>
        {t('devices.codeLabel')}
        <input name="pairing-code" value={draft.value} autocomplete="off" spellcheck={false} onInput={(e) => (draft.value = (e.currentTarget as HTMLInputElement).value)} />
      </label>
      <div class="row">
        <button type="button" data-action="pair-join" disabled={busy.value || draft.value.trim() === ''} onClick={() => void act(() => send({ type: 'pairJoin', code: draft.value }), t('devices.joined'))}>
          {t('devices.joinButton')}
        </button>
      </div>
    </section>
  );
}
