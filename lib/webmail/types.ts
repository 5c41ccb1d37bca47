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

/** One open compose window (pop-out, full-screen or inline reply). */
export interface ComposeHandle {
  readonly root: HTMLElement;
  /** The contenteditable body. */
  body(): HTMLElement;
  subject(): string;
  recipients(): Recipient[];
  /** A link back to the thread/item, when the page tells one. */
  threadUrl(): string | null;
  /** Where the Track switch is mounted: an element next to Send. */
  toggleAnchor(): HTMLElement;
}

export interface SendEvent {
  /** Epoch ms the message leaves: now, or the scheduled time when it can be read. */
  sendAt: number;
  scheduled: boolean;
}

export interface WebmailAdapter {
  readonly name: Webmail;
  /** Calls `onCompose` for every compose already open and each one that opens later; returns a stop function. */
  watchComposes(root: ParentNode, onCompose: (compose: ComposeHandle) => void, signal: AbortSignal): void;
  /** Calls `onSend` before the site's own send handler runs (capture phase). */
  watchSend(compose: ComposeHandle, onSend: (event: SendEvent) => void, signal: AbortSignal): void;
  /** Puts the pixel at the end of the body so the site's draft model takes it. */
  insertPixel(compose: ComposeHandle, img: HTMLImageElement): void;
  removePixel(compose: ComposeHandle, img: HTMLImageElement): void;
  /** Calls `onView` with the img elements of each message view the page shows. */
  watchMessageViews(root: ParentNode, onView: (images: HTMLImageElement[]) => void, signal: AbortSignal): void;
  /** Called when the compose disappears (sent, discarded, closed). */
  watchClose(compose: ComposeHandle, onClose: () => void, signal: AbortSignal): void;
}
