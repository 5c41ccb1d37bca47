/**
 * Whether recipients can reach a URL's host: the rule behind the server's
 * `public-url-local` and `public-url-http` warnings (backend/health.ts, SPEC §3)
 * and behind the extension's switch, which does not track through a pixel URL
 * that is local or not https (SPEC §6 `setup`). Both import this module, so it
 * imports nothing from Node; addresses are read through the WHATWG URL parser
 * (global in Node and browsers), which also turns the old notations
 * (`0x7f.1`, `2130706433`, `[::ffff:127.0.0.1]`) into canonical ones.
 */

interface HostIp {
  family: 4 | 6;
  /** The address as a number: 32 bits for IPv4, 128 for IPv6. */
  value: bigint;
}

interface HostCidr {
  ip: HostIp;
  bits: number;
}

/**
 * The address a host names, or null for a name. IPv4-mapped IPv6
 * (::ffff:0:0/96, RFC 4291 §2.5.5.2) is read as the IPv4 address it carries.
 */
function hostAddress(host: string): HostIp | null {
  let canonical: string;
  try {
    canonical = new URL(`http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}/`).hostname;
  } catch {
    return null;
  }
  if (/^\d+\.\d+\.\d+\.\d+$/.test(canonical)) {
    return { family: 4, value: canonical.split('.').reduce((n, part) => (n << 8n) | BigInt(part), 0n) };
  }
  if (!canonical.startsWith('[')) return null;
  // Canonical IPv6 (WHATWG URL §3.6): lower-case hex pieces, at most one "::", no dotted tail.
  const [left = '', right] = canonical.slice(1, -1).split('::');
  const head = left === '' ? [] : left.split(':');
  const tail = right === undefined || right === '' ? [] : right.split(':');
  const pieces = [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  const value = pieces.reduce((n, piece) => (n << 16n) | BigInt(`0x${piece}`), 0n);
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

function inCidr(cidr: HostCidr, ip: HostIp): boolean {
  if (cidr.ip.family !== ip.family) return false;
  const shift = BigInt((ip.family === 4 ? 32 : 128) - cidr.bits);
  return ip.value >> shift === cidr.ip.value >> shift;
}

/**
 * Why a host is local, as a stable code: the extension words it in the user's
 * language (lib/setup.ts, locales `setup.why*`, STYLE §14); `what` beside each
 * code is the server's English for its log and /healthz.
 */
export type LocalWhy =
  | 'unspecified'
  | 'private'
  | 'cgnat'
  | 'loopback'
  | 'link-local'
  | 'unique-local'
  | 'site-local'
  | 'localhost'
  | 'mdns'
  | 'internal'
  | 'lan'
  | 'home'
  | 'dotless';

/**
 * Address blocks no recipient can reach a server in, with their source (IANA's
 * special-purpose address registries collect them). The documentation and
 * benchmarking blocks are left out on purpose: nobody configures them by
 * accident, and tests use them as stand-ins for public addresses.
 */
export const LOCAL_RANGES: ReadonlyArray<{ cidr: string; code: LocalWhy; what: string; source: string }> = [
  { cidr: '0.0.0.0/8', code: 'unspecified', what: 'an unspecified address', source: 'RFC 1122 §3.2.1.3 ("this network")' },
  { cidr: '10.0.0.0/8', code: 'private', what: 'a private address', source: 'RFC 1918 §3' },
  { cidr: '100.64.0.0/10', code: 'cgnat', what: 'a carrier-grade NAT address', source: 'RFC 6598 (shared address space)' },
  { cidr: '127.0.0.0/8', code: 'loopback', what: 'a loopback address', source: 'RFC 1122 §3.2.1.3' },
  { cidr: '169.254.0.0/16', code: 'link-local', what: 'a link-local address', source: 'RFC 3927' },
  { cidr: '172.16.0.0/12', code: 'private', what: 'a private address', source: 'RFC 1918 §3' },
  { cidr: '192.168.0.0/16', code: 'private', what: 'a private address', source: 'RFC 1918 §3' },
  { cidr: '::/128', code: 'unspecified', what: 'an unspecified address', source: 'RFC 4291 §2.5.2' },
  { cidr: '::1/128', code: 'loopback', what: 'a loopback address', source: 'RFC 4291 §2.5.3' },
  { cidr: 'fc00::/7', code: 'unique-local', what: 'a unique local (private) address', source: 'RFC 4193' },
  { cidr: 'fe80::/10', code: 'link-local', what: 'a link-local address', source: 'RFC 4291 §2.5.6' },
  { cidr: 'fec0::/10', code: 'site-local', what: 'a site-local address', source: 'RFC 3879 (deprecated, still private)' },
];

const LOCAL_CIDRS: ReadonlyArray<{ cidr: HostCidr; code: LocalWhy; what: string }> = LOCAL_RANGES.map(({ cidr, code, what }) => {
  const [addr, bits] = cidr.split('/');
  return { cidr: { ip: hostAddress(addr!)!, bits: Number(bits) }, code, what };
});

/**
 * Name suffixes that never resolve on the public internet. A single-label name
 * ("openping") is local too: ICANN does not let a top-level domain answer by
 * itself (dotless domains, prohibited by its New gTLD Program Committee in
 * August 2013 after SSAC's SAC053), so only a local search domain or a hosts
 * file resolves one.
 */
export const LOCAL_SUFFIXES: ReadonlyArray<{ suffix: string; code: LocalWhy; what: string; source: string }> = [
  { suffix: 'localhost', code: 'localhost', what: 'a name that always means the machine itself', source: 'RFC 6761 §6.3' },
  { suffix: 'local', code: 'mdns', what: 'a multicast DNS name that only the local network resolves', source: 'RFC 6762' },
  {
    suffix: 'internal',
    code: 'internal',
    what: 'a name reserved for private networks',
    source: 'ICANN board resolution of 2024-07-29 reserving .internal for private use (SAC113)',
  },
  {
    suffix: 'lan',
    code: 'lan',
    what: 'a name used only inside private networks',
    source: 'RFC 6762 Appendix G: among the names used privately (.intranet, .internal, .private, .corp, .home, .lan)',
  },
  { suffix: 'home.arpa', code: 'home', what: 'a name for home networks only', source: 'RFC 8375' },
];

/** Why recipients cannot reach `host` (a WHATWG URL hostname): a code and its English; null when it is public as far as can be told. */
export function localReason(host: string): { code: LocalWhy; what: string } | null {
  let name = host.toLowerCase();
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  // "localhost." is the same name as "localhost" (the root label, RFC 1034 §3.1).
  if (name.endsWith('.')) name = name.slice(0, -1);
  const ip = hostAddress(name);
  if (ip) {
    for (const { cidr, code, what } of LOCAL_CIDRS) if (inCidr(cidr, ip)) return { code, what };
    return null;
  }
  for (const { suffix, code, what } of LOCAL_SUFFIXES) if (name === suffix || name.endsWith(`.${suffix}`)) return { code, what };
  if (!name.includes('.')) return { code: 'dotless', what: 'a name without a dot, which only your own network resolves' };
  return null;
}

/** Why recipients cannot reach `host`, in the server's English, or null when it is public as far as can be told. */
export function localHost(host: string): string | null {
  return localReason(host)?.what ?? null;
}

export type PublicUrlProblem = 'public-url-local' | 'public-url-http';

/**
 * What stops recipients fetching a pixel under `url`, in the order /healthz
 * gives them: `public-url-local` with the reason (a sentence fragment in English, and its code), then
 * `public-url-http`. Empty when the URL is public and https as far as can be
 * told without resolving it. Throws on a string that is not a URL.
 */
export function publicUrlProblems(url: string): Array<{ code: PublicUrlProblem; why: string | null; whyCode: LocalWhy | null }> {
  const parsed = new URL(url);
  const problems: Array<{ code: PublicUrlProblem; why: string | null; whyCode: LocalWhy | null }> = [];
  const local = localReason(parsed.hostname);
  if (local !== null) problems.push({ code: 'public-url-local', why: local.what, whyCode: local.code });
  if (parsed.protocol !== 'https:') problems.push({ code: 'public-url-http', why: null, whyCode: null });
  return problems;
}
