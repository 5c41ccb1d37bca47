/**
 * The client address of a request (SPEC §3): the TCP peer, unless the peer is
 * a proxy named in OPENPING_TRUST_PROXY; then the one forwarding header named
 * by OPENPING_PROXY_HEADER is walked from the right (nearest hop first),
 * skipping trusted proxies, and the first untrusted hop is the client — the
 * leftmost entries are whatever the client chose to send, so they are never
 * believed blindly.
 *
 * Exactly one header is read. A proxy sets or appends the header it knows and
 * passes any other through untouched (nginx appends X-Forwarded-For with
 * $proxy_add_x_forwarded_for and forwards a client's own Forwarded as it came),
 * so reading the other one too would let a client choose its own address.
 * Forwarded: RFC 7239 §4–§6; X-Forwarded-For: the de-facto comma list.
 *
 * Hand-written rather than proxy-addr (X-Forwarded-For only, and it wants a
 * node:http request) or forwarded-parse (it rejects a whole header for one bad
 * element, so a client's malformed part would hide the proxy's good one): the
 * walk below reads from the right and stops at the first hop it needs.
 *
 * The result is used only to derive the kept prefix, ASN and geo, never stored.
 */
import { cidrContains, parseIp, type Cidr, type ParsedIp } from './ipdata/ip.ts';

/** The forwarding header believed from a trusted proxy (OPENPING_PROXY_HEADER). */
export type ProxyHeader = 'x-forwarded-for' | 'forwarded';

export const PROXY_HEADERS: readonly ProxyHeader[] = ['x-forwarded-for', 'forwarded'];

export interface ProxyTrust {
  /** Peers whose forwarding header is believed; empty: none. */
  readonly trust: readonly Cidr[];
  readonly header: ProxyHeader;
}

/** The forwarding headers as node:http's req.headers holds them (which satisfies this shape). */
export interface ForwardingHeaders {
  readonly forwarded?: string | string[] | undefined;
  readonly 'x-forwarded-for'?: string | string[] | undefined;
}

const DQUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const SEMICOLON = 59;

/**
 * Splits a Forwarded header (or one element of it) at `sep` outside quoted
 * strings, from the right: the parts nearest the server come first. Read from
 * the right, the elements a trusted proxy appended are read whole whatever
 * unbalanced quotes the client put to their left.
 */
function splitFromRight(text: string, sep: number): string[] {
  const parts: string[] = [];
  let quoted = false;
  let end = text.length;
  for (let i = text.length - 1; i >= 0; i--) {
    const c = text.charCodeAt(i);
    if (c === DQUOTE) {
      // An escaped quote inside a quoted-string (RFC 9110 §5.6.4) has an odd run of backslashes before it.
      let slashes = 0;
      while (i - 1 - slashes >= 0 && text.charCodeAt(i - 1 - slashes) === BACKSLASH) slashes++;
      if (!quoted || slashes % 2 === 0) quoted = !quoted;
    } else if (c === sep && !quoted) {
      parts.push(text.slice(i + 1, end));
      end = i;
    }
  }
  parts.push(text.slice(0, end));
  return parts;
}

/** The `for=` node of one Forwarded element, without quotes and port; null when there is none. */
function forwardedFor(element: string): string | null {
  for (const pair of splitFromRight(element, SEMICOLON)) {
    const p = pair.trim();
    if (p.length < 4 || p.slice(0, 4).toLowerCase() !== 'for=') continue;
    let value = p.slice(4).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    return stripPort(value);
  }
  return null;
}

/** "1.2.3.4:80" → "1.2.3.4"; "[::1]:80" and "[::1]" → "::1"; other forms unchanged. */
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

/** The hops of the configured header, nearest the server first; an unreadable hop is null. */
function hopsFromRight(headers: ForwardingHeaders, header: ProxyHeader): Array<string | null> {
  const value = headerValue(headers[header]);
  if (value === null) return [];
  if (header === 'x-forwarded-for') return value.split(',').reverse().map(stripPort);
  return splitFromRight(value, COMMA).map(forwardedFor);
}

export function clientAddress(peer: string | undefined, headers: ForwardingHeaders, proxy: ProxyTrust): ParsedIp | null {
  const peerIp = peer === undefined ? null : parseIp(peer);
  const { trust } = proxy;
  if (!peerIp || trust.length === 0 || !isTrusted(trust, peerIp)) return peerIp;
  let client = peerIp;
  for (const text of hopsFromRight(headers, proxy.header)) {
    const hop = text ? parseIp(text) : null;
    // An unknown, obfuscated (RFC 7239 §6.3) or garbled hop ends what can be known: everything to its
    // left came through it unchecked. The last hop that could be read — a trusted proxy — is the answer.
    if (!hop) break;
    client = hop;
    if (!isTrusted(trust, hop)) break;
  }
  return client;
}
