/**
 * The classifier's contract with the server (SPEC §3 "kind"). The engine in
 * ./index.ts is pure: same input, same answer, no I/O.
 */
import type { ClientInfo, HitKind, ReasonCode, ReasonParams } from '../../contract/index.ts';
import type { NetworkInfo } from '../ipdata/types.ts';

// The kinds and the client travel to the extension: the wire contract owns them (STYLE §13).
export { HIT_KINDS, OPEN_KINDS, type ClientInfo, type HitKind } from '../../contract/index.ts';
export type { NetworkInfo } from '../ipdata/types.ts';

/** What the server saw of one pixel fetch; stored with the hit so it can be re-classified. */
export interface HitSignals {
  at: number;
  method: 'GET' | 'HEAD';
  userAgent: string | null;
  /** A few request headers whose presence/shape helps (lower-cased names). */
  headers: {
    accept?: string | null;
    acceptLanguage?: string | null;
    acceptEncoding?: string | null;
    referer?: string | null;
    via?: string | null;
    from?: string | null;
  };
  network: NetworkInfo;
}

/** An earlier hit of the same tracker, for duplicate detection. */
export interface PriorHit {
  at: number;
  prefix: string;
  userAgent: string | null;
  kind: HitKind;
}

/**
 * Who said the message left: `client` — a PUT with state `sent` (the webmail
 * extension at Send, or the user's "I sent it"); `fetch` — the first fetch of an
 * `autoSend` tracker from a network none of the account's API calls came from
 * (backend/anysend.ts), whose time is then only an upper bound of the real send.
 */
export type SentBy = 'client' | 'fetch';

export interface TrackerContext {
  state: 'armed' | 'sent';
  /** When the message left (epoch ms); null while armed. */
  sentAt: number | null;
  /** How sentAt was learnt; absent or null counts as `client`. */
  sentBy?: SentBy | null;
  /** When the sender's own client showed the message (epoch ms). */
  selfViews: readonly number[];
  /** Earlier hits of this tracker, newest last (the server keeps a short window). */
  prior: readonly PriorHit[];
}

export interface Classification {
  kind: HitKind;
  via: string | null;
  /** One plain sentence a non-technical user understands: formatReason(reasonCode, reasonParams). */
  reason: string;
  reasonCode: ReasonCode;
  reasonParams: ReasonParams;
  client: ClientInfo | null;
}
