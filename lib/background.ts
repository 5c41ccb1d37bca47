import { browser } from 'wxt/browser';

/** Wires the background's listeners; filled in by the sync issue. */
export function startBackground(): void {
  browser.runtime.onInstalled.addListener(() => {
    console.info('[openping] installed');
  });
}
