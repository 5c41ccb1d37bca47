/**
 * List marks (issue 16, STYLE §16): one mark per row of a tracked email in every message list
 * of the webmail, updated in place when its state changes. One MutationObserver, scoped to the
 * lists' region; rows Gmail or Outlook recycle for another message lose a mark that no longer
 * fits. A row laid out in a way the adapter does not know is logged once and left alone.
 */
import type { MarksSource } from '../../marks/client';
import { MARK_SELECTOR, hideCard, putMark, removeMarks, showCard, trackerOf, type CardActions } from '../../marks/mark';
import { MARK_WORDS } from '../../marks/strings';
import type { MarkInfo } from '../../messages';
import type { Webmail, WebmailViews } from '../types';
import { whenPresent } from './when-present';

export interface ListMarksOptions {
  webmail: Webmail;
  views: WebmailViews;
  doc: Document;
  source: MarksSource;
  signal: AbortSignal;
  log?: (message: string) => void;
  /** Called for each row matched to a tracked email by its ids (replies seen in rows, issue 19). */
  onMatch?: (row: HTMLElement, mark: MarkInfo) => void;
}

/** Marks every row of `rows` (all rows of `region` when omitted). Exported for the benchmark. */
export function renderRows(options: ListMarksOptions, region: ParentNode, rows: Iterable<HTMLElement>, learnt: Set<string>, warn: () => void): void {
  const { views, source } = options;
  const index = source.index();
  // How many rows show each text: a subject two rows show is ambiguous. Read only when needed.
  let counts: Map<string, number> | null = null;
  const rowsShowing = (text: string) => {
    if (!counts) {
      counts = new Map();
      for (const row of region.querySelectorAll<HTMLElement>(views.rowSelector)) {
        for (const t of new Set(views.readRow(row)?.texts() ?? [])) counts.set(t, (counts.get(t) ?? 0) + 1);
      }
    }
    return counts.get(text) ?? 0;
  };
  for (const row of rows) {
    const read = views.readRow(row);
    if (!read) {
      warn();
      continue;
    }
    const match = index.size > 0 ? index.match(read, rowsShowing) : null;
    if (!match) {
      // A recycled row now showing an untracked message keeps no mark.
      if (row.querySelector(MARK_SELECTOR)) removeMarks(row);
      continue;
    }
    const anchor = read.markAnchor(match.mark.subject);
    if (!anchor) continue;
    const existing = row.querySelector(MARK_SELECTOR);
    if (existing && existing.parentElement !== anchor) existing.remove();
    putMark(anchor, match.mark);
    // By ids only: a subject match may be another thread with the same subject.
    if (!match.bySubject) options.onMatch?.(row, match.mark);
    if (match.bySubject && (read.ids.thread || read.ids.message) && !learnt.has(match.mark.tracker)) {
      // Keep the row's ids: the next time it is matched by them, whatever the subject.
      learnt.add(match.mark.tracker);
      void source.request({ type: 'ids', tracker: match.mark.tracker, ids: read.ids });
    }
  }
}

export function startListMarks(options: ListMarksOptions): void {
  const { views, doc, source, signal, webmail } = options;
  const log = options.log ?? ((m: string) => console.warn(m));
  let warned = false;
  const warn = () => {
    if (warned) return;
    warned = true;
    log(MARK_WORDS.unknownLayout(webmail === 'gmail' ? 'Gmail' : 'Outlook'));
  };
  const learnt = new Set<string>();
  let region: HTMLElement | null = null;
  let observer: MutationObserver | null = null;

  const markOf = (host: Element): MarkInfo | null => {
    const tracker = trackerOf(host);
    return source.marks().find((m) => m.tracker === tracker) ?? null;
  };
  const actions: CardActions = {
    details: (tracker) => void source.request({ type: 'openDetails', tracker }),
    mute: async (tracker, muted) => (await source.request({ type: 'mute', tracker, muted }))?.ok === true,
  };
  const hostOf = (event: Event): HTMLElement | null => {
    const target = event.target as Element | null;
    return target && typeof target.closest === 'function' ? target.closest<HTMLElement>(MARK_SELECTOR) : null;
  };

  const attach = (found: HTMLElement) => {
    region = found;
    const all = () => found.querySelectorAll<HTMLElement>(views.rowSelector);
    observer = new MutationObserver((records) => {
      const rows = new Set<HTMLElement>();
      for (const record of records) {
        const target = record.target as Element;
        // Our own marks coming, going or changing (glyph, card) are no news.
        if (target.closest?.(MARK_SELECTOR)) continue;
        const changed = [...record.addedNodes, ...record.removedNodes];
        if (changed.length > 0 && changed.every((n) => (n as Element).matches?.(MARK_SELECTOR))) continue;
        const row = target.closest?.<HTMLElement>(views.rowSelector);
        if (row) rows.add(row);
        for (const node of record.addedNodes) {
          if (node.nodeType !== 1) continue;
          const el = node as HTMLElement;
          if (el.matches(MARK_SELECTOR)) continue;
          if (el.matches(views.rowSelector)) rows.add(el);
          else for (const r of el.querySelectorAll<HTMLElement>(views.rowSelector)) rows.add(r);
        }
      }
      if (rows.size > 0) renderRows(options, found, rows, learnt, warn);
    });
    observer.observe(found, { childList: true, subtree: true });

    // The card: delegated, so a thousand rows cost no listeners of their own.
    const opts = { signal, capture: false } as const;
    found.addEventListener('mouseover', (e) => {
      const host = hostOf(e);
      const mark = host && markOf(host);
      if (host && mark) showCard(host, mark, actions);
    }, opts);
    found.addEventListener('mouseout', (e) => {
      const host = hostOf(e);
      if (host && !host.contains(e.relatedTarget as Node | null) && !host.matches(':focus-within')) hideCard(host);
    }, opts);
    found.addEventListener('focusin', (e) => {
      const host = hostOf(e);
      const mark = host && markOf(host);
      if (host && mark) showCard(host, mark, actions);
    }, opts);
    found.addEventListener('focusout', (e) => {
      const host = hostOf(e);
      const next = e.relatedTarget as Node | null;
      if (host && !(next && (host.contains(next) || host.shadowRoot?.contains(next)))) hideCard(host);
    }, opts);
    found.addEventListener('keydown', (e) => {
      const host = hostOf(e);
      if (!host) return;
      // The webmail's keyboard shortcuts must not fire while the mark or its card has focus.
      e.stopPropagation();
      if (e.key === 'Escape') hideCard(host);
    }, opts);

    renderRows(options, found, all(), learnt, warn);
  };

  const unsubscribe = source.subscribe(() => {
    if (region) renderRows(options, region, region.querySelectorAll<HTMLElement>(views.rowSelector), learnt, warn);
  });

  whenPresent(doc, () => views.listRegion(doc), attach, signal);

  signal.addEventListener(
    'abort',
    () => {
      unsubscribe();
      observer?.disconnect();
      if (region) removeMarks(region);
    },
    { once: true },
  );
}
