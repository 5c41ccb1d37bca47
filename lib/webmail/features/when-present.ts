/**
 * Calls `attach` with the element `find` returns, now or once the app has rendered it: a
 * page-wide observer only until then, so each feature's own observer stays scoped (STYLE §4).
 */
export function whenPresent(doc: Document, find: () => HTMLElement | null, attach: (el: HTMLElement) => void, signal: AbortSignal): void {
  const found = find();
  if (found) return attach(found);
  const waiter = new MutationObserver(() => {
    const now = find();
    if (!now) return;
    waiter.disconnect();
    attach(now);
  });
  waiter.observe(doc.body, { childList: true, subtree: true });
  signal.addEventListener('abort', () => waiter.disconnect(), { once: true });
}
