/** What the IP data tells of a client address; the classifier reads it (backend/classify). */
export interface NetworkInfo {
  /** Network prefix of the client: /24 for IPv4, /48 for IPv6 (never a full address). */
  prefix: string;
  family: 4 | 6;
  asn: number | null;
  org: string | null;
}
