/**
 * `GET /healthz` (SPEC §3): `{"ok", "warnings": [{"code", "message"}…]}`.
 * Every warning comes from one check in HEALTH_CHECKS below; a new warning
 * code is a new check there. A check that finds the server unable to do its
 * job (`failing`) makes the answer `ok: false` with status 503; the others
 * only warn (status 200), e.g. a configuration that recipients cannot reach.
 * Each warning is logged once, when first seen: the public URL's at start
 * (server.ts), `forwarded-untrusted` when the first such request arrives.
 */
import { isTrusted, type ProxyTrust } from './clientip.ts';
import type { Config } from './config.ts';
import type { App } from './http.ts';
import { cidrContains, networkPrefix, parseCidr, parseIp, type Cidr } from './ipdata/ip.ts';
import type { Logger } from './log.ts';
import type { HealthWarning } from '../contract/index.ts';

// The warning codes travel to the extension: the wire contract owns them (STYLE §13).
export type { HealthWarning, HealthWarningCode } from '../contract/index.ts';

interface Finding extends HealthWarning {
  /** True: the server cannot do its job now (503, `ok: false`); false: it works, but see the message. */
  failing: boolean;
}

type HealthCheck = (app: App) => Finding | null | Promise<Finding | null>;

// ── the public URL ─────────────────────────────────────────────────────────

/**
 * Address blocks no recipient can reach a server in, with their source (IANA's
 * special-purpose address registries collect them). The documentation and
 * benchmarking blocks are left out on purpose: nobody configures them by
 * accident, and tests use them as stand-ins for public addresses.
 */
export const LOCAL_RANGES: ReadonlyArray<{ cidr: string; what: string; source: string }> = [
  { cidr: '0.0.0.0/8', what: 'an unspecified address', source: 'RFC 1122 §3.2.1.3 ("this network")' },
  { cidr: '10.0.0.0/8', what: 'a private address', source: 'RFC 1918 §3' },
  { cidr: '100.64.0.0/10', what: 'a carrier-grade NAT address', source: 'RFC 6598 (shared address space)' },
  { cidr: '127.0.0.0/8', what: 'a loopback address', source: 'RFC 1122 §3.2.1.3' },
  { cidr: '169.254.0.0/16', what: 'a link-local address', source: 'RFC 3927' },
  { cidr: '172.16.0.0/12', what: 'a private address', source: 'RFC 1918 §3' },
  { cidr: '192.168.0.0/16', what: 'a private address', source: 'RFC 1918 §3' },
  { cidr: '::/128', what: 'an unspecified address', source: 'RFC 4291 §2.5.2' },
  { cidr: '::1/128', what: 'a loopback address', source: 'RFC 4291 §2.5.3' },
  { cidr: 'fc00::/7', what: 'a unique local (private) address', source: 'RFC 4193' },
  { cidr: 'fe80::/10', what: 'a link-local address', source: 'RFC 4291 §2.5.6' },
  { cidr: 'fec0::/10', what: 'a site-local address', source: 'RFC 3879 (deprecated, still private)' },
];

const LOCAL_CIDRS: ReadonlyArray<{ cidr: Cidr; what: string }> = LOCAL_RANGES.map(({ cidr, what }) => ({ cidr: parseCidr(cidr)!, what }));

/**
 * Name suffixes that never resolve on the public internet. A single-label name
 * ("openping") is local too: ICANN does not let a top-level domain answer by
 * itself (dotless domains, prohibited by its New gTLD Program Committee in
 * August 2013 after SSAC's SAC053), so only a local search domain or a hosts
 * file resolves one.
 */
export const LOCAL_SUFFIXES: ReadonlyArray<{ suffix: string; what: string; source: string }> = [
  { suffix: 'localhost', what: 'a name that always means the machine itself', source: 'RFC 6761 §6.3' },
  { suffix: 'local', what: 'a multicast DNS name that only the local network resolves', source: 'RFC 6762' },
  {
    suffix: 'internal',
    what: 'a name reserved for private networks',
    source: 'ICANN board resolution of 2024-07-29 reserving .internal for private use (SAC113)',
  },
  {
    suffix: 'lan',
    what: 'a name used only inside private networks',
    source: 'RFC 6762 Appendix G: among the names used privately (.intranet, .internal, .private, .corp, .home, .lan)',
  },
  { suffix: 'home.arpa', what: 'a name for home networks only', source: 'RFC 8375' },
];

/** Why recipients cannot reach `host` (a WHATWG URL hostname), or null when it is public as far as can be told. */
export function localHost(host: string): string | null {
  let name = host.toLowerCase();
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  // "localhost." is the same name as "localhost" (the root label, RFC 1034 §3.1).
  if (name.endsWith('.')) name = name.slice(0, -1);
  const ip = parseIp(name);
  if (ip) {
    for (const { cidr, what } of LOCAL_CIDRS) if (cidrContains(cidr, ip)) return what;
    return null;
  }
  for (const { suffix, what } of LOCAL_SUFFIXES) if (name === suffix || name.endsWith(`.${suffix}`)) return what;
  if (!name.includes('.')) return 'a name without a dot, which only your own network resolves';
  return null;
}

/** The warnings about OPENPING_PUBLIC_URL (already validated by config.ts), in a fixed order. */
export function publicUrlWarnings(publicUrl: string): HealthWarning[] {
  const url = new URL(publicUrl);
  const warnings: HealthWarning[] = [];
  const why = localHost(url.hostname);
  if (why !== null) {
    warnings.push({
      code: 'public-url-local',
      message: `OPENPING_PUBLIC_URL (${publicUrl}) points at ${url.hostname}, ${why}, so recipients' mail clients cannot fetch the pixel: set it to this server's public https address, such as https://track.example.com.`,
    });
  }
  if (url.protocol !== 'https:') {
    warnings.push({
      code: 'public-url-http',
      message: `OPENPING_PUBLIC_URL (${publicUrl}) is not https, and mail clients and webmail block or flag plain-http images: serve OpenPing behind an https reverse proxy (README, "Behind a reverse proxy") and set OPENPING_PUBLIC_URL to that https address.`,
    });
  }
  return warnings;
}

// ── forwarding headers from an untrusted peer ──────────────────────────────

/**
 * Notices requests that carry X-Forwarded-For or Forwarded from a peer that
 * OPENPING_TRUST_PROXY does not name: a proxy in front that is not trusted, so
 * every open through it is read as the proxy's. Callers (fastpath.ts and the
 * node:http dispatcher) call saw() only for requests that carry one of the
 * headers; after the first finding it returns at once, and a trusted proxy's
 * address is remembered, so its steady traffic costs one string comparison.
 */
export class ForwardingWatch {
  /** The kept prefix (/24 or /48) of the first untrusted peer seen with forwarding headers. */
  private found: string | null = null;
  private lastTrusted: string | undefined;

  constructor(
    private proxy: ProxyTrust,
    private log: Logger,
  ) {}

  saw(peer: string | undefined): void {
    if (this.found !== null || peer === undefined || peer === this.lastTrusted) return;
    const ip = parseIp(peer);
    if (!ip) return;
    if (isTrusted(this.proxy.trust, ip)) {
      this.lastTrusted = peer;
      return;
    }
    this.found = networkPrefix(ip);
    const warning = this.warning()!;
    this.log.warn({ code: warning.code }, warning.message);
  }

  warning(): HealthWarning | null {
    if (this.found === null) return null;
    return {
      code: 'forwarded-untrusted',
      message: `Requests with X-Forwarded-For or Forwarded headers come from ${this.found}, which OPENPING_TRUST_PROXY does not name, so every open through that proxy counts as the proxy's: set OPENPING_TRUST_PROXY to the proxy's address (loopback when it runs on this machine), or stop the headers reaching OpenPing.`,
    };
  }
}

/** Logs the configuration's warnings once, at start. */
export function logConfigWarnings(config: Config, log: Logger): void {
  for (const w of publicUrlWarnings(config.publicUrl)) log.warn({ code: w.code }, w.message);
}

// ── the checks ─────────────────────────────────────────────────────────────

const publicUrl: HealthCheck[] = (['public-url-local', 'public-url-http'] as const).map(
  (code): HealthCheck =>
    ({ config }) => {
      const warning = publicUrlWarnings(config.publicUrl).find((w) => w.code === code);
      return warning ? { ...warning, failing: false } : null;
    },
);

const forwardedUntrusted: HealthCheck = ({ forwarding }) => {
  const warning = forwarding.warning();
  return warning ? { ...warning, failing: false } : null;
};

/** The store cannot store (a full disk, I/O errors: Store.failing); pixels still answer, but hits are not kept. */
const storeFailing: HealthCheck = async ({ store }) => {
  await store.ping();
  const reason = store.failing?.() ?? null;
  return reason === null
    ? null
    : {
        code: 'store-failing',
        failing: true,
        message: `The store is failing: ${reason}. Pixels are still answered; a hit that cannot be made durable is not stored (counted as outcome "error").`,
      };
};

const HEALTH_CHECKS: readonly HealthCheck[] = [...publicUrl, forwardedUntrusted, storeFailing];

export async function health(app: App): Promise<{ status: number; body: { ok: boolean; warnings: HealthWarning[] } }> {
  const findings = (await Promise.all(HEALTH_CHECKS.map((check) => check(app)))).filter((f): f is Finding => f !== null);
  const ok = !findings.some((f) => f.failing);
  return { status: ok ? 200 : 503, body: { ok, warnings: findings.map(({ code, message }) => ({ code, message })) } };
}
