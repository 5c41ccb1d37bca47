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
import { networkPrefix, parseIp } from './ipdata/ip.ts';
import type { Logger } from './log.ts';
import type { HealthWarning } from '../contract/index.ts';
import { publicUrlProblems } from './public-url.ts';

// The extension judges a pixel URL by the same rule (lib/setup.ts), so it lives in a module without Node imports.
export { LOCAL_RANGES, LOCAL_SUFFIXES, localHost } from './public-url.ts';

// The warning codes travel to the extension: the wire contract owns them (STYLE §13).
export type { HealthWarning, HealthWarningCode } from '../contract/index.ts';

interface Finding extends HealthWarning {
  /** True: the server cannot do its job now (503, `ok: false`); false: it works, but see the message. */
  failing: boolean;
}

type HealthCheck = (app: App) => Finding | null | Promise<Finding | null>;

// ── the public URL ─────────────────────────────────────────────────────────

/** The warnings about OPENPING_PUBLIC_URL (already validated by config.ts), in a fixed order. */
export function publicUrlWarnings(publicUrl: string): HealthWarning[] {
  const host = new URL(publicUrl).hostname;
  return publicUrlProblems(publicUrl).map(({ code, why, whyCode }) => ({
    code,
    params: { url: publicUrl, host, ...(whyCode ? { why: whyCode } : {}) },
    message:
      code === 'public-url-local'
        ? `OPENPING_PUBLIC_URL (${publicUrl}) points at ${host}, ${why}, so recipients' mail clients cannot fetch the pixel: set it to this server's public https address, such as https://track.example.com.`
        : `OPENPING_PUBLIC_URL (${publicUrl}) is not https, and mail clients and webmail block or flag plain-http images: serve OpenPing behind an https reverse proxy (README, "Behind a reverse proxy") and set OPENPING_PUBLIC_URL to that https address.`,
  }));
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
  return { status: ok ? 200 : 503, body: { ok, warnings: findings.map(({ code, message, params }) => ({ code, message, ...(params ? { params } : {}) })) } };
}
