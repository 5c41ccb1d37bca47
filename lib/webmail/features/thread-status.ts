/**
 * The thread status line (issue 16, STYLE §16): in an open thread, above each tracked message
 * of the sender's, "Opened 2× — last 7 Dec 2026, 14:02 · via Gmail's image proxy" and a
 * Details link. A message is known as tracked by the pixel in its body (the sender's own view
 * shows it, blocked) or by its message id; anything less certain gets no line.
 */
import type { MarksSource } from '../../marks/client';
import { MARK_SELECTOR, lastOpenWords, stateWords } from '../../marks/mark';
import { MARK_WORDS as W } from '../../marks/strings';
import type { MarkInfo } from '../../messages';
import type { ThreadMessage, Webmail, WebmailViews } from '../types';
import { whenPresent } from './when-present';

export interface ThreadStatusOptions {
  webmail: Webmail;
  views: WebmailViews;
  doc: Document;
  source: MarksSource;
  signal: AbortSignal;
}

const LINE_CSS = `:host { display: block; margin: 4px 0 6px; font: 12px/1.4 system-ui, sans-serif; color: #5f6368; }
  button { font: inherit; color: #1a73e8; background: none; border: 0; padding: 0 0 0 8px; cursor: pointer; text-decoration: underline; }`;

function messageOf(messages: ThreadMessage[], mark: MarkInfo): ThreadMessage | null {
  const withPixel = messages.filter((m) => [...m.el.querySelectorAll('img')].some((img) => (img.getAttribute('src') ?? '').includes(`/${mark.tracker}.gif`)));
  if (withPixel.length === 1) return withPixel[0]!;
  if (mark.messageId) return messages.find((m) => m.ids.message === mark.messageId) ?? null;
  return null;
}

function putLine(message: ThreadMessage, mark: MarkInfo, onDetails: (tracker: string) => void): void {
  const doc = message.el.ownerDocument;
  let line = message.el.querySelector<HTMLElement>(`${MARK_SELECTOR}[data-line]`);
  if (!line) {
    line = doc.createElement('div');
    line.setAttribute('data-openping', 'mark');
    line.setAttribute('data-line', '');
    const shadow = line.attachShadow({ mode: 'open' });
    const style = doc.createElement('style');
    style.textContent = LINE_CSS;
    const text = doc.createElement('span');
    const details = doc.createElement('button');
    details.type = 'button';
    details.setAttribute('data-openping', 'mark-details');
    details.textContent = W.details();
    details.addEventListener('click', (event) => {
      event.stopPropagation();
      onDetails(line!.getAttribute('data-tracker') ?? mark.tracker);
    });
    shadow.append(style, text, details);
    message.lineAnchor.before(line);
  }
  line.setAttribute('data-state', mark.state);
  line.setAttribute('data-opens', String(mark.opens));
  line.setAttribute('data-tracker', mark.tracker);
  line.shadowRoot!.querySelector('span')!.textContent = W.line(stateWords(mark), lastOpenWords(mark));
}

export function startThreadStatus({ views, doc, source, signal }: ThreadStatusOptions): void {
  const details = (tracker: string) => void source.request({ type: 'openDetails', tracker });
  let region: HTMLElement | null = null;
  let observer: MutationObserver | null = null;

  const render = () => {
    if (!region) return;
    const thread = views.openThread(region);
    const keep = new Set<Element>();
    if (thread) {
      for (const mark of source.marks()) {
        const message = messageOf(thread.messages, mark);
        if (!message) continue;
        putLine(message, mark, details);
        const line = message.el.querySelector(`${MARK_SELECTOR}[data-line]`);
        if (line) keep.add(line);
      }
    }
    for (const line of region.querySelectorAll(`${MARK_SELECTOR}[data-line]`)) if (!keep.has(line)) line.remove();
  };

  const attach = (found: HTMLElement) => {
    region = found;
    observer = new MutationObserver((records) => {
      // Our own lines changing are no news.
      if (records.every((r) => (r.target as Element).closest?.(MARK_SELECTOR) || [...r.addedNodes, ...r.removedNodes].every((n) => (n as Element).matches?.(MARK_SELECTOR)))) return;
      render();
    });
    observer.observe(found, { childList: true, subtree: true });
    render();
  };
  const unsubscribe = source.subscribe(render);
  whenPresent(doc, () => views.threadRegion(doc), attach, signal);
  signal.addEventListener(
    'abort',
    () => {
      unsubscribe();
      observer?.disconnect();
      for (const line of region?.querySelectorAll(`${MARK_SELECTOR}[data-line]`) ?? []) line.remove();
    },
    { once: true },
  );
}
