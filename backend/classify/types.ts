/**
 * The classifier's contract with the server (SPEC §3 "kind"). The engine in
 * ./index.ts is pure: same input, same answer, no I/O.
 */
export const HIT_KINDS = ['open', 'prefetch', 'scanner', 'bot', 'self', 'duplicate', 'presend'] as const;
export type HitKind = (typeof HIT_KINDS)[number];

/** Kinds that count as a person opening the message. */
export const OPEN_KINDS: ReadonlySet<HitKind> = new Set(['open']);

export interface NetworkInfo {
  /** Network prefix of the client: /24 for IPv4, /48 for IPv6 (never a full address). */
  prefix: string;
  family: 4 | 6;
  asn: number | null;
  org: string | null;
}

export interface ClientInfo {
  name: string | null;
  os: string | null;
  device: string | null;
}

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

export interface TrackerContext {
  state: 'armed' | 'sent';
  /** When the message left (epoch ms); null while armed. */
  sentAt: number | null;
  /** When the sender's own client showed the message (epoch ms). */
  selfViews: readonly number[];
  /** Earlier hits of this tracker, newest last (the server keeps a short window). */
  prior: readonly PriorHit[];
}

export interface Classification {
  kind: HitKind;
  via: string | null;
  /** One plain sentence a non-technical user understands. */
  reason: string;
  client: ClientInfo | null;
}
