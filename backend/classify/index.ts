/**
 * The classifier: one pixel fetch + what is known of its tracker → kind, via,
 * reason, client (SPEC §3). Pure and cheap: no I/O, no clock; the knowledge it
 * applies lives in ./data (user-agents, networks, timing), each fact sourced.
 *
 * Order of the questions, and why:
 * 1. presend    — nothing before the send can be the recipient.
 * 2. duplicate  — a retry of a fetch just recorded from the same source is the
 *                 same event, whatever it was (Yahoo retried up to 4×).
 * 3. HEAD       — only link checkers ask for the headers without the image.
 *    Proton     — anything else from Proton Mail's network is its proxy
 *                 pre-loading on delivery (it sends no user-agent of its own).
 * 4. user-agent — a signature decides who fetched: a proxy or Apple MPP is
 *                 believed only from its operator's network (else: forged);
 *                 prefetchers, scanners and tools (libraries, headless
 *                 engines) are machines outright. isbot applies everywhere
 *                 else: a mail client's signature overrides it only when
 *                 isbot objects to nothing but the client's own name, and
 *                 only from a network people use (not a data centre).
 *                 No signature: a `From` header or `isbot` makes it a bot.
 *                 isbot reads the user-agent with the device's own
 *                 description (a phone's model name…) blanked.
 * 5. self       — what would count as an open, close to the sender's own view
 *                 of the message, is the sender's.
 * 6. network    — anything else from a security vendor or a data centre is a
 *                 scanner (people do not read mail from servers). Who runs
 *                 a network comes from the operators' published lists first
 *                 (Private Relay egress, Google, Google Cloud, Microsoft 365 …),
 *                 then the AS table: ./network.ts.
 * 7. timing     — anything else within seconds of sending is a scanner.
 * 8. open.
 */
import { isbot, isbotPatterns } from 'isbot';
import { UAParser } from 'ua-parser-js';
import type { NetworkRole } from './data/networks.ts';
import { TIMING } from './data/timing.ts';
import { DEVICE_DESCRIPTORS, UA_SIGNATURES, type UaSignature } from './data/user-agents.ts';
import { fromOperator, networkFacts, type NetworkFacts } from './network.ts';
import { formatReason, type ReasonCode, type ReasonParams } from '../../contract/reasons.ts';
import type { Classification, ClientInfo, HitSignals, TrackerContext } from './types.ts';

export type { Classification, HitSignals, TrackerContext } from './types.ts';

/**
 * All signatures as one alternation, each in its own capture group (patterns
 * have none of their own, tests/unit/classify-data.test.ts): one scan of the
 * user-agent instead of one per signature.
 */
const SIGNATURES_RE = new RegExp(UA_SIGNATURES.map((s) => `(${s.pattern})`).join('|'));

function matchSignature(ua: string): UaSignature | null {
  const m = SIGNATURES_RE.exec(ua);
  if (!m) return null;
  for (let i = 1; i < m.length; i++) if (m[i] !== undefined) return UA_SIGNATURES[i - 1]!;
  return null;
}

const DEVICE_PARTS = DEVICE_DESCRIPTORS.map((d) => ({
  needle: new RegExp(d.needle, 'i'),
  re: new RegExp(d.pattern, 'gi'),
  replacement: d.replacement,
}));

/** The user-agent as isbot should read it: the device's own description blanked (data/user-agents.ts). */
function withoutDeviceParts(ua: string): string {
  let text = ua;
  for (const d of DEVICE_PARTS) if (d.needle.test(text)) text = text.replace(d.re, d.replacement);
  return text;
}

/**
 * Whether everything isbot objects to in `text` lies inside the product token
 * a mail client's signature names (the signature's match, extended to the
 * end of its token: "eMClient/9.3.6041.0", not just "eMClient/9"). Asked only
 * on a cache miss of a flagged mail client, so compiling isbot's few matching
 * patterns here costs nothing in the steady state.
 */
function isbotOnlyWithin(text: string, signature: UaSignature): boolean {
  const m = new RegExp(signature.pattern).exec(text);
  if (!m) return false;
  const start = m.index;
  const end = start + m[0].length + /^[^\s;()]*/.exec(text.slice(start + m[0].length))![0].length;
  for (const p of isbotPatterns(text)) {
    for (const hit of text.matchAll(new RegExp(p, 'gi'))) {
      if (hit.index < start || hit.index + hit[0].length > end) return false;
    }
  }
  return true;
}

/** What the user-agent alone tells; cached because user-agents repeat and parsing is the costly part. */
interface UaFacts {
  signature: UaSignature | null;
  /**
   * isbot's verdict. Not asked for proxies and prefetchers (their network
   * decides) nor for scanners and tools (machines anyway); for a mail client,
   * asked of what its signature does not explain.
   */
  bot: boolean;
  /** A mail client's signature explained everything isbot objected to: believed only from a network people use. */
  overridesIsbot: boolean;
  /** Lazily filled: parsing is skipped when the answer does not show a client. */
  client?: ClientInfo | null;
}

const UA_CACHE_LIMIT = 4096;
const uaCache = new Map<string, UaFacts>();

function uaFacts(ua: string): UaFacts {
  let facts = uaCache.get(ua);
  if (facts) return facts;
  const signature = matchSignature(ua);
  let bot = false;
  let overridesIsbot = false;
  if (signature === null) {
    bot = isbot(withoutDeviceParts(ua));
  } else if (signature.role === 'mail-client') {
    const text = withoutDeviceParts(ua);
    if (isbot(text)) {
      // A crawler that borrows a mail client's name ("… Thunderbird/1.0.6 - WebCrawler <url>") still says what it is elsewhere.
      bot = !isbotOnlyWithin(text, signature);
      overridesIsbot = !bot;
    }
  }
  facts = { signature, bot, overridesIsbot };
  // A whole-cache reset keeps the bound with no bookkeeping per hit; the
  // handful of user-agents that matter are back after one miss each.
  if (uaCache.size >= UA_CACHE_LIMIT) uaCache.clear();
  uaCache.set(ua, facts);
  return facts;
}

const OS_NAMES: Record<string, string> = { 'Mac OS': 'macOS', 'Chromium OS': 'ChromeOS' };
const DESKTOP_OS = new Set(['Windows', 'macOS', 'Linux', 'Ubuntu', 'Debian', 'Fedora', 'ChromeOS']);
/**
 * An Android WebView ("; wv)") is whatever app embeds it — a mail app or any
 * other — so it is named as an app, not as Chrome and not as a mail app.
 */
const BROWSER_NAMES: Record<string, string> = { 'Mobile Safari': 'Safari', 'Mobile Firefox': 'Firefox', 'Chrome WebView': 'an Android app' };

function parsedClient(ua: string, known?: UaSignature['client']): ClientInfo {
  const parser = new UAParser(ua);
  const os = known?.os ?? (() => {
    const name = parser.getOS().name;
    return name ? (OS_NAMES[name] ?? name) : null;
  })();
  // ua-parser-js reports no device type for desktops, and its device scan is
  // the slowest part of a parse: a desktop system answers without it.
  const device = known?.device ?? (os !== null && DESKTOP_OS.has(os) ? 'desktop' : (() => {
    const type = parser.getDevice().type;
    return type === 'mobile' || type === 'tablet' ? type : null;
  })());
  const browser = known?.name ?? parser.getBrowser().name ?? null;
  return { name: browser === null ? null : (BROWSER_NAMES[browser] ?? browser), os, device };
}

/** Client of a hit whose user-agent names a program a person uses (mail client or browser). */
function clientOf(ua: string, facts: UaFacts): ClientInfo | null {
  // A copy each time: the cached object is shared by every hit with this user-agent.
  if (facts.client !== undefined) return facts.client && { ...facts.client };
  const known = facts.signature?.client;
  const client = known?.os !== undefined && known.device !== undefined
    ? { name: known.name, os: known.os, device: known.device }
    : parsedClient(ua, known);
  facts.client = client.name === null && client.os === null && client.device === null ? null : client;
  return facts.client && { ...facts.client };
}

/**
 * The app that showed the draft — the sender's own (issue 20: the popup tells a later fetch from the same
 * network and app as "probably you"); null for a user-agent that names no person's program.
 */
function draftClient(ua: string): ClientInfo | null {
  if (ua === '') return null;
  const facts = uaFacts(ua);
  const role = facts.signature?.role;
  if (facts.bot || (role !== undefined && role !== 'mail-client')) return null;
  return clientOf(ua, facts);
}

function namedClient(signature: UaSignature): ClientInfo {
  return { name: signature.client.name, os: signature.client.os ?? null, device: signature.client.device ?? null };
}

const OWNER_NAMES: Record<NetworkRole, string> = {
  google: 'Google',
  yahoo: 'Yahoo',
  fastmail: 'Fastmail',
  hey: 'HEY',
  proton: 'Proton',
  apple: 'Apple',
  'private-relay': 'Apple',
  security: 'a security vendor',
  hosting: 'a hosting provider',
};

/** Whole seconds of a gap, the unit the reasons word it in. */
function seconds(ms: number): string {
  return String(Math.max(0, Math.floor(ms / 1000)));
}

/** A reason: its code and parameters; result() words it (contract/reasons.ts holds the sentences). */
interface Why {
  code: ReasonCode;
  params?: ReasonParams;
}

/** Reasons a person reads in the timeline: one plain sentence each, by code (contract/reasons.ts). */
const REASON = {
  presendDraft: { code: 'presend-draft' },
  presend: { code: 'presend' },
  duplicate: (gap: number): Why => ({ code: 'duplicate', params: { seconds: seconds(gap) } }),
  head: { code: 'head' },
  empty: { code: 'no-user-agent' },
  fromHeader: { code: 'from-header' },
  isbot: { code: 'says-bot' },
  tool: (name: string): Why => ({ code: 'tool', params: { name } }),
  scannerUa: (name: string): Why => ({ code: 'scanner-user-agent', params: { name } }),
  mpp: { code: 'apple-mpp' },
  gmailPrefetch: { code: 'gmail-prefetch' },
  forged: (claimed: string, owner: string, org: string | null, rented: boolean): Why =>
    rented
      ? org === null ? { code: 'forged-rented-unknown', params: { claimed } } : { code: 'forged-rented', params: { claimed, org } }
      : org === null ? { code: 'forged-unknown', params: { claimed, owner } } : { code: 'forged', params: { claimed, org, owner } },
  bareMozilla: (org: string | null): Why => (org === null ? { code: 'bare-mozilla-unknown' } : { code: 'bare-mozilla', params: { org } }),
  self: { code: 'self' },
  securityNetwork: (vendor: string | null): Why =>
    (vendor === null ? { code: 'security-network-unknown' } : { code: 'security-network', params: { vendor } }),
  bareMozillaSecurity: (vendor: string): Why => ({ code: 'bare-mozilla-security', params: { vendor } }),
  protonPrefetch: { code: 'proton-prefetch' },
  hosting: (org: string | null): Why => (org === null ? { code: 'hosting-unknown' } : { code: 'hosting', params: { org } }),
  tooFast: (gap: number): Why => ({ code: 'too-fast', params: { seconds: seconds(gap) } }),
  gmailOpen: { code: 'gmail-open' },
  yahooOpen: { code: 'yahoo-open' },
  proxyOpen: (name: string): Why => ({ code: 'proxy-open', params: { name } }),
  clientOpen: (client: ClientInfo | null, fallback: string): Why =>
    client?.name && client.os && !client.name.startsWith('an ')
      ? { code: 'client-open-os', params: { client: client.name, os: client.os } }
      : { code: 'client-open', params: { client: client?.name ?? fallback } },
  unknownOpen: { code: 'unknown-open' },
} as const satisfies Record<string, Why | ((...args: never[]) => Why)>;

const CLAIMS: Record<string, string> = {
  'gmail-proxy': 'Gmail\'s image proxy',
  'yahoo-proxy': 'Yahoo\'s image proxy',
  'gmail-prefetch': 'Gmail\'s background fetcher',
  'fastmail-proxy': 'Fastmail\'s image proxy',
  'hey-proxy': 'HEY\'s image proxy',
};

/** The open reason of a believed proxy, by its via. */
function proxyOpenReason(via: string | null, name: string): Why {
  if (via === 'gmail-proxy') return REASON.gmailOpen;
  if (via === 'yahoo-proxy') return REASON.yahooOpen;
  return REASON.proxyOpen(name);
}

/** The org to name for a network: a list's operator for rented space ("Google Cloud"), else the AS holder. */
function orgName(net: NetworkFacts, org: string | null): string | null {
  return net.hosting && net.operator ? net.operator : org;
}

function result(kind: Classification['kind'], via: string | null, why: Why, client: ClientInfo | null): Classification {
  const reasonParams = why.params ?? {};
  return { kind, via, reason: formatReason(why.code, reasonParams), reasonCode: why.code, reasonParams: { ...reasonParams }, client };
}

/**
 * Real user-agents are well under this; the header may be up to the server's
 * header limit, and every matcher below costs time in proportion to length.
 */
const UA_MAX_LENGTH = 512;

function userAgentOf(header: string | null): string {
  return header === null ? '' : header.slice(0, UA_MAX_LENGTH).trim();
}

export function classify(hit: HitSignals, tracker: TrackerContext): Classification {
  const ua = userAgentOf(hit.userAgent);
  const { sentAt } = tracker;

  if (tracker.state !== 'sent') return result('presend', null, REASON.presendDraft, draftClient(ua));
  if (sentAt !== null && hit.at < sentAt) return result('presend', null, REASON.presend, draftClient(ua));

  const prior = tracker.prior;
  for (let i = prior.length - 1; i >= 0; i--) {
    const p = prior[i]!;
    const gap = hit.at - p.at;
    if (gap > TIMING.duplicate.ms) break;
    if (gap < 0 || p.kind === 'presend') continue;
    if (p.prefix === hit.network.prefix && userAgentOf(p.userAgent) === ua) {
      return result('duplicate', null, REASON.duplicate(gap), null);
    }
  }

  const facts = ua === '' ? null : uaFacts(ua);
  const signature = facts?.signature ?? null;

  if (hit.method === 'HEAD') {
    // Only a scanner's own signature names it; a proxy's user-agent on a HEAD is not that proxy at work.
    const scanner = signature?.role === 'scanner' ? signature : null;
    return result('scanner', scanner?.via ?? null, REASON.head, scanner ? namedClient(scanner) : null);
  }
  const net = networkFacts(hit.network);
  // Proton Mail pre-loads remote images through its proxy on delivery
  // (proton.me/support/email-tracker-protection, "pre-load other remote images on
  // your behalf using a proxy"); it publishes no user-agent, so whatever fetches
  // from its network is that proxy — unless it claims to be another provider's proxy.
  if (net.role === 'proton' && signature?.role !== 'proxy') {
    return result('prefetch', 'proton-proxy', REASON.protonPrefetch, { name: 'Proton Mail', os: null, device: null });
  }
  if (facts === null) return result('bot', null, REASON.empty, null);

  const org = orgName(net, hit.network.org);

  // `via` and reason of a hit that would count as an open, if nothing below says otherwise.
  let openVia: string | null = null;
  let openReason: Why = REASON.unknownOpen;
  let client: ClientInfo | null = null;

  if (signature) {
    const fromOwner = fromOperator(signature.owners, net);
    switch (signature.role) {
      case 'tool':
        return result('bot', null, REASON.tool(signature.client.name), namedClient(signature));
      case 'scanner':
        return result('scanner', signature.via ?? null, REASON.scannerUa(signature.client.name), namedClient(signature));
      case 'prefetch':
        if (!fromOwner) {
          // A real Outlook open can carry the same bare user-agent as Apple's MPP, and Microsoft's
          // servers fetch before the recipient does (warmbly/warmbly #564, #569): from a security
          // vendor's network it is that vendor's check, not a forged Apple fetch.
          if (signature.via === 'apple-mpp' && net.role === 'security' && net.vendor) {
            return result('scanner', net.vendor.via, REASON.bareMozillaSecurity(net.vendor.name), null);
          }
          const reason = signature.via === 'apple-mpp'
            ? REASON.bareMozilla(org)
            : REASON.forged(CLAIMS[signature.via ?? ''] ?? signature.client.name, OWNER_NAMES[signature.owners![0]!], org, net.hosting);
          return result('bot', null, reason, null);
        }
        return result('prefetch', signature.via ?? null,
          signature.via === 'apple-mpp' ? REASON.mpp : REASON.gmailPrefetch, namedClient(signature));
      case 'proxy':
        if (!fromOwner) {
          const claimed = CLAIMS[signature.via ?? ''] ?? signature.client.name;
          const owner = signature.owners ? OWNER_NAMES[signature.owners[0]!] : signature.client.name;
          return result('bot', null, REASON.forged(claimed, owner, org, net.hosting), null);
        }
        openVia = signature.via ?? null;
        openReason = proxyOpenReason(openVia, signature.client.name);
        client = namedClient(signature);
        break;
      case 'mail-client':
        if (facts.bot) return result('bot', null, REASON.isbot, null);
        // isbot flags this client's own name: believed only where people read mail.
        if (facts.overridesIsbot && (net.hosting || net.role === 'security')) {
          return result('bot', null, REASON.isbot, null);
        }
        client = clientOf(ua, facts);
        openReason = REASON.clientOpen(client, signature.client.name);
        break;
    }
  } else {
    // RFC 9110 §10.1.2: user agents do not send From unless configured; robots are asked to.
    if (hit.headers.from) return result('bot', null, REASON.fromHeader, null);
    if (facts.bot) return result('bot', null, REASON.isbot, null);
    client = clientOf(ua, facts);
    openReason = client?.name ? REASON.clientOpen(client, client.name) : REASON.unknownOpen;
  }

  for (const view of tracker.selfViews) {
    const offset = hit.at - view;
    if (offset >= -TIMING.selfBefore.ms && offset <= TIMING.selfAfter.ms) {
      return result('self', openVia, REASON.self, client);
    }
  }

  // A believed proxy's network is its owner's, never a security vendor or a host.
  if (openVia === null) {
    if (net.role === 'security') {
      return result('scanner', net.vendor?.via ?? null, REASON.securityNetwork(net.vendor?.name ?? org), client);
    }
    if (net.hosting) return result('scanner', null, REASON.hosting(org), client);
  }

  // A send learnt from the first outside fetch (backend/anysend.ts) has no real send time to measure from.
  if (sentAt !== null && tracker.sentBy !== 'fetch' && hit.at - sentAt <= TIMING.tooFast.ms) {
    return result('scanner', null, REASON.tooFast(hit.at - sentAt), client);
  }

  return result('open', openVia, openReason, client);
}
