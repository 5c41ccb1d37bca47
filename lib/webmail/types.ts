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
}

export interface SendEvent {
  /** Epoch ms the message leaves: now, or the scheduled time when it can be read. */
  sendAt: number;
  scheduled: boolean;
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
}
