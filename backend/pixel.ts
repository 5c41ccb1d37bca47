/**
 * The pixel: the hot path (SPEC §3 `GET|HEAD /p/{account}/{tracker}.gif`).
 *
 * Whatever happens behind it, the answer is the same 43-byte GIF with the
 * no-cache headers — for unknown ids, malformed paths and a failing store
 * (then the failure is logged and counted). A hit is answered only once it is
 * durably committed; hits arriving together share one transaction (group
 * commit), so one fsync serves many requests.
 *
 * Tracker context (state, sentAt, self-views, recent prior hits) is cached in
 * memory per tracker so the hot path does not read the store per hit:
 * - SQLite (one process owns the file): the cache is exact — every write that
 *   changes a context goes through this process and updates or drops its entry.
 * - PostgreSQL (possibly several instances): entries expire after
 *   SHARED_CONTEXT_TTL_MS, so a self-view, PUT or hit recorded by another
 *   instance is seen at most that late. A hit classified on a slightly stale
 *   context is corrected by the relabel that the late self-view/PUT triggers
 *   (see relabel.ts), and duplicate detection may miss a retry that another
 *   instance served within that second — acceptable: both stay recorded.
 */
import { randomBytes } from 'node:crypto';
import { sendOnOutsideFetch, type OwnNetworks } from './anysend.ts';
import { classify } from './classify/index.ts';
import type { HitSignals, NetworkInfo, PriorHit, TrackerContext } from './classify/types.ts';
import { clientAddress, type ForwardingHeaders, type ProxyTrust } from './clientip.ts';
import { lookupGeo, lookupNetwork, networkPrefix } from './ipdata/index.ts';
import type { Logger } from './log.ts';
import type { Metrics, Tally } from './metrics.ts';
import type { Geo, NewHit, RecordOutcome, SentBy, Store, TrackerState } from './store/types.ts';
import { cutHeader, HEADER_MAX, sanitizeHeader, type KeptHeader } from './sanitize.ts';

/** The classic transparent 1×1 GIF89a (same bytes as nginx's empty_gif module). */
export const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');

export const PIXEL_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'image/gif',
  'content-length': String(GIF.length),
  'cache-control': 'no-cache, no-store, must-revalidate, max-age=0',
  pragma: 'no-cache',
  expires: '0',
  'x-content-type-options': 'nosniff',
  // A hit must not be merged or served by an intermediary across requests.
  'cross-origin-resource-policy': 'cross-origin',
});

const ID = '[A-Za-z0-9_-]{16,43}';
const PIXEL_PATH = new RegExp(`^/p/(${ID})/(${ID})\\.gif$`);

export const PRIOR_LIMIT = 20;
export const SHARED_CONTEXT_TTL_MS = 1000;
const CONTEXT_CACHE_MAX = 20_000;

/**
 * Hit ids: the time in base 36 (fixed width, so ids sort by time) and 48
 * random bits, cut from a pooled buffer (one randomFillSync per call showed
 * up as ~4% of pixel CPU in a profile, 2026-11). Time-ordered ids land at the
 * right edge of the unique index, so a batch of hits dirties one index page
 * instead of one random page per hit — the commit writes (and fsyncs) less.
 */
const RANDOM_BYTES = 6;
let idPool = Buffer.alloc(0);
let idOffset = 0;
/** The time part of the last id: the hits of one millisecond share it (toString(36) was ~1% of the event loop). */
let idTime = { now: -1, text: '' };
function newHitId(now: number): string {
  if (idOffset + RANDOM_BYTES > idPool.length) {
    idPool = randomBytes(RANDOM_BYTES * 4096);
    idOffset = 0;
  }
  idOffset += RANDOM_BYTES;
  if (idTime.now !== now) idTime = { now, text: now.toString(36).padStart(9, '0') };
  return idTime.text + idPool.toString('base64url', idOffset - RANDOM_BYTES, idOffset);
}

/** The request headers handlePixel and NetworkCache read. */
export type PixelHeaderName =
  | 'user-agent'
  | 'accept'
  | 'accept-language'
  | 'accept-encoding'
  | 'referer'
  | 'via'
  | 'from'
  | 'forwarded'
  | 'x-forwarded-for';

/**
 * A pixel fetch as handlePixel sees it, whichever server read it: node:http
 * (http.ts) or the raw-socket fast path (fastpath.ts). An object with a
 * respond() method rather than a callback, so the fast path needs no closure
 * per request.
 */
export interface PixelRequest {
  readonly method: string;
  /** The origin-form target (`/p/…`, query included). */
  readonly url: string;
  /** The TCP peer's address (node's socket.remoteAddress). */
  readonly peer: string | undefined;
  /** A header as node:http's req.headers holds it (repeats joined by ", "), or undefined. */
  header(name: PixelHeaderName): string | undefined;
  /** Sends the GIF. handlePixel calls it once; an implementation ignores any later call. */
  respond(): void;
}

/** `/p/{account}/{tracker}.gif` (query ignored) → ids, or null when malformed. */
export function parsePixelPath(url: string): { account: string; tracker: string } | null {
  const q = url.indexOf('?');
  const match = PIXEL_PATH.exec(q < 0 ? url : url.slice(0, q));
  return match ? { account: match[1]!, tracker: match[2]! } : null;
}

interface CachedContext {
  state: TrackerState;
  sentAt: number | null;
  sentBy: SentBy | null;
  autoSend: boolean;
  selfViews: number[];
  prior: PriorHit[];
  loadedAt: number;
}

interface LoadedContext {
  context: CachedContext | null;
  loadedAt: number;
}

/** Per-tracker classifier context; see the file comment for when it is exact and when it may lag. */
export class ContextCache {
  /**
   * `context: null` (no such tracker) expires like any entry: on PostgreSQL the
   * tracker may be registered through another instance a moment later, and a
   * miss cached for good would drop every later hit of it on this instance.
   */
  private entries = new Map<string, Promise<LoadedContext>>();
  /** Loaded entries, readable without a promise turn (the hot path's common case). */
  private loaded = new Map<string, LoadedContext>();
  constructor(
    private store: Store,
    private ttlMs: number,
  ) {}

  /** The loaded, unexpired context (null: no such tracker), or undefined when get() must be awaited. */
  peek(account: string, tracker: string, now: number): CachedContext | null | undefined {
    const c = this.loaded.get(`${account}/${tracker}`);
    return c && now - c.loadedAt <= this.ttlMs ? c.context : undefined;
  }

  get(account: string, tracker: string, now: number): Promise<CachedContext | null> {
    const key = `${account}/${tracker}`;
    const cached = this.entries.get(key);
    const loading = cached ? cached.then((c) => (now - c.loadedAt > this.ttlMs ? this.load(key, account, tracker, now) : c)) : this.load(key, account, tracker, now);
    return loading.then((c) => c.context);
  }

  private load(key: string, account: string, tracker: string, now: number): Promise<LoadedContext> {
    const loading = this.store.trackerContext(account, tracker, PRIOR_LIMIT).then(
      (c): LoadedContext => ({
        context: c ? { ...c, selfViews: [...c.selfViews], prior: [...c.prior], loadedAt: now } : null,
        loadedAt: now,
      }),
    );
    // Only the latest load of a key may publish (an invalidate or reload may have replaced it meanwhile).
    loading.then(
      (c) => this.entries.get(key) === loading && this.loaded.set(key, c),
      // A failed load must not stick: the next request tries the store again.
      () => this.entries.get(key) === loading && this.entries.delete(key),
    );
    if (this.entries.size >= CONTEXT_CACHE_MAX) {
      const oldest = this.entries.keys().next().value!;
      this.entries.delete(oldest);
      this.loaded.delete(oldest);
    }
    this.entries.set(key, loading);
    this.loaded.delete(key);
    return loading;
  }

  invalidate(account: string, tracker: string): void {
    this.entries.delete(`${account}/${tracker}`);
    this.loaded.delete(`${account}/${tracker}`);
  }

  clear(): void {
    this.entries.clear();
    this.loaded.clear();
  }
}

interface Pending {
  hit: NewHit;
  resolve: (outcome: RecordOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: hits queued in one turn of the event loop go into one
 * Store.recordHits transaction; each caller's promise settles after that
 * commit is durable. Up to maxInFlight batches may be committing at once
 * (the SQLite writer pipelines commit and fsync; PostgreSQL runs them on
 * separate connections), so new requests never wait for an idle turn.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  private inFlight = new Set<Promise<void>>();

  constructor(
    private store: Store,
    private metrics: Metrics,
    /** SQLite: commits are synchronous and the store shares fsyncs, so in-flight batches only wait on the disk; PostgreSQL: one per pooled connection. */
    private maxInFlight = 4,
    private maxBatch = 1000,
  ) {}

  add(hit: NewHit): Promise<RecordOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ hit, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || this.inFlight.size >= this.maxInFlight) return;
    this.scheduled = true;
    // setImmediate: let every request already read from the sockets join this batch.
    setImmediate(() => {
      this.scheduled = false;
      const flushing: Promise<void> = this.flush().finally(() => {
        this.inFlight.delete(flushing);
        this.schedule();
      });
      this.inFlight.add(flushing);
      this.schedule();
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, this.maxBatch);
    if (batch.length === 0) return;
    this.metrics.batchSize.observe(batch.length);
    try {
      const outcomes = await this.store.recordHits(batch.map((p) => p.hit));
      batch.forEach((p, i) => p.resolve(outcomes[i] ?? 'unknown'));
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }

  /** Resolves once everything queued so far is committed (or failed). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0 || this.scheduled || this.queue.length > 0) {
      if (this.inFlight.size > 0) await Promise.race(this.inFlight);
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

/** A header as a hit keeps it: cut to HEADER_MAX (which also bounds the sanitiser's work), then every address masked. */
function kept(req: PixelRequest, name: KeptHeader): string | null {
  const text = req.header(name);
  return text === undefined ? null : sanitizeHeader(name, cutHeader(text, HEADER_MAX));
}

interface Located {
  network: NetworkInfo;
  /** Frozen and shared by every hit of the network (the store caches its JSON by identity). */
  geo: Geo | null;
}

/**
 * The bound on each of the cache's two maps. An entry is ~0.5 KB (the prefix,
 * its network and its frozen geo), so 10,000 keep it near 5 MB of a 128 MB
 * budget (issue 15, item 8; 50,000 were up to ~25 MB). A miss costs one ASN and
 * one geo lookup in pages the OS keeps cached; `openping_network_cache_lookups_total`
 * in /metrics shows how often that happens.
 */
export const NETWORK_CACHE_MAX = 10_000;
const NO_FORWARDING: ForwardingHeaders = Object.freeze({});

/**
 * Network and geo of a client, cached per kept prefix (/24 or /48): both are
 * derived from the prefix alone (ipdata/index.ts), so one lookup serves every
 * address of the network. Without trusted proxies the TCP peer alone decides,
 * and the peer's text maps straight to its entry, skipping the address parse.
 * Memory only; a full address is never written anywhere.
 * Create it after loadIpData() resolved, or it would keep prefix-only entries.
 */
export class NetworkCache {
  private byPrefix = new Map<string, Located>();
  private byPeer = new Map<string, Located | null>();

  private readonly hit: Tally;
  private readonly miss: Tally;

  constructor(
    private proxy: ProxyTrust,
    metrics: Pick<Metrics, 'networkLookupsOf' | 'watchNetworkCache'>,
  ) {
    this.hit = metrics.networkLookupsOf('hit');
    this.miss = metrics.networkLookupsOf('miss');
    metrics.watchNetworkCache(() => this.byPrefix.size + this.byPeer.size);
  }

  locate(req: PixelRequest): Located | null {
    const peer = req.peer;
    const direct = this.proxy.trust.length === 0 && peer !== undefined;
    if (direct) {
      const known = this.byPeer.get(peer);
      if (known !== undefined) {
        this.hit.inc();
        return known;
      }
    }
    // Without trusted proxies clientAddress reads no header, so none is fetched; with them, only the one configured.
    const forwarding: ForwardingHeaders = this.proxy.trust.length === 0 ? NO_FORWARDING : { [this.proxy.header]: req.header(this.proxy.header) };
    const ip = clientAddress(peer, forwarding, this.proxy);
    let found: Located | null = null;
    if (ip) {
      const prefix = networkPrefix(ip);
      found = this.byPrefix.get(prefix) ?? null;
      if (found) this.hit.inc();
      else {
        this.miss.inc();
        const network = lookupNetwork(ip);
        const geo = lookupGeo(ip);
        found = { network: Object.freeze(network ?? { prefix, family: ip.family, asn: null, org: null }), geo: geo && Object.freeze(geo) };
        if (this.byPrefix.size >= NETWORK_CACHE_MAX) this.byPrefix.clear();
        this.byPrefix.set(prefix, found);
      }
    }
    if (direct) {
      if (this.byPeer.size >= NETWORK_CACHE_MAX) this.byPeer.clear();
      this.byPeer.set(peer, found);
    }
    return found;
  }
}

const UNKNOWN_NETWORK: NetworkInfo = Object.freeze({ prefix: 'unknown', family: 4, asn: null, org: null });

export interface PixelDeps {
  store: Store;
  contexts: ContextCache;
  commits: GroupCommit;
  networks: NetworkCache;
  /** The account's own networks, for trackers a fetch may send (./anysend.ts). */
  ownNetworks: OwnNetworks;
  metrics: Metrics;
  log: Logger;
  /** When a fetch happened (Date.now but in tests). */
  now: () => number;
}

/** Answers the GIF through req.respond() exactly once, whatever fails behind it. */
export async function handlePixel(deps: PixelDeps, req: PixelRequest): Promise<void> {
  const started = performance.now();
  const { metrics } = deps;
  let outcome: RecordOutcome | 'malformed' | 'error' = 'malformed';
  const ids = parsePixelPath(req.url);
  try {
    if (!ids) return;
    const located = deps.networks.locate(req);
    const now = deps.now();
    let cached = deps.contexts.peek(ids.account, ids.tracker, now);
    if (cached === undefined) cached = await deps.contexts.get(ids.account, ids.tracker, now);
    if (!cached) {
      outcome = 'unknown';
      return;
    }
    const signals: HitSignals = {
      at: now,
      method: req.method === 'HEAD' ? 'HEAD' : 'GET',
      // Every header value kept goes through the one sanitiser: no address in any notation is stored (sanitize.ts).
      userAgent: kept(req, 'user-agent'),
      headers: {
        accept: kept(req, 'accept'),
        acceptLanguage: kept(req, 'accept-language'),
        acceptEncoding: kept(req, 'accept-encoding'),
        referer: kept(req, 'referer'),
        via: kept(req, 'via'),
        from: kept(req, 'from'),
      },
      network: located?.network ?? UNKNOWN_NETWORK,
    };
    // A pixel pasted into another mail app: its first fetch from outside the sender's networks sends it.
    if (cached.state === 'armed' && cached.autoSend) await sendOnOutsideFetch(deps, ids.account, ids.tracker, cached, signals.network.prefix, now);
    const context: TrackerContext = {
      state: cached.state,
      sentAt: cached.sentAt,
      sentBy: cached.sentBy,
      selfViews: cached.selfViews,
      prior: cached.prior.slice(),
    };
    const classification = classify(signals, context);
    // Later hits of this tracker see this one as prior, even before it commits (duplicate detection).
    cached.prior.push({ at: now, prefix: signals.network.prefix, userAgent: signals.userAgent, kind: classification.kind });
    if (cached.prior.length > PRIOR_LIMIT) cached.prior.shift();
    const hit: NewHit = {
      id: newHitId(now),
      account: ids.account,
      tracker: ids.tracker,
      signals,
      classification,
      geo: located?.geo ?? null,
    };
    outcome = await deps.commits.add(hit);
    if (outcome === 'stored') metrics.hitsOf(classification.kind).inc();
    else if (outcome === 'unknown') deps.contexts.invalidate(ids.account, ids.tracker);
  } catch (error) {
    outcome = 'error';
    // The cached prior hits may now hold one that never committed.
    if (ids) deps.contexts.invalidate(ids.account, ids.tracker);
    metrics.storeErrors.inc({ operation: 'pixel' });
    deps.log.error({ err: error instanceof Error ? { message: error.message, name: error.name } : String(error) }, 'pixel: hit not recorded');
  } finally {
    metrics.pixelsOf(outcome).inc();
    req.respond();
    metrics.pixelSeconds.observe((performance.now() - started) / 1000);
  }
}
