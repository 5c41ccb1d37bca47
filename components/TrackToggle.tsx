/**
 * The Track switch next to Send (SPEC §6): `data-openping="toggle"`,
 * `role="switch"`, `aria-checked`, toggled by a click or by Enter/Space (a
 * native button). It only reads its state; lib/compose.ts owns it (STYLE §8).
 */
import type { Signal } from '@preact/signals';
import { t } from '../lib/i18n';

export type ToggleStatus =
  /** Tracking works as the switch says. */
  | 'ready'
  /** The server cannot be reached now: the pixel still goes out, its registration waits in the outbox. */
  | 'offline'
  /**
   * Not tracking, setup incomplete: no account yet, or the pixel URL is local or
   * not https while "Allow a local server (for testing)" is off. No pixel goes out.
   */
  | 'setup'
  /** The site's page changed under us: this compose sends untracked. */
  | 'broken';

export interface ToggleState {
  on: boolean;
  status: ToggleStatus;
  /** For `setup`: what is missing, one sentence (lib/setup.ts). */
  reason: string | null;
}

// The switch's words come from the browser's i18n (locales/*.yml `toggle.*`, STYLE §14): in German
// Outlook the switch speaks German, and English tables here cost the content scripts' 25 KB budget.
const TIPS: Record<ToggleStatus, (state: ToggleState, site: string) => string> = {
  ready: ({ on }) => (on ? t('toggle.tipReadyOn') : t('toggle.tipReadyOff')),
  offline: ({ on }) => (on ? t('toggle.tipOfflineOn') : t('toggle.tipOfflineOff')),
  setup: ({ reason }) => t('toggle.tipSetup', { reason: reason ?? t('toggle.setupUnknown') }),
  broken: (_state, site) => t('toggle.tipBroken', { site }),
};

const LABELS: Record<ToggleStatus, (site: string) => string> = {
  ready: () => t('toggle.label'),
  offline: () => t('toggle.labelOffline'),
  setup: () => t('toggle.labelSetup'),
  broken: (site) => t('toggle.labelBroken', { site }),
};

export function toggleTip(state: ToggleState, site = 'Gmail'): string {
  return TIPS[state.status](state, site);
}

export function TrackToggle(props: { state: Signal<ToggleState>; site: string; onToggle: () => void }) {
  const { on, status } = props.state.value;
  // SPEC §6: the pixel goes out exactly when the switch shows on at Send. With setup incomplete
  // or a broken page no pixel can go, so the switch shows off and takes no clicks.
  const usable = status === 'ready' || status === 'offline';
  const checked = usable && on;
  const tip = toggleTip(props.state.value, props.site);
  return (
    <>
      <button
        type="button"
        class={`op-toggle op-${status}`}
        data-openping="toggle"
        data-status={status}
        role="switch"
        aria-checked={checked ? 'true' : 'false'}
        aria-disabled={usable ? undefined : 'true'}
        // aria-describedby for screen readers that do not know ARIA 1.3's aria-description yet.
        aria-description={tip}
        aria-describedby="op-why"
        title={tip}
        onClick={() => {
          if (usable) props.onToggle();
        }}
      >
        <span class="op-track" aria-hidden="true">
          <span class="op-knob" />
        </span>
        <span class="op-label">
          {LABELS[status](props.site)}
        </span>
      </button>
      <span id="op-why" hidden>
        {tip}
      </span>
    </>
  );
}

/** Styles for the switch's shadow root (the page's CSS cannot reach in, nor ours out). */
export const toggleCss = `
:host { display: inline-flex !important; vertical-align: middle; margin: 0 8px; }
.op-toggle { all: initial; display: inline-flex; align-items: center; gap: 6px; cursor: pointer;
  font: 500 13px/20px system-ui, sans-serif; color: #3c4043; padding: 4px 6px; border-radius: 6px; }
.op-toggle:focus-visible { outline: 2px solid #1a73e8; outline-offset: 1px; }
.op-track { position: relative; width: 28px; height: 16px; border-radius: 8px; background: #9aa0a6; transition: background .15s; }
.op-knob { position: absolute; top: 2px; left: 2px; width: 12px; height: 12px; border-radius: 50%; background: #fff; transition: left .15s; }
.op-toggle[aria-checked="true"] .op-track { background: #1a73e8; }
.op-toggle[aria-checked="true"] .op-knob { left: 14px; }
.op-offline[aria-checked="true"] .op-track { background: #f9ab00; }
.op-offline .op-label::before { content: "⚠ "; color: #b06000; }
.op-setup { cursor: not-allowed; color: #5f6368; }
.op-setup .op-track { background: transparent; border: 1px dashed #80868b; box-sizing: border-box; }
.op-setup .op-knob { background: #80868b; top: 1px; left: 1px; }
.op-broken { cursor: not-allowed; color: #a50e0e; }
.op-broken .op-track { background: #dadce0; }
`;
