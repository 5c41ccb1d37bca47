/**
 * Outlook on the web (outlook.live.com, outlook.office.com, outlook.office365.com)
 * behind the shared adapter shape (STYLE §1). Everything site-specific is here
 * and in outlook-selectors.ts; lib/compose.ts does the tracking.
 *
 * The new Outlook is a React app built with Fluent UI: composes appear in the
 * reading pane, as inline replies inside a conversation, as tabs of several
 * drafts, and in pop-out windows (…/deeplink/compose). Its handlers are
 * delegated at the React root (bubble phase), so capture-phase listeners on a
 * compose run before Outlook reads the editor to send.
 */
import * as sel from './outlook-selectors';
import { SelectorError, type ComposeHandle, type ListRow, type MessageIds, type Recipient, type SendEvent, type ThreadMessage, type WebmailAdapter, type WebmailViews } from './types';

const EMAIL = /[^\s<>()"';,:]+@[^\s<>()"';,:]+\.[^\s<>()"';,:]+/;

/** A body not followed by its send button within this time is treated as a changed Outlook. */
const SEND_BUTTON_GRACE_MS = 1_000;
/** Scheduled send: the compose leaves the page right after the time is confirmed. */
const SCHEDULE_CONFIRM_WINDOW_MS = 3_000;
/** A menu opened from Send this long ago no longer counts as the start of a scheduled send. */
const SEND_MENU_WINDOW_MS = 120_000;
/** Enter on a focused Send can raise keydown and click: one send. */
const DOUBLE_SEND_MS = 800;

function queryFirst<T extends Element>(scope: ParentNode, ...selectors: string[]): T | null {
  for (const selector of selectors) {
    const found = scope.querySelector<T>(selector);
    if (found) return found;
  }
  return null;
}

/** Duck-typed: pages and test DOMs each have their own Element constructor. */
function isElement(node: unknown): node is HTMLElement {
  return typeof node === 'object' && node !== null && (node as Node).nodeType === 1;
}

function isComposeBody(el: Element): el is HTMLElement {
  return el.matches(sel.composeBody) || el.matches(sel.composeBodyFallback);
}

/** Compose bodies in `scope`, including `scope` itself, in document order, without duplicates. */
export function composeBodiesIn(scope: ParentNode): HTMLElement[] {
  const found = new Set<HTMLElement>();
  if (isElement(scope) && isComposeBody(scope)) found.add(scope);
  for (const el of scope.querySelectorAll<HTMLElement>(`${sel.composeBody}, ${sel.composeBodyFallback}`)) found.add(el);
  return [...found];
}

const SEND_NAMES = new Set(sel.sendNames);
/** How a missing Send is named in the log (SelectorError). */
const SEND_WHAT = `a button named ${sel.sendNames.join('/')}, ${sel.sendButtonFallback}`;

/** "Send (Ctrl+Enter)" → "send": the command's name without its shortcut, lower case. */
function commandName(label: string | null): string {
  return (label ?? '').replace(/\s*\([^)]*\)\s*$/, '').trim().toLowerCase();
}

/** A compose's Send by its accessible name (outlook-selectors.ts `sendNames`); never a ribbon command. */
export function isNamedSend(el: Element): boolean {
  if (el.closest(sel.ribbonItem)) return false;
  return SEND_NAMES.has(commandName(el.getAttribute('aria-label'))) || SEND_NAMES.has(commandName(el.getAttribute('title')));
}

/** The class fallback (a dated guess): never inside a ribbon command (in real markup only the ribbon's group carries the mark). */
export function isFallbackSend(el: Element): boolean {
  return el.matches(sel.sendButtonFallback) && !el.closest(sel.ribbonItem);
}

function isSendButton(el: Element): boolean {
  return isNamedSend(el) || isFallbackSend(el);
}

/** Send in `scope`: by its name first; the class fallback (a dated guess) only when no button is named Send. */
export function findSendButton(scope: ParentNode, fallback = true): HTMLButtonElement | null {
  for (const el of scope.querySelectorAll<HTMLButtonElement>(sel.sendCandidates)) if (isNamedSend(el)) return el;
  if (!fallback) return null;
  for (const el of scope.querySelectorAll<HTMLButtonElement>(sel.sendButtonFallback)) if (isFallbackSend(el)) return el;
  return null;
}

/**
 * The ancestors of `body` a compose root may be, nearest first: never one holding a second
 * compose body (then its Send could be another draft's), nor a ribbon command (then it is
 * the page: New mail is a split button too), nor the reading pane or anything above it.
 */
function rootCandidates(body: HTMLElement): HTMLElement[] {
  const candidates: HTMLElement[] = [];
  for (let el = body.parentElement; el && el !== body.ownerDocument.body; el = el.parentElement) {
    if (el.matches(sel.readingPane) || el.querySelector(sel.ribbonItem) || composeBodiesIn(el).length > 1) break;
    candidates.push(el);
  }
  return candidates;
}

/**
 * The compose root of `body`: its nearest allowed ancestor holding a button named Send;
 * failing that, one holding the class fallback (a dated guess). When neither is found: a
 * pop-out's dialog, else the editor's wrapper's parent — `send` is then null.
 */
export function composeRootOf(body: HTMLElement): { root: HTMLElement; send: HTMLButtonElement | null } {
  const candidates = rootCandidates(body);
  for (const fallback of [false, true]) {
    for (const el of candidates) {
      const send = findSendButton(el, fallback);
      if (send) return { root: el, send };
    }
  }
  const container = body.closest<HTMLElement>(sel.composeContainerFallback);
  return { root: container ?? candidates[1] ?? candidates[0] ?? body.parentElement ?? body, send: null };
}

function addressOf(chip: Element): string | null {
  for (const value of [chip.getAttribute('title'), chip.getAttribute('aria-label'), chip.getAttribute('data-lpc-hover-target-id'), chip.textContent]) {
    const match = value ? EMAIL.exec(value) : null;
    if (match) return match[0].toLowerCase();
  }
  return null;
}

class OutlookCompose implements ComposeHandle {
  constructor(
    readonly root: HTMLElement,
    private firstBody: HTMLElement,
  ) {}

  body(): HTMLElement {
    if (this.root.contains(this.firstBody)) return this.firstBody;
    const body = composeBodiesIn(this.root)[0];
    if (!body) throw new SelectorError('outlook', sel.composeBody, 'compose body');
    this.firstBody = body;
    return body;
  }

  subject(): string {
    const input = queryFirst<HTMLInputElement>(this.root, sel.subject);
    if (input) return input.value.trim();
    // Inline replies have no subject field; the conversation's heading holds it.
    const heading = this.root.closest(sel.conversation)?.querySelector(sel.conversationSubject);
    return heading?.textContent?.trim() ?? '';
  }

  recipients(): Recipient[] {
    const body = this.body();
    const byAddress = new Map<string, Recipient>();
    const chips = [...this.root.querySelectorAll(sel.recipientChip), ...this.root.querySelectorAll(sel.recipientChipFallback)];
    for (const chip of chips) {
      // @mentions in the body are persona chips too; they are not recipients.
      if (body.contains(chip)) continue;
      const address = addressOf(chip);
      if (!address || byAddress.has(address)) continue;
      const text = chip.textContent?.trim() ?? '';
      byAddress.set(address, { name: text && text.toLowerCase() !== address ? text : null, address });
    }
    return [...byAddress.values()];
  }

  sender(): string | null {
    // The mailbox root's title is there without opening anything; the account control's
    // address only once the user opened the account flyout.
    const doc = this.root.ownerDocument;
    const own = doc.querySelector(sel.ownAddress)?.getAttribute('title') ?? doc.querySelector(sel.ownAddressFallback)?.textContent ?? '';
    return EMAIL.exec(own)?.[0].toLowerCase() ?? null;
  }

  threadUrl(): string | null {
    const location = this.root.ownerDocument.defaultView?.location;
    if (!location) return null;
    // An inline reply: the page's URL is the conversation's (…/mail/0/inbox/id/<id>).
    if (this.root.closest(sel.conversation) && /\/id\//.test(location.pathname)) return location.href;
    // A new message's item id is not in the page before it is sent: link its folder.
    const prefix = /^(.*?\/mail\/(?:\d+\/)?)/.exec(location.pathname)?.[1] ?? '/mail/';
    return `${location.origin}${prefix}sentitems`;
  }

  ids(): MessageIds {
    // An inline reply answers the conversation selected in the list; a new message has no id
    // before Outlook has sent it (its row is matched later, by subject where unambiguous).
    if (!this.root.closest(sel.conversation)) return { thread: null, message: null };
    return { thread: this.root.ownerDocument.querySelector(sel.selectedRow)?.getAttribute('data-convid') ?? null, message: null };
  }

  toggleAnchor(): HTMLElement {
    const send = findSendButton(this.root);
    if (!send) throw new SelectorError('outlook', SEND_WHAT, 'Send button');
    return send.closest<HTMLElement>(sel.sendSplitButton) ?? send;
  }
}

/**
 * One observer for every compose waiting to leave the page: Outlook removes a
 * compose on send or discard, from anywhere up its tree. `first` callbacks run
 * before the others, so a scheduled send is reported before the close.
 */
interface Leaver {
  fire: () => void;
  first: boolean;
}
const leaving = new Map<HTMLElement, Set<Leaver>>();
let leaveObserver: MutationObserver | null = null;

function onLeave(root: HTMLElement, callback: () => void, signal: AbortSignal, first = false): void {
  if (signal.aborted) return;
  if (!root.isConnected) {
    callback();
    return;
  }
  let leavers = leaving.get(root);
  if (!leavers) leaving.set(root, (leavers = new Set()));
  const forget = () => {
    leavers.delete(leaver);
    if (leavers.size === 0 && leaving.get(root) === leavers) leaving.delete(root);
    stopIfIdle();
  };
  const leaver: Leaver = {
    first,
    fire: () => {
      signal.removeEventListener('abort', forget);
      callback();
    },
  };
  leavers.add(leaver);
  signal.addEventListener('abort', forget, { once: true });
  if (!leaveObserver) {
    leaveObserver = new MutationObserver((records) => {
      if (!records.some((r) => r.removedNodes.length > 0)) return;
      for (const [el, set] of [...leaving]) {
        if (el.isConnected) continue;
        leaving.delete(el);
        const ordered = [...set].sort((a, b) => Number(b.first) - Number(a.first));
        for (const { fire } of ordered) fire();
      }
      stopIfIdle();
    });
    leaveObserver.observe(root.ownerDocument.documentElement, { childList: true, subtree: true });
  }
}

function stopIfIdle(): void {
  if (leaving.size > 0 || !leaveObserver) return;
  leaveObserver.disconnect();
  leaveObserver = null;
}

function elementsAdded(records: MutationRecord[]): Element[] {
  const added: Element[] = [];
  for (const record of records) for (const node of record.addedNodes) if (node.nodeType === 1) added.push(node as Element);
  return added;
}

function isSendShortcut(event: KeyboardEvent): boolean {
  // Ctrl/Cmd+Enter (Outlook's documented shortcut); Alt+S in Outlook's own keyboard
  // mode, by key position so it holds on any layout, but not AltGr (Ctrl+Alt) letters.
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) return true;
  return event.altKey && !event.ctrlKey && !event.metaKey && event.code === 'KeyS';
}

function messageViewsIn(scope: ParentNode): HTMLElement[] {
  const views = new Set<HTMLElement>();
  for (const selector of [sel.messageView, sel.messageViewFallback]) {
    if (isElement(scope) && scope.matches(selector)) views.add(scope);
    for (const el of scope.querySelectorAll<HTMLElement>(selector)) views.add(el);
  }
  // A compose is never a message view, nor anything quoted inside one.
  return [...views].filter((view) => !view.closest('[contenteditable="true"]'));
}

function notifyEditor(body: HTMLElement): void {
  // Outlook's editor (roosterjs) saves drafts from the editor's input events; an
  // input event is what a typed edit raises.
  body.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertReplacementText' }));
}

/** The row's elements that hold text alone (Outlook's classes are hashes: no subject class to rely on). */
function textLeaves(row: HTMLElement): HTMLElement[] {
  return [...row.querySelectorAll<HTMLElement>(sel.rowTextLeaf)].filter(
    (el) => el.childElementCount === 0 && el.textContent?.trim() && !el.closest('[data-openping]'),
  );
}

/**
 * No `rowActivity` (issue 19): Outlook's list rows are not read for replies. No captured markup of a
 * real row shows its senders' addresses, a message count or a date with its year (Mailvelope's 2025-11
 * row holds a preview span only), so a row's layout is not known and no reply is guessed from it; the
 * open conversation (features/replies-outlook.ts) tells replies instead.
 */
const outlookViews: WebmailViews = {
  listRegion: (doc) => doc.querySelector<HTMLElement>(sel.listRegion) ?? doc.querySelector<HTMLElement>('[role="listbox"]')?.parentElement ?? null,
  rowSelector: sel.listRow,
  threadRegion: (doc) => doc.querySelector<HTMLElement>(sel.readingPane),
  readRow(row): ListRow | null {
    const convid = row.getAttribute('data-convid');
    if (!convid || !row.firstElementChild) return null;
    return {
      ids: { thread: convid, message: null },
      texts: () => textLeaves(row).map((el) => el.textContent!.trim()),
      // Beside the subject (in its parent, so the subject's own element keeps its text alone).
      markAnchor: (subject) => textLeaves(row).find((el) => el.textContent!.trim() === subject)?.parentElement ?? (row.firstElementChild as HTMLElement),
    };
  },
  openThread(region) {
    const conversation = (region as ParentNode).querySelector<HTMLElement>(sel.conversation);
    const thread = conversation ? conversation.ownerDocument.querySelector(sel.selectedRow)?.getAttribute('data-convid') : null;
    if (!conversation || !thread) return null;
    const messages: ThreadMessage[] = messageViewsIn(conversation).map((el) => ({ el, ids: { thread, message: null }, lineAnchor: el }));
    return { thread, messages };
  },
};

export const outlook: WebmailAdapter = {
  name: 'outlook',

  watchComposes(root, onCompose, signal) {
    const handled = new WeakMap<HTMLElement, OutlookCompose>();
    const waiting = new Map<HTMLElement, number>();
    const timers = new Set<ReturnType<typeof setTimeout>>();

    const emit = (root: HTMLElement, body: HTMLElement) => {
      const existing = handled.get(root);
      if (existing && root.isConnected) return;
      const compose = new OutlookCompose(root, body);
      handled.set(root, compose);
      onCompose(compose);
    };

    const consider = (body: HTMLElement) => {
      if (!body.isConnected) {
        waiting.delete(body);
        return;
      }
      const { root, send } = composeRootOf(body);
      if (send) {
        waiting.delete(body);
        emit(root, body);
        return;
      }
      if (waiting.has(body)) return;
      // React may add the Send button a moment after the editor; past the grace
      // period the compose is reported anyway and its switch says Outlook changed.
      waiting.set(body, Date.now());
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (signal.aborted || !waiting.delete(body) || !body.isConnected) return;
        emit(composeRootOf(body).root, body);
      }, SEND_BUTTON_GRACE_MS);
      timers.add(timer);
    };

    const knownBody = new WeakSet<HTMLElement>();
    const scan = (scope: ParentNode) => {
      for (const body of composeBodiesIn(scope)) {
        if (knownBody.has(body) && !waiting.has(body)) continue;
        knownBody.add(body);
        consider(body);
      }
    };

    const observer = new MutationObserver((records) => {
      for (const el of elementsAdded(records)) scan(el);
      for (const body of [...waiting.keys()]) consider(body);
    });
    observer.observe(root, { childList: true, subtree: true });
    signal.addEventListener(
      'abort',
      () => {
        observer.disconnect();
        for (const timer of timers) clearTimeout(timer);
      },
      { once: true },
    );
    scan(root);
  },

  watchSend(compose, onSend, signal) {
    const { root } = compose;
    if (!findSendButton(root)) throw new SelectorError('outlook', SEND_WHAT, 'Send button');
    let lastSend = 0;
    const send = (event: SendEvent) => {
      if (event.sendAt - lastSend < DOUBLE_SEND_MS) return;
      lastSend = event.sendAt;
      onSend(event);
    };
    const options = { capture: true, signal } as const;

    let sendMenuAt = 0;
    let scheduleClickAt = 0;
    root.addEventListener(
      'click',
      (event) => {
        const target = isElement(event.target) ? event.target : null;
        const button = target?.closest('button');
        if (!button || !root.contains(button)) return;
        if (isSendButton(button)) {
          send({ sendAt: Date.now(), scheduled: false });
        } else if (button.matches(sel.sendMenuButton)) {
          sendMenuAt = Date.now();
        } else {
          // Any other command in the compose (Discard and its confirmation dialog,
          // attachments…) ends a scheduling that never finished.
          sendMenuAt = 0;
          scheduleClickAt = 0;
        }
      },
      options,
    );
    root.addEventListener(
      'keydown',
      (event) => {
        if (isSendShortcut(event)) send({ sendAt: Date.now(), scheduled: false });
      },
      options,
    );

    // Scheduled send: Send's menu → a menu item → a time dialog, both portalled
    // outside the compose, all with localized labels. What tells it apart is the
    // compose leaving the page right after a click in that menu or dialog.
    const doc = root.ownerDocument;
    doc.addEventListener(
      'click',
      (event) => {
        if (!sendMenuAt || Date.now() - sendMenuAt > SEND_MENU_WINDOW_MS) return;
        const target = isElement(event.target) ? event.target : null;
        if (target && !root.contains(target) && target.closest(`${sel.menuItem}, ${sel.dialog}`)) scheduleClickAt = Date.now();
      },
      options,
    );
    onLeave(
      root,
      () => {
        if (scheduleClickAt && Date.now() - scheduleClickAt <= SCHEDULE_CONFIRM_WINDOW_MS) {
          // The chosen time is shown only as localized text; the send time is now.
          send({ sendAt: Date.now(), scheduled: true });
        }
      },
      signal,
      true,
    );
  },

  insertPixel(compose, img) {
    const body = compose.body();
    if (img.parentNode === body && body.lastChild === img) return;
    body.append(img);
    notifyEditor(body);
  },

  removePixel(compose, img) {
    const body = compose.body();
    if (!body.contains(img)) return;
    img.remove();
    notifyEditor(body);
  },

  watchMessageViews(root, onView, signal) {
    const reported = new WeakSet<HTMLImageElement>();
    const report = (view: HTMLElement) => {
      const images = [...view.querySelectorAll('img')].filter((img) => !reported.has(img));
      if (images.length === 0) return;
      for (const img of images) reported.add(img);
      onView(images);
    };
    const observer = new MutationObserver((records) => {
      const views = new Set<HTMLElement>();
      const changed: HTMLImageElement[] = [];
      for (const record of records) {
        // An image already reported whose src is set or replaced later (blocked external
        // content shown on request, lazy loading): the new src may be an own pixel.
        if (record.type !== 'attributes' || record.target.nodeName !== 'IMG') continue;
        const img = record.target as HTMLImageElement;
        const view = img.closest<HTMLElement>(`${sel.messageView}, ${sel.messageViewFallback}`);
        if (view && !view.closest('[contenteditable="true"]') && img.getAttribute('src')) {
          reported.add(img);
          changed.push(img);
        }
      }
      if (changed.length > 0) onView(changed);
      for (const el of elementsAdded(records)) {
        for (const view of messageViewsIn(el)) views.add(view);
        // Images rendered late into a view already on the page.
        if (el.tagName === 'IMG' || el.querySelector('img')) {
          const view = el.parentElement?.closest<HTMLElement>(`${sel.messageView}, ${sel.messageViewFallback}`);
          if (view && !view.closest('[contenteditable="true"]')) views.add(view);
        }
      }
      for (const view of views) report(view);
    });
    observer.observe(root, { childList: true, subtree: true, attributes: true, attributeFilter: ['src'] });
    signal.addEventListener('abort', () => observer.disconnect(), { once: true });
    for (const view of messageViewsIn(root)) report(view);
  },

  watchClose(compose, onClose, signal) {
    onLeave(compose.root, onClose, signal);
  },

  views: outlookViews,
};
