/**
 * The client address of a request (SPEC §3): the TCP peer, unless the peer is
 * a proxy named in OPENPING_TRUST_PROXY; then the forwarding headers are
 * walked from the right (nearest hop first), skipping trusted proxies, and the
 * first untrusted hop is the client — the leftmost entries are whatever the
 * client chose to send, so they are never believed blindly.
 * Forwarded: RFC 7239 §4–§6; X-Forwarded-For: the de-facto comma list.
 *
 * The result is used only to derive the kept prefix, ASN and geo, never stored.
 */
import { cidrContains, parseIp, type Cidr, type ParsedIp } from './ipdata/ip.ts';

/** `for=` values of a Forwarded header, leftmost first; unusable values become null. */
function forwardedFor(header: string): Array<string | null> {
  const out: Array<string | null> = [];
  for (const element of header.split(',')) {
    const pair = element
      .split(';')
      .map((p) => p.trim())
      .find((p) => p.slice(0, 4).toLowerCase() === 'for=');
    if (pair === undefined) continue;
    let value = pair.slice(4).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    out.push(stripPort(value));
  }
  return out;
}

/** "1.2.3.4:80" → "1.2.3.4"; "[::1]:80" → "::1"; other forms unchanged. */
function stripPort(value: string): string {
  const v = value.trim();
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    return end > 0 ? v.slice(1, end) : v;
  }
  const colon = v.indexOf(':');
  if (colon > 0 && colon === v.lastIndexOf(':') && v.includes('.')) return v.slice(0, colon);
  return v;
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(',') : value;
}

export function isTrusted(trust: readonly Cidr[], ip: ParsedIp): boolean {
  for (const cidr of trust) if (cidrContains(cidr, ip)) return true;
  return false;
}

/** The forwarding headers as node:http's req.headers holds them (which satisfies this shape). */
export interface ForwardingHeaders {
  readonly forwarded?: string | string[] | undefined;
  readonly 'x-forwarded-for'?: string | string[] | undefined;
}

export function clientAddress(peer: string | undefined, headers: ForwardingHeaders, trust: readonly Cidr[]): ParsedIp | null {
  const peerIp = peer === undefined ? null : parseIp(peer);
  if (!peerIp || trust.length === 0 || !isTrusted(trust, peerIp)) return peerIp;
  const forwarded = headerValue(headers.forwarded);
  const xff = headerValue(headers['x-forwarded-for']);
  const hops = forwarded !== null ? forwardedFor(forwarded) : xff !== null ? xff.split(',').map(stripPort) : [];
  let client = peerIp;
  for (let i = hops.length - 1; i >= 0; i--) {
    const text = hops[i];
    const hop = text ? parseIp(text) : null;
    // An unknown/obfuscated hop ends what can be known; the last hop we could read is the best answer.
    if (!hop) break;
    client = hop;
    if (!isTrusted(trust, hop)) break;
  }
  return client;
}
