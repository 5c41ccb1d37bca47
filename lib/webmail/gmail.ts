/**
 * The Gmail adapter (STYLE §1): finds composes and message views in
 * mail.google.com and talks to Gmail's editor; lib/compose.ts does the rest.
 * Selectors live in gmail-selectors.ts. One MutationObserver per page serves
 * every watcher; no timers.
 */
import { isAtEnd } from '../pixel';
import { gmailOwnAddresses, timeOfMessageId } from './features/replies-gmail';
import * as S from './gmail-selectors';
import { SelectorError, type ComposeHandle, type ListRow, type MessageIds, type Recipient, type RowActivity, type SendEvent, type ThreadMessage, type WebmailAdapter, type WebmailViews } from './types';

type Selector = S.Selector;

function first<E extends Element = HTMLElement>(root: ParentNode, selector: Selector): E | null {
  for (const alternative of selector) {
    const found = root.querySelector<E>(alternative);
    if (found) return found;
  }
  return null;
}

function required<E extends Element = HTMLElement>(root: ParentNode, selector: Selector, what: string): E {
  const found = first<E>(root, selector);
  if (!found) throw new SelectorError('gmail', selector.join(' | '), what);
  return found;
}

/** `root` itself and its descendants matching any alternative. */
function allWithin<E extends Element>(root: Node, selector: Selector): E[] {
  if (root.nodeType !== 1 && root.nodeType !== 9 && root.nodeType !== 11) return [];
  const scope = root as Element;
  const found = new Set<E>();
  for (const alternative of selector) {
    if (root.nodeType === 1 && scope.matches(alternative)) found.add(scope as unknown as E);
    for (const el of scope.querySelectorAll<E>(alternative)) found.add(el);
  }
  return [...found];
}

function closest(el: Element, selector: Selector): HTMLElement | null {
  for (const alternative of selector) {
    const found = el.closest<HTMLElement>(alternative);
    if (found) return found;
  }
  return null;
}

// ---------------------------------------------------------------------------
// One observer per observed root, shared by all watchers (Gmail mutates a lot;
// one callback walking each batch once is cheaper than one per feature).

type MutationListener = (records: MutationRecord[]) => void;
const hubs = new WeakMap<Node, { observer: MutationObserver; listeners: Set<MutationListener> }>();

function onMutations(root: Node, listener: MutationListener, signal: AbortSignal): void {
  if (signal.aborted) return;
  let hub = hubs.get(root);
  if (!hub) {
    const listeners = new Set<MutationListener>();
    const observer = new MutationObserver((records) => {
      // One failing listener (one compose's) must not starve the others of this batch.
      for (const l of [...listeners]) {
        try {
          l(records);
        } catch (error) {
          console.warn('[openping] gmail: a page watcher failed', error);
        }
      }
    });
    // `src` changes: Gmail fills in message images after "Display images" or lazily.
    observer.observe(root, { childList: true, subtree: true, attributes: true, attributeFilter: ['src'] });
    hub = { observer, listeners };
    hubs.set(root, hub);
  }
  const current = hub;
  current.listeners.add(listener);
  signal.addEventListener(
    'abort',
    () => {
      current.listeners.delete(listener);
      if (current.listeners.size === 0) {
        current.observer.disconnect();
        hubs.delete(root);
      }
    },
    { once: true },
  );
}

// nodeType, not instanceof: a node may come from another realm (frames, test DOMs).
function observedRoot(root: ParentNode): Node {
  return (root as Node).nodeType === 9 ? (root as Document).documentElement : (root as Node);
}

// ---------------------------------------------------------------------------

/** Gmail's editor saves drafts from editor events (gmail.js #802); a typed edit fires `input`, then `keyup`. */
function notifyEditor(body: HTMLElement): void {
  body.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertReplacementText' }));
  // InboxSDK `#triggerDraftSave` simulates a key on the body for the same reason;
  // a modifier key is used here so no editor can read it as a character to insert
  // (InboxSDK notes a synthetic '.' keypress once came out as '¾').
  body.dispatchEvent(new KeyboardEvent('keyup', { bubbles: true, key: 'Shift', code: 'ShiftLeft', keyCode: 16 } as KeyboardEventInit));
}

const EMAIL = /[^\s<>"'()]+@[^\s<>"'()]+\.[^\s<>"'()]+/;

function parseAddress(text: string): Recipient | null {
  const address = EMAIL.exec(text)?.[0];
  if (!address) return null;
  const name = text.replace(address, '').replace(/[<>"]/g, '').trim();
  return { name: name || null, address };
}

/** The account's address: Gmail's title reads "<view> - me@example.com - Gmail" in every language, so the last address in it. */
function accountAddress(doc: Document): string | null {
  const all = doc.title.match(new RegExp(EMAIL.source, 'g'));
  return all?.at(-1) ?? null;
}

function composeHandle(root: HTMLElement): ComposeHandle {
  const doc = root.ownerDocument;
  const subject = () => {
    const typed = first<HTMLInputElement>(root, S.subject)?.value.trim();
    if (typed) return typed;
    // Inline replies carry no visible subject; the thread's heading has it.
    const main = first(doc, S.main);
    return (main && root.closest('[role="main"]') && first(main, S.threadSubject)?.textContent?.trim()) || '';
  };
  return {
    root,
    body: () => required(root, S.body, 'compose body'),
    subject,
    recipients() {
      const chips = allWithin<HTMLElement>(root, S.recipientChip);
      const found: Recipient[] = chips.map((chip) => ({
        name: chip.getAttribute('data-name') || null,
        address: chip.getAttribute('data-hovercard-id')!,
      }));
      for (const input of allWithin<HTMLInputElement>(root, S.recipientLegacyInput)) {
        const parsed = parseAddress(input.value);
        if (parsed) found.push(parsed);
      }
      const seen = new Set<string>();
      return found.filter((r) => EMAIL.test(r.address) && !seen.has(r.address.toLowerCase()) && seen.add(r.address.toLowerCase()));
    },
    sender() {
      const from = first<HTMLInputElement>(root, S.fromInput)?.value;
      return parseAddress(from ?? '')?.address ?? accountAddress(doc);
    },
    threadUrl() {
      const here = `${doc.location.origin}${doc.location.pathname}`;
      // An inline reply sits in the thread it answers, whose URL is the page's.
      if (root.closest('[role="main"]') && !root.closest('[role="dialog"]')) return doc.location.href;
      const legacy = first<HTMLInputElement>(root, S.legacyThreadId)?.value;
      if (legacy && /^[0-9a-f]{8,}$/i.test(legacy)) return `${here}#all/${legacy}`;
      // A new message has no thread until Gmail has sent it; its "View message"
      // link runs a search of Sent too. Gmail search URLs write spaces as '+'.
      const title = subject();
      if (!title) return null;
      return `${here}#search/${encodeURIComponent(`in:sent subject:"${title.replace(/"/g, '')}"`).replace(/%20/g, '+')}`;
    },
    ids(): MessageIds {
      // A reply: the open thread's id (its heading), or the compose form's hidden `lts`.
      const inThread = root.closest('[role="main"]') && !root.closest('[role="dialog"]');
      const heading = inThread ? first(doc, S.threadHeading) : null;
      const legacy = heading?.getAttribute('data-legacy-thread-id') ?? first<HTMLInputElement>(root, S.legacyThreadId)?.value ?? '';
      return { thread: /^[0-9a-f]{8,}$/i.test(legacy) ? legacy.toLowerCase() : null, message: null };
    },
    toggleAnchor() {
      // After the Send group: Send and its schedule arrow share a parent (InboxSDK `getSendButtonGroup`).
      const more = first(root, S.moreSendOptions);
      if (more?.parentElement) return more.parentElement;
      return required(root, S.sendButton, 'Send button');
    },
  };
}

/** Compose roots inside (or equal to) `node`, found through their editable body. */
function composeRootsIn(node: Node): HTMLElement[] {
  const roots = new Set<HTMLElement>();
  for (const body of allWithin<HTMLElement>(node, S.body)) {
    const root = closest(body, S.composeRoot);
    if (root) roots.add(root);
  }
  return [...roots];
}

function isInCompose(el: Element): boolean {
  return el.closest('[contenteditable="true"], [g_editable="true"]') !== null;
}

const HEX_ID = /^[0-9a-f]{8,24}$/i;

/** `thread-f:1786000000000000001` → its legacy hex id `18c9a7f2b3d4e5f6` (the same number in base 16). */
export function legacyFromPerm(perm: string | null | undefined, prefix: string): string | null {
  const decimal = new RegExp(`${prefix}:(\\d{6,20})`).exec(perm ?? '')?.[1];
  return decimal ? BigInt(decimal).toString(16) : null;
}

function hexOrNull(value: string | null | undefined): string | null {
  return value && HEX_ID.test(value) ? value.toLowerCase() : null;
}

/**
 * What a list row shows of its thread (issue 19): the senders, the count, the last message's time from
 * its id. Null for a layout not known, and for lists whose cell names recipients: the Sent and Drafts
 * folders, or any cell with words before its first participant ("To: Ada").
 */
export function gmailRowActivity(row: HTMLElement): RowActivity | null {
  const hash = row.ownerDocument.defaultView?.location.hash ?? '';
  if (/^#(sent|drafts|scheduled)\b/.test(hash)) return null;
  const cell = first(row, S.rowParticipantsCell);
  const people = cell ? [...cell.querySelectorAll<HTMLElement>(S.rowParticipant.join(', '))] : [];
  if (!cell || people.length === 0) return null;
  // Any words before the first participant ("To:", in the user's language) make it a recipients cell.
  const range = row.ownerDocument.createRange();
  range.setStart(cell, 0);
  range.setEndBefore(people[0]!);
  if (range.toString().trim() !== '') return null;
  const countText = first(row, S.rowCount)?.textContent?.trim() ?? '';
  const count = countText === '' ? 1 : /^\(?(\d{1,4})\)?$/.exec(countText) ? Number(/\d+/.exec(countText)![0]) : NaN;
  if (!Number.isFinite(count)) return null;
  const participants: Recipient[] = people
    .map((p) => ({ name: p.getAttribute('name')?.trim() || p.textContent?.trim() || null, address: p.getAttribute('email')?.trim() ?? '' }))
    .filter((p) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(p.address));
  const last = first(row, S.rowIds)?.getAttribute('data-legacy-last-message-id') ?? null;
  return { count, participants, lastAt: timeOfMessageId(last) };
}

const gmailViews: WebmailViews = {
  listRegion: (doc) => first(doc, S.main),
  threadRegion: (doc) => first(doc, S.main),
  rowSelector: S.listRow.join(', '),
  readRow(row): ListRow | null {
    const anchor = first(row, S.rowMarkAnchor);
    if (!anchor) return null;
    const idEl = first(row, S.rowIds);
    const subjectEl = first(row, S.rowSubject);
    return {
      ids: {
        thread: hexOrNull(idEl?.getAttribute('data-legacy-thread-id')),
        message: hexOrNull(idEl?.getAttribute('data-legacy-last-message-id')),
      },
      texts: () => (subjectEl?.textContent ? [subjectEl.textContent.trim()] : []),
      markAnchor: () => anchor,
    };
  },
  openThread(region) {
    // Gmail keeps hidden older views in the page: the open thread is the heading not inside a
    // hidden one (read from attributes, so no layout is forced).
    const heading = allWithin<HTMLElement>(region as Node, S.threadHeading).find((h) => !h.closest('[hidden], [style*="display: none"], [style*="display:none"]'));
    const thread = hexOrNull(heading?.getAttribute('data-legacy-thread-id'));
    if (!heading || !thread) return null;
    const view = heading.closest('.nH') ?? heading.parentElement!;
    const messages: ThreadMessage[] = allWithin<HTMLElement>(view, S.threadMessage).map((el) => ({
      el,
      ids: { thread, message: hexOrNull(el.getAttribute('data-legacy-message-id')) },
      lineAnchor: first(el, S.messageBody) ?? el,
    }));
    return { thread, messages };
  },
  rowActivity: gmailRowActivity,
  ownAddresses: gmailOwnAddresses,
  sentNoticeSelector: S.sentNoticeLink.join(', '),
  sentNoticeIds(link) {
    const param = link.getAttribute('param');
    const thread = legacyFromPerm(param, 'thread-f');
    return thread ? { thread, message: legacyFromPerm(param, 'msg-f') } : null;
  },
};

export const gmail: WebmailAdapter = {
  name: 'gmail',

  watchComposes(root, onCompose, signal) {
    const open = new Set<HTMLElement>();
    const consider = (node: Node) => {
      for (const composeRoot of composeRootsIn(node)) {
        if (open.has(composeRoot)) continue;
        open.add(composeRoot);
        onCompose(composeHandle(composeRoot));
      }
    };
    consider(observedRoot(root));
    onMutations(
      observedRoot(root),
      (records) => {
        for (const record of records) {
          if (record.type !== 'childList') continue;
          for (const added of record.addedNodes) if (added.nodeType === 1) consider(added);
        }
        // A closed compose's root may come back (Gmail moves a compose between
        // pop-out and full-screen); it is a new compose for us then.
        for (const composeRoot of open) if (!composeRoot.isConnected) open.delete(composeRoot);
      },
      signal,
    );
  },

  watchClose(compose, onClose, signal) {
    let done = false;
    onMutations(
      observedRoot(compose.root.ownerDocument),
      () => {
        if (done || compose.root.isConnected) return;
        done = true;
        onClose();
      },
      signal,
    );
  },

  watchSend(compose, onSend, signal) {
    const { root } = compose;
    required(root, S.sendButton, 'Send button');
    const isSendControl = (target: EventTarget | null) =>
      target instanceof Element && (closest(target, S.sendButton) ?? closest(target, S.sendAndArchiveButton)) !== null;
    const now = (scheduled: boolean): SendEvent => ({ sendAt: Date.now(), scheduled });
    const options = { capture: true, signal };

    // InboxSDK get-presending-stream: capture-phase click and Enter/Space on the
    // send buttons, and Ctrl/Cmd+Enter anywhere in the compose.
    root.addEventListener(
      'click',
      (event) => {
        if (isSendControl(event.target)) onSend(now(false));
      },
      options,
    );
    root.addEventListener(
      'keydown',
      (event) => {
        const enter = event.key === 'Enter' || event.keyCode === 13;
        const space = event.key === ' ' || event.keyCode === 32;
        if (enter && (event.ctrlKey || event.metaKey)) onSend(now(false));
        else if ((enter || space) && !event.repeat && isSendControl(event.target)) onSend(now(false));
      },
      options,
    );
    // "Schedule send" lives in the menu of the arrow next to Send; Gmail may
    // render that menu outside the compose, so listen on the document only while
    // this compose's menu is the one open. The time picked afterwards is not
    // readable without English labels: the tracker is registered as sent now
    // (the server accepts sentAt at most 5 minutes ahead anyway).
    let menuOpen = false;
    root.addEventListener(
      'click',
      (event) => {
        if (event.target instanceof Element && closest(event.target, S.moreSendOptions)) menuOpen = true;
      },
      options,
    );
    const doc = root.ownerDocument;
    const onDocument = (event: Event) => {
      if (!menuOpen || !(event.target instanceof Element)) return;
      if (closest(event.target, S.scheduleSend)) {
        menuOpen = false;
        onSend(now(true));
      } else if (!closest(event.target, S.moreSendOptions)) {
        menuOpen = false;
      }
    };
    doc.addEventListener('click', onDocument, options);
    doc.addEventListener(
      'keydown',
      (event) => {
        if (event.key === 'Enter' || event.key === ' ') onDocument(event);
      },
      options,
    );
  },

  insertPixel(compose, img) {
    const body = compose.body();
    if (img.parentNode === body && isAtEnd(body, img)) return;
    body.appendChild(img);
    notifyEditor(body);
  },

  removePixel(compose, img) {
    const body = compose.body();
    if (!img.isConnected) return;
    img.remove();
    notifyEditor(body);
  },

  watchMessageViews(root, onView, signal) {
    const collect = (node: Node): HTMLImageElement[] =>
      allWithin<HTMLImageElement>(node, S.messageImage).filter((img) => !isInCompose(img));
    const initial = collect(observedRoot(root));
    if (initial.length > 0) onView(initial);
    onMutations(
      observedRoot(root),
      (records) => {
        const images = new Set<HTMLImageElement>();
        for (const record of records) {
          if (record.type === 'attributes') {
            const target = record.target as HTMLImageElement;
            if (target.nodeName === 'IMG' && closest(target, S.messageBody) && !isInCompose(target)) images.add(target);
          } else {
            for (const added of record.addedNodes) if (added.nodeType === 1) for (const img of collect(added)) images.add(img);
          }
        }
        if (images.size > 0) onView([...images]);
      },
      signal,
    );
  },
  views: gmailViews,
};

