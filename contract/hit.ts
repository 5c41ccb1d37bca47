/**
 * A `Hit` as the tracking server sends it and the extension keeps it (SPEC §3
 * "A Hit"). Both sides import it from here (STYLE §13): the server's store
 * and classifier build it, the extension's sync and popup read it.
 */
import type { ReasonCode, ReasonParams } from './reasons.ts';

/** SPEC §3 "kind". */
export const HIT_KINDS = ['open', 'prefetch', 'scanner', 'bot', 'self', 'duplicate', 'presend'] as const;
export type HitKind = (typeof HIT_KINDS)[number];

/** Kinds that count as a person opening the message. */
export const OPEN_KINDS: ReadonlySet<HitKind> = new Set(['open']);

/**
 * The intermediaries the classifier names in `via` (SPEC §3); a security
 * gateway's vendor is another value (backend/classify/data/networks.ts), and
 * more may come: a client shows an unknown via as it is.
 */
export const KNOWN_VIAS = [
  'gmail-proxy', 'yahoo-proxy', 'apple-mpp', 'gmail-prefetch', 'fastmail-proxy', 'hey-proxy', 'proton-proxy',
] as const;

/** Coarse place derived from the client address; only these three fields are kept. */
export interface Geo {
  country: string | null;
  region: string | null;
  city: string | null;
}

/** The program that fetched, as far as its user-agent tells. */
export interface ClientInfo {
  name: string | null;
  os: string | null;
  device: string | null;
}

export interface Hit {
  id: string;
  tracker: string;
  at: number;
  kind: HitKind;
  via: string | null;
  /** One plain English sentence; what a client shows for a reasonCode it does not know. */
  reason: string;
  /**
   * The same reason, stably named (./reasons.ts), so a client can say it in its
   * user's language; null for a stored sentence no code describes (worded by a
   * server older than the codes, in a form since changed).
   */
  reasonCode: ReasonCode | null;
  /** The reason's parameters (names, a number of seconds), all strings; {} when it has none. */
  reasonParams: ReasonParams;
  network: { prefix: string; asn: number | null; org: string | null };
  geo: Geo | null;
  client: ClientInfo | null;
}
