/**
 * Addresses out of request headers before they are kept (issue 13 finding 8):
 * every header value a hit stores goes through sanitizeHeader(), so no IP
 * address — IPv4 in any notation inet_aton accepts (dotted decimal, hex,
 * octal, mixed, 1–4 parts, one integer), IPv6 in any form (compressed, with a
 * zone id, bracketed, IPv4-mapped) — reaches the disk, whether it stands as a
 * host, in a URL (with userinfo and port), as a mail domain (literal or not),
 * or loose in the text. An address becomes `[address]`; a host name stays.
 *
 * Hosts are judged by the WHATWG URL parser (`new URL()`, which reads every
 * IPv4 notation as inet_aton does, https://url.spec.whatwg.org/#concept-ipv4-parser)
 * and node:net's isIP, not by hand-written address patterns; regular
 * expressions here only find the candidates in the text.
 *
 * Where the grammar of a header puts a host (the Referer's URL, the Via's
 * received-by, RFC 9110 §7.6.3, a From mailbox's domain, RFC 5322 §3.4.1, any
 * URL or mail address in any header), every notation counts, so `10.1`,
 * `167772215` and `0x0a.0x29.0x2a.0x2b` are masked there. Loose in the text,
 * a plain number or a two- or three-part decimal is a version, not an address
 * (`Windows NT 10.0`, `Android 13`, `Version/16.1.2`), so there only four-part
 * forms, forms with a hex or octal part, and IPv6 are taken for addresses; and
 * a product version (`Chrome/120.0.0.0`, RFC 9110 §10.1.5 product) is kept,
 * since Chrome's reduced user-agent always reads like that.
 * A host name that spells an address in its labels (`10.1.2.3.nip.io`,
 * `ec2-10-1-2-3.compute.example`) is masked whole.
 */
import { isIP } from 'node:net';
import type { HitSignals } from './classify/types.ts';

export const ADDRESS_MASK = '[address]';

/** The headers a hit keeps (HitSignals), by lower-case name. */
/** The longest header value a hit keeps (it also bounds the sanitiser's work). */
export const HEADER_MAX = 512;

export type KeptHeader = 'user-agent' | 'accept' | 'accept-language' | 'accept-encoding' | 'referer' | 'via' | 'from';

/** Whether the text between brackets (without them) is an address literal: `[2001:db8::5]`, `[fe80::1%eth0]`, `[IPv6:…]`, `[10.1.2.3]`. */
function isAddressLiteral(inner: string): boolean {
  const text = inner.replace(/^ipv6:/i, '').replace(/%.*$/s, '');
  return isIP(text) !== 0 || hostIsAddress(text);
}

/** The last dot-separated part is a number in WHATWG's sense ("ends in a number"), so the host is read as IPv4 or refused. */
function endsInNumber(host: string): boolean {
  const labels = host.replace(/\.$/, '').split('.');
  const last = labels[labels.length - 1] ?? '';
  return /^(?:\d+|0x[0-9a-f]*)$/i.test(last);
}

const OCTET = (n: string) => n.length <= 3 && Number(n) <= 255;

/** A name whose labels spell an IPv4 address: four numeric labels in a row, or a label `…10-1-2-3…`. */
function nameSpellsAddress(name: string): boolean {
  const labels = name.split('.');
  for (let i = 0; i + 4 <= labels.length; i++) {
    if (labels.slice(i, i + 4).every((l) => /^\d+$/.test(l) && OCTET(l))) return true;
  }
  for (const label of labels) {
    const parts = label.split('-');
    for (let i = 0; i + 4 <= parts.length; i++) {
      if (parts.slice(i, i + 4).every((p) => /^\d+$/.test(p) && OCTET(p))) return true;
    }
  }
  return false;
}

/**
 * Whether a host (as it stands in a URL's authority, a Via or a mail domain, without a port) is an
 * address in any notation, or a name that spells one. A host the URL parser refuses counts as an
 * address when it ends in a number (`999.1.1.1`, `08.1.1.1`): safer masked than kept.
 */
export function hostIsAddress(host: string): boolean {
  if (host === '') return false;
  if (host.startsWith('[')) return isAddressLiteral(host.replace(/^\[|\]$/g, ''));
  const bare = host.replace(/%.*$/s, '');
  if (isIP(bare) !== 0) return true;
  let hostname: string;
  try {
    hostname = new URL(`http://${host}/`).hostname;
  } catch {
    return endsInNumber(host);
  }
  if (hostname.startsWith('[') || isIP(hostname) !== 0) return true;
  return nameSpellsAddress(hostname);
}

/** host[:port] or [v6][:port] → the same with the host masked when it is an address. */
function maskHostPort(hostPort: string): string {
  let host = hostPort;
  let port = '';
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close > 0) {
      host = hostPort.slice(0, close + 1);
      port = hostPort.slice(close + 1);
    }
  } else {
    const colon = hostPort.lastIndexOf(':');
    // One colon and digits after it: a port. More colons: an unbracketed IPv6 address, whole.
    if (colon >= 0 && hostPort.indexOf(':') === colon && /^\d*$/.test(hostPort.slice(colon + 1))) {
      host = hostPort.slice(0, colon);
      port = hostPort.slice(colon);
    }
  }
  return hostIsAddress(host) ? ADDRESS_MASK + port : hostPort;
}

// ── candidates in free text ────────────────────────────────────────────────
// Every pattern is linear in the text: quantifiers that could scan far are bounded by the longest
// thing they can find (a scheme, a mail local part, an address literal), and addresses loose in the
// text are judged per token, a maximal run of the characters they are written in.

/** Where a URL's scheme, authority and rest end, and where a mail address's parts end (RFC 3986 §3, RFC 5322 §3.4). */
const SCHEME_CHAR = /[a-z0-9+.-]/i;
const AUTHORITY_END = /[\s/?#"'<>()\\,;]/;
const URL_END = /[\s"'<>()\\,;]/;
const LOCAL_END = /[\s<>()[\]\\,;:"'@]/;
const DOMAIN_END = /[\s<>()[\]\\,;:"'@/?#]/;
/** More URLs or mail addresses than this in one header value: not worth the work, the value is dropped. */
const MAX_CANDIDATES = 16;
const BRACKET_RE = /\[([^\]\s[]{1,64})\]/g;
/** Up to four dot-separated numbers: decimal, 0x-hex or 0-octal. */
const NUMERIC = /^(?:0x[0-9a-f]*|\d+)(?:\.(?:0x[0-9a-f]*|\d+)){0,3}$/i;
/** `name/` just before a token: a product version (RFC 9110 §5.6.2 tchar for the name). */
const PRODUCT_BEFORE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]\/$/;

const isV6 = (text: string) => isIP(text.replace(/%.*$/s, '').replace(/\.$/, '')) === 6;

/** A numeric token loose in text: an address when it has four parts or a hex/octal part, and the URL parser reads it as IPv4. */
function looseIpv4(token: string): boolean {
  if (!NUMERIC.test(token)) return false;
  const parts = token.split('.');
  if (parts.length < 4 && !parts.some((p) => /^0x/i.test(p) || /^0\d/.test(p))) return false;
  try {
    return isIP(new URL(`http://${token}/`).hostname) === 4;
  } catch {
    return false;
  }
}

/** One ':'-free piece of a token. */
function maskSegment(segment: string, version: boolean): string {
  if (!/\d/.test(segment)) return segment;
  const bare = segment.replace(/\.$/, '');
  if (NUMERIC.test(bare)) return !version && looseIpv4(bare) ? ADDRESS_MASK : segment;
  // Only a name (with letters) can spell an address; `269.0.0.18.75` is a five-part version.
  return /[a-z]/i.test(bare) && nameSpellsAddress(bare.replace(/%.*$/s, '')) ? ADDRESS_MASK : segment;
}

/** A token with its addresses masked: the whole, the longest IPv6 address among its ':'-pieces, or a piece. */
function maskToken(token: string, version: boolean): string {
  if (!/[\d:]/.test(token)) return token;
  if (isIP(token.replace(/%.*$/s, '').replace(/\.$/, '')) !== 0) return version && !token.includes(':') ? token : ADDRESS_MASK;
  const pieces = token.split(':');
  if (pieces.length === 1) return maskSegment(token, version);
  // An address with a prefix and a port has at most 10 pieces; a longer chain of colons is not searched, but masked.
  if (pieces.length > 16) return ADDRESS_MASK;
  const out: string[] = [];
  for (let i = 0; i < pieces.length; ) {
    let end = -1;
    for (let j = Math.min(pieces.length - 1, i + 9); j >= i + 2 && end < 0; j--) if (isV6(pieces.slice(i, j + 1).join(':'))) end = j;
    if (end >= 0) {
      out.push(ADDRESS_MASK);
      i = end + 1;
    } else {
      out.push(maskSegment(pieces[i]!, version && i === 0));
      i++;
    }
  }
  return out.join(':');
}

/** Index of the first character at or after from (before limit) that matches stop, or limit. */
function scanTo(text: string, from: number, limit: number, stop: RegExp): number {
  let i = from;
  while (i < limit && !stop.test(text[i]!)) i++;
  return i;
}

/** scheme://authority…: the authority (userinfo@host:port) is judged as a host; the rest as text. Found from each `://`. */
function maskUrls(text: string): string {
  let out = '';
  let done = 0;
  for (let at = text.indexOf('://'); at >= 0; at = text.indexOf('://', Math.max(at + 3, done))) {
    let start = at;
    while (start > done && at - start < 32 && SCHEME_CHAR.test(text[start - 1]!)) start--;
    while (start < at && !/[a-z]/i.test(text[start]!)) start++;
    if (start === at) continue;
    const hostEnd = scanTo(text, at + 3, text.length, AUTHORITY_END);
    const end = scanTo(text, hostEnd, text.length, URL_END);
    const authority = text.slice(at + 3, hostEnd);
    // Userinfo is dropped whole: it is a credential or a person's name, never needed.
    const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
    out += text.slice(done, start) + text.slice(start, at + 3) + maskHostPort(hostPort) + maskTokens(maskBrackets(text.slice(hostEnd, end)), false);
    done = end;
  }
  return out + text.slice(done);
}

/** local@domain, the domain a name, an address or a [literal] (RFC 5321 §4.1.3; local part ≤ 64, §4.5.3.1.1). Found from each `@`. */
function maskMail(text: string): string {
  let out = '';
  let done = 0;
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    if (at < done) continue;
    let start = at;
    while (start > done && at - start < 64 && !LOCAL_END.test(text[start - 1]!)) start--;
    let end: number;
    if (text[at + 1] === '[') {
      const close = text.indexOf(']', at + 2);
      if (close < 0 || close - at > 66) continue;
      end = close + 1;
    } else end = scanTo(text, at + 1, Math.min(text.length, at + 256), DOMAIN_END);
    if (start === at || end === at + 1) continue;
    const domain = text.slice(at + 1, end);
    const masked = domain.startsWith('[') ? (isAddressLiteral(domain.slice(1, -1)) ? ADDRESS_MASK : domain) : hostIsAddress(domain) ? ADDRESS_MASK : domain;
    out += text.slice(done, at + 1) + masked;
    done = end;
  }
  return out + text.slice(done);
}

function maskBrackets(text: string): string {
  return text.includes('[') ? text.replace(BRACKET_RE, (m, inner: string) => (inner !== 'address' && isAddressLiteral(inner) ? ADDRESS_MASK : m)) : text;
}

/** The characters an address, a zone id or a port is written in. */
const TOKEN_CHAR = new Uint8Array(128);
for (const c of '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:.%_~-') TOKEN_CHAR[c.charCodeAt(0)] = 1;

/**
 * Masks the addresses among the tokens of text (maximal runs of TOKEN_CHAR), found by one scan: a
 * regular expression with a callback cost ~9 µs on a browser's user-agent, this ~1 µs (sanitize.bench.ts).
 * `versions`: a token right after `name/` is a product version (user-agent, Via comments); off in a URL's path.
 */
function maskTokens(text: string, versions: boolean): string {
  let out = '';
  let done = 0;
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TOKEN_CHAR[c] !== 1) {
      i++;
      continue;
    }
    const start = i;
    let marked = false;
    for (; i < text.length; i++) {
      const d = text.charCodeAt(i);
      if (d >= 128 || TOKEN_CHAR[d] !== 1) break;
      if ((d >= 0x30 && d <= 0x3a) || d === 0x25) marked = true;
    }
    if (!marked) continue;
    const token = text.slice(start, i);
    const version = versions && start >= 2 && text[start - 1] === '/' && PRODUCT_BEFORE.test(text.slice(start - 2, start));
    const masked = maskToken(token, version);
    if (masked !== token) {
      out += text.slice(done, start) + masked;
      done = i;
    }
  }
  return done === 0 ? text : out + text.slice(done);
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

/** Masks the addresses in free text; null when it holds too many URLs or mail addresses to check. */
function maskText(text: string, versions: boolean): string | null {
  if (count(text, '://') > MAX_CANDIDATES || count(text, '@') > MAX_CANDIDATES) return null;
  let out = text.includes('://') ? maskUrls(text) : text;
  if (out.includes('@')) out = maskMail(out);
  return maskTokens(maskBrackets(out), versions);
}

/**
 * value cut to at most max characters, without the word the cut falls in (a piece of an address
 * could pass for a version: `10.41.42` of `10.41.42.43`).
 */
export function cutHeader(value: string, max: number): string {
  if (value.length <= max) return value;
  let end = max;
  while (end > 0 && !/[\s,;()]/.test(value[end - 1]!)) end--;
  return value.slice(0, end);
}

/** Via (RFC 9110 §7.6.3): `1.1 received-by (comment), …`; received-by is a host[:port] or a pseudonym. */
function sanitizeVia(value: string): string {
  return value
    .split(',')
    .map((element) => element.replace(/^(\s*[^\s(]+\s+)([^\s(]+)/, (_m, protocol: string, receivedBy: string) => protocol + maskHostPort(receivedBy)))
    .join(',');
}

/**
 * A Referer is kept as its origin only: the rest can carry the recipient's webmail path (message ids,
 * folders). An address as the host becomes `[address]`; a URL that does not parse is dropped.
 */
function sanitizeReferer(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.origin === 'null') return null;
  return hostIsAddress(url.hostname) ? `${url.protocol}//${ADDRESS_MASK}${url.port ? `:${url.port}` : ''}` : url.origin;
}

/** Answers per header, kept for the values that repeat (a proxy's user-agent, a browser's Accept): most hits repeat them. */
const CACHE_MAX = 4096;
const cache = new Map<KeptHeader, Map<string, string | null>>();

function sanitizeUncached(name: KeptHeader, value: string): string | null {
  switch (name) {
    case 'referer': {
      const origin = sanitizeReferer(value);
      return origin === null ? null : maskText(origin, false);
    }
    case 'via':
      return maskText(sanitizeVia(value), true);
    default:
      return maskText(value, true);
  }
}

/**
 * The value of a kept request header with every address masked (null stays null); null, too, for a value
 * with more than 16 URLs or mail addresses, which is dropped rather than checked piece by piece.
 */
export function sanitizeHeader(name: KeptHeader, value: string | null): string | null {
  if (value === null || value === '') return value;
  let answers = cache.get(name);
  if (answers === undefined) cache.set(name, (answers = new Map()));
  const known = answers.get(value);
  if (known !== undefined) return known;
  const sanitized = sanitizeUncached(name, value);
  if (answers.size >= CACHE_MAX) answers.clear();
  answers.set(value, sanitized);
  return sanitized;
}

const SIGNAL_HEADERS: ReadonlyArray<readonly [keyof HitSignals['headers'], KeptHeader]> = [
  ['accept', 'accept'],
  ['acceptLanguage', 'accept-language'],
  ['acceptEncoding', 'accept-encoding'],
  ['referer', 'referer'],
  ['via', 'via'],
  ['from', 'from'],
];

/**
 * A stored hit's signals as today's sanitiser keeps them, or null when they
 * already are: hits stored before the sanitiser covered every notation (issue 13,
 * finding 8) are scrubbed once by a schema migration of each store.
 */
export function scrubSignals(signals: HitSignals): HitSignals | null {
  let changed = false;
  const clean = (name: KeptHeader, value: string | null | undefined): string | null | undefined => {
    if (value === undefined || value === null) return value;
    const kept = sanitizeHeader(name, cutHeader(value, HEADER_MAX));
    if (kept !== value) changed = true;
    return kept;
  };
  const userAgent = clean('user-agent', signals.userAgent) ?? null;
  const headers: HitSignals['headers'] = { ...signals.headers };
  for (const [field, name] of SIGNAL_HEADERS) {
    if (field in headers) headers[field] = clean(name, headers[field]);
  }
  return changed ? { ...signals, userAgent, headers } : null;
}
