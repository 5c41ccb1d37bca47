import type { OptionsModel } from '../../lib/state/options';
import { t } from '../../lib/i18n';

/** Notification hygiene (issue 19): the N-day stop and the daily digest (rules in lib/notify-rules.ts). */
export function NotificationHygiene({ model }: { model: OptionsModel }) {
  const s = model.settings.value;
  return (
    <div data-openping="notify-hygiene">
      <p class="hint">{t('notifyRules.collapseHint')}</p>
      <label>
        {t('notifyRules.forDays')}
        <input
          type="number"
          name="notifyForDays"
          min={0}
          max={3650}
          step={1}
          value={s.notifyForDays}
          onChange={(e) => {
            const days = Number((e.currentTarget as HTMLInputElement).value);
            // A cleared or odd field keeps the current value rather than turning the limit off by accident.
            if (Number.isInteger(days) && days >= 0 && days <= 3650) void model.update({ notifyForDays: days });
          }}
        />
      </label>
      <p class="hint">{t('notifyRules.forDaysHint')}</p>
      <label class="check">
        <input
          type="checkbox"
          name="notifyDigest"
          checked={s.notifyDigest}
          onChange={(e) => void model.update({ notifyDigest: (e.currentTarget as HTMLInputElement).checked })}
        />
        {t('notifyRules.digest')}
      </label>
      {s.notifyDigest && (
        <label>
          {t('notifyRules.digestAt')}
          <input
            type="time"
            name="digestAt"
            value={s.digestAt}
            onChange={(e) => {
              const value = (e.currentTarget as HTMLInputElement).value;
              if (/^\d{2}:\d{2}$/.test(value)) void model.update({ digestAt: value });
            }}
          />
        </label>
      )}
    </div>
  );
}
