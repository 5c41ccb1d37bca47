/**
 * The mark itself (issue 16, SPEC §6): a small element in the page's DOM,
 * `span[data-openping="mark"][data-state][data-opens]`, holding ✔ (sent, delivered) or
 * ✔✔ (opened); `data-muted` when the user muted the email. Hover or keyboard focus shows a
 * card (the state in words, the opens, the last one, "Details", and Mute/Unmute, issue 17).
 * Plain DOM, no framework: a list may hold a thousand rows.
 * The card lives in a shadow root made on first show, so the page's styles never reach it.
 */
import type { MarkInfo } from '../messages';
import { MARK_WORDS as W } from './strings';

export const MARK_SELECTOR = '[data-openping="mark"]';
const TRACKER_ATTR = 'data-tracker';

const COLORS: Record<MarkInfo['state'], string> = { sent: '#80868b', delivered: '#80868b', opened: '#188038', replied: '#1a73e8' };

/** The state in words, as the card and the status line say it. */
export function stateWords(mark: MarkInfo): string {
  if (mark.state === 'opened') return W.opened(mark.opens);
  if (mark.state === 'delivered') return mark.substate === 'apple-mpp' ? W.deliveredApple() : W.delivered();
  if (mark.state === 'replied') return W.replied();
  return W.sent();
}

/** "today 14:02 · Berlin, DE · via Gmail's image proxy": the last open, what is known of it. */
export function lastOpenWords(mark: MarkInfo): string | null {
  if (!mark.lastOpenAt) return null;
  // `lastOpenVia` comes named by the background (lib/marks/data.ts), so the content scripts carry no name table.
  const via = mark.lastOpenVia;
  const place = mark.lastOpenPlace && !mark.lastOpenPlace.startsWith('via ') ? mark.lastOpenPlace : null;
  const time = new Date(mark.lastOpenAt).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  return [time, place, via ? W.via(via) : null].filter(Boolean).join(' · ');
}

/** Creates or updates the mark at the start of `anchor`. */
export function putMark(anchor: HTMLElement, mark: MarkInfo): HTMLElement {
  let host = anchor.querySelector<HTMLElement>(`:scope > ${MARK_SELECTOR}`);
  if (!host) {
    host = anchor.ownerDocument.createElement('span');
    host.setAttribute('data-openping', 'mark');
    host.tabIndex = 0;
    // A group, not a button: focus opens the card, whose Details and Mute are buttons of their own, and
    // a button may hold no focusable descendants (axe nested-interactive, WAI-ARIA "children presentational").
    host.setAttribute('role', 'group');
    host.style.cssText = 'display:inline-block;margin-right:4px;font:bold 12px/1 sans-serif;letter-spacing:-3px;cursor:default;position:relative;vertical-align:baseline';
    anchor.prepend(host);
  }
  const glyph = mark.state === 'opened' || mark.state === 'replied' ? '✔✔' : '✔';
  if (host.getAttribute('data-state') !== mark.state) host.setAttribute('data-state', mark.state);
  if (host.getAttribute('data-opens') !== String(mark.opens)) host.setAttribute('data-opens', String(mark.opens));
  if (host.getAttribute(TRACKER_ATTR) !== mark.tracker) host.setAttribute(TRACKER_ATTR, mark.tracker);
  if (mark.substate) host.setAttribute('data-substate', mark.substate);
  else host.removeAttribute('data-substate');
  host.toggleAttribute('data-muted', mark.muted);
  if (host.textContent !== glyph) host.textContent = glyph;
  // Apple Mail readers: an outlined mark — delivered, and nobody can know more.
  host.style.color = mark.substate === 'apple-mpp' ? 'transparent' : COLORS[mark.state];
  host.style.webkitTextStroke = mark.substate === 'apple-mpp' ? `1px ${COLORS.delivered}` : '';
  // The name says the state (issue 17 item 5): "OpenPing status: Opened 2× · Notifications muted".
  host.setAttribute('aria-label', `${W.label()}: ${stateWords(mark)}${mark.muted ? ` · ${W.muted()}` : ''}`);
  // A card already made shows the new state at once (a hit, or the mute just pressed).
  if (host.shadowRoot?.firstChild) fillCard(host.shadowRoot, mark);
  return host;
}

export function removeMarks(scope: ParentNode): void {
  for (const host of scope.querySelectorAll(MARK_SELECTOR)) host.remove();
}

const CARD_CSS =
  '.card{position:absolute;z-index:2147483000;top:100%;left:0;margin-top:4px;width:260px;background:#fff;color:#202124;border:1px solid #dadce0;border-radius:8px;padding:10px 12px;box-shadow:0 2px 8px #0003;font:13px/1.4 system-ui,sans-serif;letter-spacing:normal;white-space:normal;text-align:left}' +
  '.state{font-weight:600}.last,.muted{color:#5f6368;margin-top:2px}' +
  'button{margin-top:8px;margin-right:12px;font:inherit;color:#1a73e8;background:none;border:0;padding:0;cursor:pointer;text-decoration:underline}button:focus-visible{outline:2px solid #1a73e8;outline-offset:2px}';

export interface CardActions {
  /** "Details": the popup's detail view of the email. */
  details(tracker: string): void;
  /** Mute (true) or unmute the email's notifications; resolves whether the background did it. */
  mute(tracker: string, muted: boolean): Promise<boolean>;
}

/** Shows the card of `host` for `mark`. */
export function showCard(host: HTMLElement, mark: MarkInfo, actions: CardActions): void {
  const shadow = host.shadowRoot ?? host.attachShadow({ mode: 'open' });
  if (!shadow.firstChild) {
    const doc = host.ownerDocument;
    const style = doc.createElement('style');
    style.textContent = CARD_CSS;
    const card = doc.createElement('div');
    card.className = 'card';
    card.setAttribute('role', 'group');
    card.setAttribute('data-openping', 'mark-card');
    const details = doc.createElement('button');
    details.type = 'button';
    details.setAttribute('data-openping', 'mark-details');
    details.textContent = W.details();
    details.addEventListener('click', (event) => {
      event.preventDefault();
      actions.details(host.getAttribute(TRACKER_ATTR) ?? mark.tracker);
    });
    const mute = doc.createElement('button');
    mute.type = 'button';
    mute.setAttribute('data-openping', 'mark-mute');
    mute.addEventListener('click', (event) => {
      event.preventDefault();
      const tracker = host.getAttribute(TRACKER_ATTR) ?? mark.tracker;
      const muted = mute.getAttribute('data-action') === 'mute';
      // The card says it at once; the marks reload (the background's data change) confirms it.
      void actions.mute(tracker, muted).then((ok) => {
        if (ok && host.getAttribute(TRACKER_ATTR) === tracker) fillMuted(shadow, muted);
      });
    });
    // A click on the card stays in it: the row under it must not open (the webmail's row handlers
    // may sit anywhere between the row and the page).
    card.addEventListener('click', (event) => event.stopPropagation());
    const state = doc.createElement('div');
    state.className = 'state';
    const last = doc.createElement('div');
    last.className = 'last';
    const muted = doc.createElement('div');
    muted.className = 'muted';
    card.append(state, last, muted, details, mute);
    shadow.append(style, doc.createElement('slot'), card);
  }
  fillCard(shadow, mark);
  (shadow.querySelector('.card') as HTMLElement).hidden = false;
}

export function fillCard(shadow: ShadowRoot, mark: MarkInfo): void {
  shadow.querySelector('.state')!.textContent = stateWords(mark);
  const last = lastOpenWords(mark);
  const lastEl = shadow.querySelector<HTMLElement>('.last')!;
  lastEl.textContent = last ? W.lastOpen(last) : '';
  lastEl.hidden = !last;
  fillMuted(shadow, mark.muted);
}

function fillMuted(shadow: ShadowRoot, muted: boolean): void {
  const line = shadow.querySelector<HTMLElement>('.muted')!;
  line.textContent = muted ? W.muted() : '';
  line.hidden = !muted;
  const button = shadow.querySelector<HTMLElement>('[data-openping="mark-mute"]')!;
  button.setAttribute('data-action', muted ? 'unmute' : 'mute');
  button.textContent = muted ? W.unmute() : W.mute();
}

export function hideCard(host: HTMLElement): void {
  const card = host.shadowRoot?.querySelector<HTMLElement>('.card');
  if (card) card.hidden = true;
}

export function trackerOf(host: Element): string | null {
  return host.getAttribute(TRACKER_ATTR);
}
