/**
 * The one small shape every webmail adapter exports (STYLE §1): gmail.ts and
 * outlook.ts each implement `WebmailAdapter`; the shared compose controller
 * (lib/compose.ts) does the rest and never touches a site's DOM itself.
 */
export type Webmail = 'gmail' | 'outlook';

export interface Recipient {
  name: string | null;
  address: string;
}

/** Thrown when a lookup that must succeed finds nothing: the site changed (STYLE §3). */
export class SelectorError extends Error {
  override readonly name = 'SelectorError';
  constructor(
    readonly adapter: Webmail,
    readonly selector: string,
    what: string,
  ) {
    super(`${adapter}: ${what} not found (${selector})`);
  }
}

/**
 * One open compose window (pop-out, full-screen or inline reply). Lookups that
 * must succeed (`body`, `toggleAnchor`) throw `SelectorError`; the others
 * return an empty value when the page does not tell.
 */
export interface ComposeHandle {
  readonly root: HTMLElement;
  /** The contenteditable body. */
  body(): HTMLElement;
  subject(): string;
  /** To, Cc and Bcc together. */
  recipients(): Recipient[];
  /** The address the message is sent from (the account's own), when the page tells. */
  sender(): string | null;
  /** A link back to the thread/item, when the page tells one. */
  threadUrl(): string | null;
  /** The Track switch is mounted right after this element (next to Send). */
  toggleAnchor(): HTMLElement;
  /** The ids the page already tells before the send (a reply's thread); nulls where it does not. */
  ids?(): MessageIds;
}

/**
 * What identifies a sent message in its webmail later, without any mailbox permission: Gmail's
 * legacy thread and message ids (hex, as on list rows' `data-legacy-thread-id` and an open
 * thread's subject), Outlook's conversation id (`data-convid` on list rows) and item id.
 */
export interface MessageIds {
  thread: string | null;
  message: string | null;
}

export interface SendEvent {
  /** Epoch ms the message leaves: now, or the scheduled time when it can be read. */
  sendAt: number;
  scheduled: boolean;
}

/** One row of a message list, as the list marks read it (issue 16). */
export interface ListRow {
  /** The row's thread (Gmail) or conversation (Outlook) id, and the last message's where shown. */
  ids: MessageIds;
  /** The row's texts that may be its subject (for rows matched by subject where unambiguous). */
  texts(): string[];
  /** Where the mark goes (prepended); `subject` helps find the subject's own element. */
  markAnchor(subject: string | null): HTMLElement | null;
}

/**
 * What a list row shows of its thread's activity (issue 19): how many messages, who wrote them, when the
 * last one came. Read only from rows whose participants are the thread's senders (not a Sent list's "To:").
 */
export interface RowActivity {
  count: number;
  participants: Recipient[];
  lastAt: number | null;
}

/** One message of an open thread, for the status line. */
export interface ThreadMessage {
  el: HTMLElement;
  ids: MessageIds;
  /** The status line goes right before this element (the message's body). */
  lineAnchor: HTMLElement;
}

/** What the list-mark and thread-status features need from a site (STYLE §16: the features stay site-free). */
export interface WebmailViews {
  /** The element holding the message lists: the observer is scoped to it. */
  listRegion(doc: Document): HTMLElement | null;
  /** A row of any list, for querySelectorAll and closest. */
  readonly rowSelector: string;
  /** null when the row is not laid out as this adapter knows (logged once, left untouched). */
  readRow(row: HTMLElement): ListRow | null;
  /** The element holding an open thread (the status lines' observer is scoped to it). */
  threadRegion(doc: Document): HTMLElement | null;
  /** The open thread's id and its messages, or null when no thread is open. */
  openThread(region: ParentNode): { thread: string; messages: ThreadMessage[] } | null;
  /** The row's thread activity, for replies seen from the list (issue 19); null (or absent) when the layout is not known. */
  rowActivity?(row: HTMLElement): RowActivity | null;
  /** The signed-in user's addresses as the page shows them ([] when it does not). */
  ownAddresses?(doc: Document): string[];
  /** Ids in a "message sent" notice the page shows right after a send, when it has one. */
  readonly sentNoticeSelector?: string;
  sentNoticeIds?(el: Element): MessageIds | null;
}

export interface WebmailAdapter {
  readonly name: Webmail;
  /** Calls `onCompose` once for every compose already open and each one that opens later, until `signal` aborts. */
  watchComposes(root: ParentNode, onCompose: (compose: ComposeHandle) => void, signal: AbortSignal): void;
  /** Calls `onSend` before the site's own send handler runs (capture phase); may throw SelectorError. */
  watchSend(compose: ComposeHandle, onSend: (event: SendEvent) => void, signal: AbortSignal): void;
  /** Puts the pixel at the end of the body (or moves it back there) and tells the site's editor, as a typed edit would. */
  insertPixel(compose: ComposeHandle, img: HTMLImageElement): void;
  /** Takes the pixel out of the body and tells the site's editor. */
  removePixel(compose: ComposeHandle, img: HTMLImageElement): void;
  /** Calls `onView` with the img elements of each message view the page shows (never a compose's). */
  watchMessageViews(root: ParentNode, onView: (images: HTMLImageElement[]) => void, signal: AbortSignal): void;
  /** Calls `onClose` once when the compose leaves the page (sent, discarded, closed). */
  watchClose(compose: ComposeHandle, onClose: () => void, signal: AbortSignal): void;
  /** Lists and threads, for the marks and the status lines. */
  readonly views?: WebmailViews;
}
