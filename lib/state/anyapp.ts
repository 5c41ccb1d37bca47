/**
 * The popup's model for a pixel pasted into another mail app (issue 20, lib/anyapp.ts): signals owned
 * here, components only read them (STYLE §8). Writes go through the background, which owns IndexedDB
 * and the outbox.
 */
import { signal, type ReadonlySignal, type Signal } from '@preact/signals';
import { browser } from 'wxt/browser';
import { pixelHtml, pixelPlainText } from '../anyapp';
import { randomId } from '../ids';
import { send } from '../messages';
import { loadIdentity, STORAGE_KEYS } from '../settings';

/** `refused`: the browser would not write the clipboard; the `<img>` is shown to copy by hand. */
export type CopyPhase = 'idle' | 'copying' | 'copied' | 'refused';

export interface AnyAppModel {
  /** Whether the form is unfolded. */
  open: Signal<boolean>;
  label: Signal<string>;
  /** Mark it sent at its first fetch from another network (on by default). */
  autoSend: Signal<boolean>;
  phase: ReadonlySignal<CopyPhase>;
  /** Why the last copy or registration failed, in words; null when it did not. */
  error: ReadonlySignal<string | null>;
  /** The `<img>` of the last copy (shown as selectable text when the clipboard was refused). */
  html: ReadonlySignal<string | null>;
  /** The label the last copy was registered with, for "listed below as …". */
  copiedLabel: ReadonlySignal<string | null>;
  pixelBase: ReadonlySignal<string | null>;
  load(): Promise<void>;
  /** Follows account changes; returns the unsubscribe. */
  watch(): () => void;
  /** A new tracker: the pixel to the clipboard and the email registered `armed` (call it from the click itself). */
  copy(): Promise<void>;
  /** The last pixel to the clipboard once more (same tracker). */
  copyAgain(): Promise<void>;
  /** The pixel of an email already listed, to the clipboard (its detail's "Copy the pixel again"). */
  copyExisting(tracker: string): Promise<boolean>;
  markSent(tracker: string): Promise<boolean>;
  markOwnHit(tracker: string, at: number): Promise<boolean>;
}

/**
 * Rich text for a compose window, plain text for anything else (SPEC §6's `<img>` exactly; lib/anyapp.ts).
 * Started synchronously by the caller so it runs inside the click's user activation.
 */
export function writePixel(html: string, plain: string, clipboard: Clipboard = navigator.clipboard): Promise<void> {
  try {
    return clipboard.write([
      new ClipboardItem({
        'text/html': new Blob([html], { type: 'text/html' }),
        'text/plain': new Blob([plain], { type: 'text/plain' }),
      }),
    ]);
  } catch (error) {
    // No ClipboardItem, no clipboard (an insecure context): refused like a denied permission.
    return Promise.reject(error);
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function createAnyAppModel(clipboard?: () => Clipboard): AnyAppModel {
  const open = signal(false);
  const label = signal('');
  const autoSend = signal(true);
  const phase = signal<CopyPhase>('idle');
  const error = signal<string | null>(null);
  const html = signal<string | null>(null);
  const copiedLabel = signal<string | null>(null);
  const pixelBase = signal<string | null>(null);
  let last: { tracker: string; base: string } | null = null;

  const board = () => (clipboard ? clipboard() : navigator.clipboard);

  async function write(base: string, tracker: string): Promise<boolean> {
    const markup = pixelHtml(base, tracker);
    html.value = markup;
    try {
      await writePixel(markup, pixelPlainText(base, tracker), board());
      phase.value = 'copied';
      return true;
    } catch (e) {
      phase.value = 'refused';
      error.value = reasonOf(e);
      return false;
    }
  }

  return {
    open,
    label,
    autoSend,
    phase,
    error,
    html,
    copiedLabel,
    pixelBase,
    async load() {
      pixelBase.value = (await loadIdentity())?.pixelBase ?? null;
    },
    watch() {
      // The account may be created (or replaced) while the popup is open.
      const listener = (changes: Record<string, unknown>, area: string) => {
        if (area === 'local' && STORAGE_KEYS.identity in changes) void this.load();
      };
      browser.storage.onChanged.addListener(listener);
      return () => browser.storage.onChanged.removeListener(listener);
    },
    async copy() {
      const base = pixelBase.value;
      if (!base) {
        error.value = 'no-account';
        return;
      }
      const tracker = randomId();
      last = { tracker, base };
      phase.value = 'copying';
      error.value = null;
      const text = label.value;
      // Both start now: the clipboard write must begin inside the click's activation.
      const writing = write(base, tracker);
      const registering = send({ type: 'trackOtherApp', tracker, label: text, autoSend: autoSend.value }).catch((e: unknown) => ({
        ok: false,
        error: reasonOf(e),
      }));
      const [, registered] = await Promise.all([writing, registering]);
      if (!registered.ok) {
        error.value = registered.error ?? 'not-registered';
        return;
      }
      copiedLabel.value = text.trim() || null;
      label.value = '';
    },
    async copyAgain() {
      if (!last) return;
      error.value = null;
      await write(last.base, last.tracker);
    },
    async copyExisting(tracker) {
      const base = pixelBase.value;
      if (!base) return false;
      last = { tracker, base };
      error.value = null;
      return write(base, tracker);
    },
    async markSent(tracker) {
      return (await send({ type: 'markSent', tracker })).ok;
    },
    async markOwnHit(tracker, at) {
      return (await send({ type: 'markOwnHit', tracker, at })).ok;
    },
  };
}
