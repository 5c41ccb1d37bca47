/**
 * Every message between the extension's contexts (STYLE §6): one discriminated
 * union per direction, each request paired with its response type, and one
 * typed `send`/`on` pair. Add new messages here, nowhere else.
 */
import { browser } from 'wxt/browser';
import type { HealthWarning } from './api';
import type { NotifyMode, NotifyPolicy } from './notify-policy';
import type { ReminderCondition } from './reminders';
import type { Reply } from './replies';
import type { SetupProblem } from './setup';
import type { MessageIds, Recipient, Webmail } from './webmail/types';

/** What a content script reports when a tracked message is sent. */
export interface SentEmail {
  tracker: string;
  webmail: Webmail;
  subject: string;
  recipients: Recipient[];
  /** Epoch ms the message leaves (the scheduled time for scheduled send). */
  sentAt: number;
  threadUrl: string | null;
  /** What the page told at send (a reply's thread); more may come later with `ids`. */
  ids?: MessageIds;
}

/** One tracked email as a list mark or thread status line shows it (issue 16). */
export interface MarkInfo {
  tracker: string;
  threadId: string | null;
  messageId: string | null;
  subject: string | null;
  sentAt: number | null;
  state: 'sent' | 'delivered' | 'opened' | 'replied';
  /**
   * `apple-mpp` when delivered and every machine hit is Apple's (SPEC §1); `not-sent` for a pixel copied
   * for another mail app that has not gone out yet (no webmail row shows those).
   */
  substate: 'apple-mpp' | 'not-sent' | null;
  opens: number;
  lastOpenAt: number | null;
  lastOpenPlace: string | null;
  /** The last open's intermediary in words ("Gmail's image proxy"), null when none. */
  lastOpenVia: string | null;
  /** Issue 19: the message began its thread, so a list row's message count can show a reply. */
  startedThread?: boolean;
  /** The user muted this email's notifications (the card's Mute button, the popup's detail). */
  muted: boolean;
}

export interface ComposeIdentity {
  /** `<public url>/p/<account>/`; null while no account exists yet. */
  pixelBase: string | null;
  trackByDefault: boolean;
  /** "Allow a local server (for testing)": a local or http pixel URL is used (SPEC §6). */
  allowLocalServer: boolean;
  /**
   * Why no pixel may go out (no account, a pixel URL recipients cannot reach), worked out here in
   * the background (lib/setup.ts pixelBaseProblem): the rule and its sentences would otherwise cost
   * every content script ~1.5 KB gzipped of its 25 KB (issues 16, 17). null: tracking can work.
   */
  setupProblem: SetupProblem | null;
}

export type ContentToBackground =
  | { type: 'identity' }
  | { type: 'armed'; tracker: string }
  | { type: 'disarmed'; tracker: string }
  | { type: 'sent'; email: SentEmail }
  | { type: 'selfView'; trackers: string[]; at: number }
  /** Mutes (or unmutes) one email's notifications: from the popup's detail, or a list mark's card. */
  | { type: 'mute'; tracker: string; muted: boolean }
  /** Ids the page showed after the send (Gmail's "Message sent · View message", a list row matched by subject). */
  | { type: 'ids'; tracker: string; ids: MessageIds }
  | { type: 'marks'; webmail: Webmail }
  /** The popup's detail view of one email, in a tab. */
  | { type: 'openDetails'; tracker: string }
  /** The page showed a reply in a tracked message's thread (lib/replies.ts); `own`: the user's addresses the page shows. */
  | { type: 'replied'; tracker: string; reply: Reply; own: string[] }
  /** The compose's reminder menu (issue 19): remind in `afterDays` after the send, or at `at`. */
  | { type: 'setReminder'; tracker: string; condition: ReminderCondition; afterDays: number | null; at: number | null }
  | { type: 'dropReminder'; tracker: string };

export interface ContentToBackgroundResponse {
  identity: ComposeIdentity;
  armed: { queued: boolean };
  disarmed: { queued: boolean };
  sent: { queued: boolean };
  selfView: { queued: boolean };
  mute: { ok: boolean };
  ids: { ok: boolean };
  marks: { marks: MarkInfo[] };
  openDetails: { ok: boolean };
  replied: { changed: boolean };
  setReminder: { ok: boolean; dueAt: number | null };
  dropReminder: { ok: boolean };
}

export type PopupToBackground =
  | { type: 'syncNow' }
  | { type: 'stopTracking'; tracker: string }
  | { type: 'deleteEmail'; tracker: string }
  | { type: 'openThread'; tracker: string }
  | { type: 'markSeen' }
  | { type: 'testConnection'; server: string }
  | { type: 'changeServer'; server: string }
  | { type: 'deleteEverything' }
  // Issue 21 (lib/pairing.ts): one account on several browsers.
  | { type: 'pairStart' }
  | { type: 'pairJoin'; code: string }
  | { type: 'devices' }
  | { type: 'revokeDevice'; device: string }
  | { type: 'notifyPolicy' }
  | { type: 'setNotifyPolicy'; mode: NotifyMode; device: string | null }
  // The setup checklist (lib/state/setup-check.ts): the account, then a test pixel's round trip.
  | { type: 'setupAccount' }
  | { type: 'probePixel' }
  | { type: 'probeResult'; tracker: string; waitMs: number }
  // A pixel for another mail app (lib/anyapp.ts): copied, marked sent, a hit marked as the user's own.
  | { type: 'trackOtherApp'; tracker: string; label: string; autoSend: boolean }
  | { type: 'markSent'; tracker: string }
  | { type: 'markOwnHit'; tracker: string; at: number }
  | { type: 'snoozeReminder'; tracker: string; days: number };

export interface PopupToBackgroundResponse {
  syncNow: { ok: boolean; error: string | null };
  stopTracking: { ok: boolean };
  deleteEmail: { ok: boolean };
  openThread: { ok: boolean };
  markSeen: { ok: boolean };
  /** warnings: the server's /healthz warnings (SPEC §3), each a code and a sentence; empty when it has none. */
  testConnection: { ok: boolean; error: string | null; warnings: HealthWarning[] };
  changeServer: { ok: boolean; error: string | null };
  deleteEverything: { ok: boolean; error: string | null };
  pairStart: { ok: boolean; error: string | null; code: string | null; expiresAt: number | null };
  pairJoin: { ok: boolean; error: string | null };
  devices: { ok: boolean; error: string | null; devices: { id: string; name: string | null; createdAt: number; current: boolean; publicKey: string | null }[] };
  /** leftOut: browsers the rotated key could not reach (they must be paired again). */
  revokeDevice: { ok: boolean; error: string | null; leftOut: string[] };
  /** Which browser of the account notifies (lib/notify-policy.ts); `you` is this browser's device id. */
  notifyPolicy: { ok: boolean; error: string | null; policy: NotifyPolicy | null };
  setNotifyPolicy: { ok: boolean; error: string | null; policy: NotifyPolicy | null };
  /** The account on the configured server, created now if missing; `fingerprint` stands for its id on screen. */
  setupAccount: { ok: boolean; error: string | null; server: string; pixelBase: string | null; fingerprint: string | null };
  /** A throwaway tracker registered as sent, with a self-view at this moment: `url` is its pixel, for the page to load. */
  probePixel: { ok: boolean; error: string | null; tracker: string | null; url: string | null };
  /** Whether the probe's fetch came back from the server (and as which kind); the tracker is deleted either way. */
  probeResult: { ok: boolean; error: string | null; kind: string | null };
  trackOtherApp: { ok: boolean; error: string | null };
  markSent: { ok: boolean };
  markOwnHit: { ok: boolean };
  snoozeReminder: { ok: boolean; dueAt: number | null };
}

export type ToBackground = ContentToBackground | PopupToBackground;
type ResponseMap = ContentToBackgroundResponse & PopupToBackgroundResponse;
export type ResponseOf<M extends ToBackground> = ResponseMap[M['type']];

/** Sends a message to the background and resolves with its typed answer. */
export async function send<M extends ToBackground>(message: M): Promise<ResponseOf<M>> {
  return (await browser.runtime.sendMessage(message)) as ResponseOf<M>;
}

export type Handlers = {
  [K in ToBackground['type']]: (
    message: Extract<ToBackground, { type: K }>,
    /** `url`: the sending page or extension page (the background only obeys popup/options messages from its own pages). */
    sender: { tab?: { id?: number; url?: string }; url?: string },
  ) => Promise<ResponseMap[K]>;
};

/** Routes every incoming message to its handler; unknown messages are ignored. */
export function on(handlers: Handlers): void {
  browser.runtime.onMessage.addListener((message: unknown, sender) => {
    if (!message || typeof message !== 'object' || !('type' in message)) return undefined;
    const handler = handlers[(message as ToBackground).type] as
      | ((m: ToBackground, s: typeof sender) => Promise<unknown>)
      | undefined;
    return handler ? handler(message as ToBackground, sender) : undefined;
  });
}
