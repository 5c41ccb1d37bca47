/**
 * The content script's view of the tracked emails of its webmail (issue 16): asked of the
 * background once, and again whenever the background says IndexedDB changed
 * (`dataChangedAt` in storage.local, which storage.onChanged brings to content scripts too).
 * No timers: a new hit reaches the page as soon as the background has stored it.
 */
import { browser } from 'wxt/browser';
import { send, type ContentToBackground, type MarkInfo, type ResponseOf } from '../messages';
import { DATA_CHANGED } from '../settings';
import type { Webmail } from '../webmail/types';
import { MarkIndex } from './index';

export interface MarksSource {
  marks(): readonly MarkInfo[];
  index(): MarkIndex;
  /** Calls `fn` after every load (the first one included); returns the unsubscribe. */
  subscribe(fn: () => void): () => void;
  /** Asks the background; never throws ("Extension context invalidated" is expected, STYLE §4). */
  request<M extends ContentToBackground>(message: M): Promise<ResponseOf<M> | null>;
}

async function quietly<M extends ContentToBackground>(message: M): Promise<ResponseOf<M> | null> {
  try {
    return ((await send(message)) as ResponseOf<M> | undefined) ?? null;
  } catch {
    return null;
  }
}

export function createMarksSource(webmail: Webmail, signal: AbortSignal): MarksSource {
  let marks: readonly MarkInfo[] = [];
  let index = new MarkIndex([]);
  const listeners = new Set<() => void>();
  let loading: Promise<void> | null = null;
  let again = false;

  const load = (): Promise<void> => {
    if (loading) {
      // A change while a load is under way: load once more after it, with what it missed.
      again = true;
      return loading;
    }
    loading = (async () => {
      do {
        again = false;
        const answer = await quietly({ type: 'marks', webmail });
        if (signal.aborted || !answer) return;
        marks = answer.marks;
        index = new MarkIndex(marks);
        for (const fn of listeners) fn();
      } while (again && !signal.aborted);
    })().finally(() => (loading = null));
    return loading;
  };

  const onStorage = (changes: Record<string, unknown>, area: string) => {
    if (area === 'local' && DATA_CHANGED in changes) void load();
  };
  browser.storage.onChanged.addListener(onStorage);
  signal.addEventListener('abort', () => browser.storage.onChanged.removeListener(onStorage), { once: true });
  void load();

  return {
    marks: () => marks,
    index: () => index,
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    request: quietly,
  };
}
