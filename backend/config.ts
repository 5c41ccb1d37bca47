/**
 * Server configuration from the environment (SPEC §4). A bad value stops the
 * server at start with a sentence naming the variable, never a guess.
 */
import { PROXY_HEADERS, type ProxyHeader } from './clientip.ts';
import { parseCidr, type Cidr } from './ipdata/ip.ts';

export interface Config {
  port: number;
  host: string;
  /** Base URL put into pixels, without a trailing slash. */
  publicUrl: string;
  /** SQLite file path or postgres:// URL. */
  db: string;
  /** Peers whose forwarding header is believed. Empty: none. */
  trustProxy: Cidr[];
  /** The one forwarding header read from a trusted peer (SPEC §3–§4); the other is ignored. */
  proxyHeader: ProxyHeader;
  retentionDays: number;
  /** Accounts one client network (/24 or /48) may create per hour. */
  accountsPerHour: number;
  /** Stored hits per tracker per clock hour before the rest is only counted (SPEC §3: ≥ 1,000). */
  floodCapPerHour: number;
  /**
   * Stored hits per account per clock hour, all its trackers together, before the
   * rest is only counted; never below floodCapPerHour (default: the higher of the two). 10,000: a person's 1-to-1 mail — even a newsletter-sized
   * send of a few hundred tracked messages, each opened a few times and prefetched
   * by proxies and scanners — stays far below it in any hour, while one account
   * can no longer fill the disk at flood-cap speed on hundreds of trackers
   * (README "Abuse limits" has the worst case in bytes).
   */
  accountHitsPerHour: number;
  /**
   * New trackers an account may register per UTC day. 500: one per tracked
   * message (drafts included), far above what one person sends by hand in a day.
   */
  trackersPerDay: number;
  /**
   * Self-views per tracker per minute. 10: the extension reports a view each
   * time the sender's webmail shows the message; nobody opens one message ten
   * times a minute, and a refused one is retried later by the extension.
   */
  selfViewsPerMinute: number;
  logLevel: string;
  /** Largest accepted JSON body, in bytes. */
  maxBodyBytes: number;
  /** Largest accepted request head (Node's maxHeaderSize). */
  maxHeaderBytes: number;
  /** A client must send its whole head within this, its whole request within requestTimeoutMs. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** Idle time of a kept-alive connection. */
  keepAliveTimeoutMs: number;
  /** Web origins besides extension origins that may call /v1 from a browser (SPEC §3 CORS). */
  corsOrigins: string[];
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const DEFAULTS: Config = {
  port: 8787,
  host: '127.0.0.1',
  publicUrl: 'http://localhost:8787',
  db: './data/openping.db',
  trustProxy: [],
  proxyHeader: 'x-forwarded-for',
  retentionDays: 180,
  accountsPerHour: 20,
  floodCapPerHour: 1000,
  accountHitsPerHour: 10_000,
  trackersPerDay: 500,
  selfViewsPerMinute: 10,
  logLevel: 'info',
  maxBodyBytes: 16 * 1024,
  maxHeaderBytes: 8 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  corsOrigins: [],
};

/** Keywords accepted in OPENPING_TRUST_PROXY besides CIDRs and addresses. */
const TRUST_KEYWORDS: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

export function parseTrustProxy(value: string): Cidr[] {
  const cidrs: Cidr[] = [];
  for (const item of value.split(/[\s,]+/).filter(Boolean)) {
    for (const text of TRUST_KEYWORDS[item.toLowerCase()] ?? [item]) {
      const cidr = parseCidr(text);
      if (!cidr) {
        throw new ConfigError(`OPENPING_TRUST_PROXY: "${item}" is neither loopback, linklocal, uniquelocal, an address nor a CIDR.`);
      }
      cidrs.push(cidr);
    }
  }
  return cidrs;
}

/** OPENPING_CORS_ORIGINS: comma-separated http(s) origins, each exactly as a browser sends it in `Origin`. */
export function parseCorsOrigins(value: string): string[] {
  const origins: string[] = [];
  for (const item of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    let origin = 'null';
    try {
      const url = new URL(item);
      if (url.protocol === 'http:' || url.protocol === 'https:') origin = url.origin;
    } catch {
      // left as 'null': refused below
    }
    // The serialised origin (RFC 6454 §6.1) is what a browser sends; anything more or less would never match.
    if (origin === 'null' || origin !== item) {
      throw new ConfigError(`OPENPING_CORS_ORIGINS: "${item}" is not an origin; list origins such as https://app.example.com or http://localhost:3000, separated by commas.`);
    }
    origins.push(origin);
  }
  return origins;
}

export function parseProxyHeader(value: string | undefined): ProxyHeader {
  const name = value?.trim().toLowerCase() ?? '';
  if (name === '') return DEFAULTS.proxyHeader;
  const known = PROXY_HEADERS.find((h) => h === name);
  if (!known) {
    throw new ConfigError(`OPENPING_PROXY_HEADER must be x-forwarded-for (what nginx and Caddy set) or forwarded; got "${value}".`);
  }
  return known;
}

/**
 * OPENPING_PUBLIC_URL: the base every pixel URL starts with. Userinfo, a query
 * or a fragment would end up in every pixel (and a password in every sent
 * mail), and a path join after them makes no URL, so they are refused.
 */
export function parsePublicUrl(value: string | undefined): string {
  const publicUrl = (value?.trim() || DEFAULTS.publicUrl).replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(publicUrl);
  } catch {
    throw new ConfigError(`OPENPING_PUBLIC_URL must be an absolute http(s) URL such as https://track.example.com; got "${publicUrl}".`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(`OPENPING_PUBLIC_URL must start with http:// or https://; got "${publicUrl}".`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new ConfigError('OPENPING_PUBLIC_URL must not hold a user name or password; give the plain address recipients fetch pixels from.');
  }
  if (parsed.search !== '' || parsed.hash !== '' || publicUrl.includes('?') || publicUrl.includes('#')) {
    throw new ConfigError(`OPENPING_PUBLIC_URL must not hold a query or fragment ("?" or "#"), since pixel paths are appended to it; got "${publicUrl}".`);
  }
  return publicUrl;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}; got "${raw}".`);
  }
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const floodCapPerHour = integer(env, 'OPENPING_FLOOD_CAP', DEFAULTS.floodCapPerHour, 1000, 1_000_000);
  // At least the flood cap: one tracker's guaranteed hour (SPEC §3) must fit into its account's.
  const accountHitsPerHour = integer(
    env,
    'OPENPING_ACCOUNT_HITS_PER_HOUR',
    Math.max(DEFAULTS.accountHitsPerHour, floodCapPerHour),
    floodCapPerHour,
    100_000_000,
  );
  return {
    ...DEFAULTS,
    port: integer(env, 'OPENPING_PORT', DEFAULTS.port, 0, 65535),
    host: env.OPENPING_HOST?.trim() || DEFAULTS.host,
    publicUrl: parsePublicUrl(env.OPENPING_PUBLIC_URL),
    db: env.OPENPING_DB?.trim() || DEFAULTS.db,
    trustProxy: parseTrustProxy(env.OPENPING_TRUST_PROXY ?? ''),
    proxyHeader: parseProxyHeader(env.OPENPING_PROXY_HEADER),
    retentionDays: integer(env, 'OPENPING_RETENTION_DAYS', DEFAULTS.retentionDays, 1, 36_500),
    accountsPerHour: integer(env, 'OPENPING_ACCOUNTS_PER_HOUR', DEFAULTS.accountsPerHour, 1, 1_000_000),
    floodCapPerHour,
    accountHitsPerHour,
    trackersPerDay: integer(env, 'OPENPING_TRACKERS_PER_DAY', DEFAULTS.trackersPerDay, 1, 10_000_000),
    selfViewsPerMinute: integer(env, 'OPENPING_SELF_VIEWS_PER_MINUTE', DEFAULTS.selfViewsPerMinute, 1, 10_000),
    logLevel: env.OPENPING_LOG_LEVEL?.trim() || DEFAULTS.logLevel,
    corsOrigins: parseCorsOrigins(env.OPENPING_CORS_ORIGINS ?? ''),
  };
}
