/**
 * Whether this browser is set up to track, for the popup (issue 15 item 7;
 * STYLE §8): no account yet, or a pixel URL recipients cannot reach while
 * "Allow a local server (for testing)" is off — the same rule as the compose
 * switch's `setup` status (lib/setup.ts).
 */
import { signal, type ReadonlySignal } from '@preact/signals';
import { browser } from 'wxt/browser';
import { loadIdentity, loadSettings, STORAGE_KEYS } from '../settings';
import { pixelBaseProblem, type SetupProblem } from '../setup';

export interface SetupStatusModel {
  /** undefined until read; null when tracking can work. */
  problem: ReadonlySignal<SetupProblem | null | undefined>;
  load(): Promise<void>;
  /** Follows changes of the account and settings; returns the function that stops it. */
  watch(): () => void;
}

export function createSetupStatusModel(): SetupStatusModel {
  const problem = signal<SetupProblem | null | undefined>(undefined);
  async function load(): Promise<void> {
    const [identity, settings] = await Promise.all([loadIdentity(), loadSettings()]);
    problem.value = pixelBaseProblem(identity?.pixelBase ?? null, settings.allowLocalServer);
  }
  return {
    problem,
    load,
    watch() {
      const onChange = (changes: Record<string, unknown>, area: string) => {
        if (area === 'local' && (STORAGE_KEYS.identity in changes || STORAGE_KEYS.settings in changes)) void load();
      };
      browser.storage.onChanged.addListener(onChange);
      void load();
      return () => browser.storage.onChanged.removeListener(onChange);
    },
  };
}
