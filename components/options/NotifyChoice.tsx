/**
 * "Which browser notifies" (issue 21): one choice for every browser of the account, kept by the server
 * (lib/notify-policy.ts). Shown once the account is on more than one browser.
 */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { t } from '../../lib/i18n';
import { send } from '../../lib/messages';
import type { NotifyPolicy } from '../../lib/notify-policy';

type DeviceView = { id: string; name: string | null; current: boolean };

/** The radio value of a policy: `every`, `once`, or `one:<device>`. */
function valueOf(policy: Pick<NotifyPolicy, 'mode' | 'device'>): string {
  return policy.mode === 'one' ? `one:${policy.device}` : policy.mode;
}

export function NotifyChoice({ devices }: { devices: readonly DeviceView[] }) {
  const policy = useSignal<NotifyPolicy | null>(null);
  const notice = useSignal<{ kind: 'ok' | 'error'; text: string } | null>(null);
  /** The choice being saved: shown as chosen until the server answers (then the policy it stored). */
  const saving = useSignal<string | null>(null);
  // Read again when the list changes: a revoked chosen browser reads as "every browser" from then on.
  useEffect(() => {
    void send({ type: 'notifyPolicy' }).then((res) => {
      if (res.ok) policy.value = res.policy;
    });
  }, [devices.map((d) => d.id).join()]);

  const choose = async (value: string) => {
    saving.value = value;
    try {
      const [mode, device] = value.startsWith('one:') ? (['one', value.slice(4)] as const) : ([value as 'every' | 'once', null] as const);
      const res = await send({ type: 'setNotifyPolicy', mode, device });
      if (res.ok) policy.value = res.policy;
      notice.value = res.ok ? { kind: 'ok', text: t('notifyChoice.saved') } : { kind: 'error', text: t('devices.failed', { error: res.error ?? '' }) };
    } finally {
      saving.value = null;
    }
  };

  const current = saving.value ?? (policy.value ? valueOf(policy.value) : null);
  const options: { value: string; label: string }[] = [
    { value: 'every', label: t('notifyChoice.every') },
    ...devices.map((d) => ({
      value: `one:${d.id}`,
      label: t('notifyChoice.only', { name: `${d.name ?? t('devices.firstBrowser')}${d.current ? ` (${t('devices.thisBrowser')})` : ''}` }),
    })),
    { value: 'once', label: t('notifyChoice.once') },
  ];
  return (
    <fieldset data-openping="notify-choice" data-mode={policy.value?.mode ?? ''}>
      <legend>{t('notifyChoice.heading')}</legend>
      <p class="hint">{t('notifyChoice.hint')}</p>
      {options.map((o) => (
        <label key={o.value} class="row">
          <input type="radio" name="notify-browser" value={o.value} checked={current === o.value} disabled={saving.value !== null || policy.value === null} onChange={() => void choose(o.value)} />
          {o.label}
        </label>
      ))}
      {notice.value && (
        <p class={`notice notice--${notice.value.kind}`} role={notice.value.kind === 'error' ? 'alert' : 'status'} data-openping="notify-choice-notice">
          {notice.value.text}
        </p>
      )}
    </fieldset>
  );
}
