/**
 * The server is one route table (STYLE §10): every route of SPEC §3 is listed
 * in `routes()` below; handlers are small. Errors are always
 * `{"error","message"}` JSON with the fitting status, never a stack trace.
 *
 * node:http with find-my-way routing rather than a framework: the pixel is the
 * hot path, and a framework's per-request work costs ~25% of its throughput
 * (issue 3's measurements on this machine).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Router from 'find-my-way';
import * as v from 'valibot';
import { clientAddress } from './clientip.ts';
import type { Config } from './config.ts';
import type { FeedWaiters } from './feed.ts';
import type { OwnNetworks } from './anysend.ts';
import { lookupNetwork, networkPrefix } from './ipdata/index.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import {
  GIF,
  handlePixel,
  PIXEL_HEADERS,
  type ContextCache,
  type GroupCommit,
  type NetworkCache,
  type PixelDeps,
  type PixelHeaderName,
  type PixelRequest,
} from './pixel.ts';
import { health, type ForwardingWatch } from './health.ts';
import { relabelNear, relabelTracker } from './relabel.ts';
import { blobPage, parseBlobsAfter, SYNC_ROUTES } from './sync-routes.ts';
import { NOTIFY_ROUTES } from './notify-routes.ts';
import { InvalidCursorError, LimitError, MAX_SELF_VIEWS_PER_TRACKER, StoreBehindError, StoreUnavailableError, TRACKER_PAGE_LIMIT, type Store, type TrackerRecord } from './store/types.ts';

export interface App {
  config: Config;
  store: Store;
  metrics: Metrics;
  log: Logger;
  contexts: ContextCache;
  commits: GroupCommit;
  networks: NetworkCache;
  /** Networks the account's API calls come from (./anysend.ts). */
  ownNetworks: OwnNetworks;
  feed: FeedWaiters;
  /** Notices forwarding headers from untrusted peers (/healthz `forwarded-untrusted`). */
  forwarding: ForwardingWatch;
  /** Stamps pixel fetches (ServerDeps.now). */
  now: () => number;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface Ctx {
  app: App;
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string | undefined>;
  query: URLSearchParams;
}

export type Handler = (ctx: Ctx) => Promise<void> | void;

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const PAGE_LIMIT = 500;
const MAX_WAIT_SECONDS = 25;
const ID = /^[A-Za-z0-9_-]{16,43}$/;

/**
 * CORS (SPEC §3): the extension calls /v1 from its own origin; a web page anywhere else must neither read
 * an answer (a new account's token) nor act through its visitors' browsers — `POST /v1/accounts` needs no
 * preflight, so its Origin is checked, not only left without allow headers. Extension ids: Chrome's are 32
 * letters a–p (chromium extensions/common/extension_id.h); Firefox's moz-extension host is the add-on's
 * "Internal UUID" (about:debugging), a random lower-case UUID (Services.uuid.generateUUID).
 */
const EXTENSION_ORIGIN = /^(?:chrome-extension:\/\/[a-p]{32}|moz-extension:\/\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

const PREFLIGHT: Record<string, string> = {
  'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'access-control-allow-headers': 'Authorization, Content-Type',
  'access-control-max-age': '86400',
};

/** The request's Origin when it may read /v1 answers; null when there is none or it may not. */
export function allowedOrigin(origin: string | undefined, extra: readonly string[]): string | null {
  if (origin === undefined) return null;
  return EXTENSION_ORIGIN.test(origin) || extra.includes(origin) ? origin : null;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) }),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, code: string, message: string, headers?: Record<string, string>): void {
  sendJson(res, status, { error: code, message }, headers);
}

// ── input ──────────────────────────────────────────────────────────────────

export function trackerId(ctx: Ctx): string {
  const id = ctx.params.tracker ?? '';
  if (!ID.test(id)) throw new HttpError(400, 'bad_tracker', 'A tracker id is 16 to 43 characters of A–Z, a–z, 0–9, "-" and "_".');
  return id;
}

/** Reads the body, at most maxBodyBytes; an empty body is `undefined`. */
export async function readJson(ctx: Ctx): Promise<unknown> {
  const limit = ctx.app.config.maxBodyBytes;
  const declared = Number(ctx.req.headers['content-length'] ?? 0);
  if (declared > limit) throw new HttpError(413, 'too_large', `The request body is larger than ${limit} bytes.`, { connection: 'close' });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'too_large', `The request body is larger than ${limit} bytes.`, { connection: 'close' });
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'bad_json', 'The request body is not valid JSON.');
  }
}

export function validate<S extends v.GenericSchema>(schema: S, input: unknown, what: string): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const path = issue?.path?.map((p) => String(p.key)).join('.');
  throw new HttpError(400, 'bad_request', `${what}: ${path ? `${path}: ` : ''}${issue?.message ?? 'invalid'}.`);
}

const EpochMs = v.pipe(v.number('must be a number (epoch milliseconds)'), v.integer('must be whole milliseconds'), v.minValue(0, 'must not be negative'));

const PutTrackerBody = v.object(
  {
    state: v.picklist(['armed', 'sent'], 'state must be "armed" or "sent"'),
    sentAt: v.optional(v.nullable(EpochMs)),
    // A pixel pasted into another mail app: the first fetch from outside the account's networks sends it (./anysend.ts).
    autoSend: v.optional(v.boolean('autoSend must be true or false')),
  },
  'expected a JSON object',
);

const SelfViewBody = v.object({ at: EpochMs }, 'expected a JSON object {"at": epoch ms}');

const EventsQuery = v.object({
  blobsAfter: v.optional(v.string()),
  after: v.optional(v.pipe(v.string(), v.minLength(1, 'after must not be empty'), v.maxLength(64, 'after is too long'))),
  wait: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,2}(\.\d{1,3})?$/, 'wait must be a number of seconds from 0 to 25'),
      v.transform(Number),
      v.maxValue(MAX_WAIT_SECONDS, 'wait must be a number of seconds from 0 to 25'),
    ),
  ),
});

const TrackerQuery = v.object({
  after: v.optional(v.pipe(v.string(), v.minLength(1, 'after must not be empty'), v.maxLength(96, 'after is too long'))),
});

const BAD_CURSOR = () => new HttpError(400, 'bad_cursor', 'The cursor is not one this server handed out.');

/** Seconds until the fixed window containing `now` ends, for Retry-After. */
function retryAfter(now: number, windowMs: number): Record<string, string> {
  return { 'retry-after': String(Math.max(1, Math.ceil((windowMs - (now % windowMs)) / 1000))) };
}

function single(query: URLSearchParams, names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const all = query.getAll(name);
    if (all.length > 1) throw new HttpError(400, 'bad_request', `Give ${name} at most once.`);
    if (all.length === 1) out[name] = all[0]!;
  }
  return out;
}

// ── auth ───────────────────────────────────────────────────────────────────

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function authenticate(ctx: Ctx): Promise<string> {
  const header = ctx.req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer ([A-Za-z0-9_-]{43})$/.exec(header.trim()) : null;
  if (!match) throw new HttpError(401, 'unauthorized', 'Send the account token as "Authorization: Bearer <token>".');
  const account = await ctx.app.store.accountByTokenHash(hashToken(match[1]!));
  if (!account) throw new HttpError(401, 'unauthorized', 'This token belongs to no account (it may have been deleted).');
  const { app, req } = ctx;
  const ip = clientAddress(req.socket.remoteAddress, req.headers, { trust: app.config.trustProxy, header: app.config.proxyHeader });
  // The extension calls from the sender's browser: its networks are the sender's own (./anysend.ts).
  if (ip) await app.ownNetworks.note(account, networkPrefix(ip), Date.now());
  return account;
}

const NOT_FOUND = () => new HttpError(404, 'not_found', 'No such tracker for this account.');

function trackerBody(t: TrackerRecord) {
  return { tracker: t.tracker, state: t.state, sentAt: t.sentAt, sentBy: t.sentBy, autoSend: t.autoSend };
}

// ── handlers ───────────────────────────────────────────────────────────────

const healthz: Handler = async ({ app, res }) => {
  const { status, body } = await health(app);
  sendJson(res, status, body);
};

const metrics: Handler = async ({ app, res }) => {
  const text = await app.metrics.registry.metrics();
  res.writeHead(200, { 'content-type': app.metrics.registry.contentType, 'cache-control': 'no-store' });
  res.end(text);
};

/** Allow headers only for an allowed origin (the dispatcher has set its access-control-allow-origin). */
const preflight: Handler = ({ res }) => {
  sendJson(res, 204, undefined, res.hasHeader('access-control-allow-origin') ? PREFLIGHT : {});
};

const createAccount: Handler = async (ctx) => {
  const { app, req, res } = ctx;
  const ip = clientAddress(req.socket.remoteAddress, req.headers, { trust: app.config.trustProxy, header: app.config.proxyHeader });
  const network = ip ? lookupNetwork(ip)?.prefix : null;
  const now = Date.now();
  const count = await app.store.countRate(`accounts:${network ?? 'unknown'}`, HOUR, now);
  if (count > app.config.accountsPerHour) {
    const retry = Math.ceil((HOUR - (now % HOUR)) / 1000);
    throw new HttpError(429, 'rate_limited', 'Too many accounts created from this network; try again later.', { 'retry-after': String(retry) });
  }
  const account = randomBytes(16).toString('base64url');
  const token = randomBytes(32).toString('base64url');
  await app.store.createAccount({ id: account, tokenHash: hashToken(token), createdAt: now });
  sendJson(res, 201, { account, token, pixelBase: `${app.config.publicUrl}/p/${account}/` });
};

const deleteAccount: Handler = async (ctx) => {
  const account = await authenticate(ctx);
  await ctx.app.store.deleteAccount(account);
  ctx.app.contexts.clear();
  ctx.app.ownNetworks.forget(account);
  sendJson(ctx.res, 204, undefined);
};

const putTracker: Handler = async (ctx) => {
  const account = await authenticate(ctx);
  const tracker = trackerId(ctx);
  const body = validate(PutTrackerBody, await readJson(ctx), 'Tracker');
  const now = Date.now();
  const sentAt = body.state === 'sent' ? (body.sentAt ?? now) : null;
  if (sentAt !== null && (sentAt < now - 7 * DAY || sentAt > now + 5 * 60_000)) {
    throw new HttpError(400, 'bad_request', 'sentAt must be between 7 days ago and 5 minutes from now.');
  }
  const before = await ctx.app.store.getTracker(account, tracker);
  const saved = await ctx.app.store.putTracker({ account, tracker, state: body.state, sentAt, now, autoSend: body.autoSend }).catch((error: unknown) => {
    if (error instanceof LimitError) {
      throw new HttpError(429, 'rate_limited', `This account may register ${ctx.app.config.trackersPerDay} new trackers a day; try again tomorrow.`, retryAfter(now, DAY));
    }
    throw error;
  });
  if (!saved) throw NOT_FOUND();
  ctx.app.contexts.invalidate(account, tracker);
  // Hits that came in before the PUT reached us were judged against `armed`.
  if (before?.state === 'armed' && saved.state === 'sent') await relabelTracker(ctx.app.store, account, tracker);
  sendJson(ctx.res, 200, trackerBody(saved));
};

/** SPEC §3: at most 500 hits per answer, oldest first; `next` (or null) pages on with `?after=`. */
const getTracker: Handler = async (ctx) => {
  const account = await authenticate(ctx);
  const tracker = trackerId(ctx);
  const query = validate(TrackerQuery, single(ctx.query, ['after']), 'Tracker query');
  const record = await ctx.app.store.getTracker(account, tracker);
  if (!record) throw NOT_FOUND();
  const page = await ctx.app.store.trackerHitsPage(account, tracker, query.after ?? null, TRACKER_PAGE_LIMIT).catch((error: unknown) => {
    if (error instanceof InvalidCursorError) throw BAD_CURSOR();
    throw error;
  });
  sendJson(ctx.res, 200, { ...trackerBody(record), hits: page.hits, dropped: record.dropped, next: page.next });
};

const deleteTracker: Handler = async (ctx) => {
  const account = await authenticate(ctx);
  const tracker = trackerId(ctx);
  if (!(await ctx.app.store.deleteTracker(account, tracker))) throw NOT_FOUND();
  ctx.app.contexts.invalidate(account, tracker);
  sendJson(ctx.res, 204, undefined);
};

/**
 * Self-view writes run one at a time, each in its own turn of the event loop.
 * With SQLite a write commits (and fsyncs, synchronous=FULL) on the event loop;
 * a burst of self-views handled together ran their commits back to back, and
 * every pixel arriving meanwhile waited for all of them (~300 ms for ten
 * self-views on this machine, issue 13). Taking turns, a pixel waits for one.
 */
let selfViewTurn: Promise<unknown> = Promise.resolve();
function inTurn<T>(job: () => Promise<T>): Promise<T> {
  const run = selfViewTurn.then(() => new Promise<void>((resolve) => setImmediate(resolve))).then(job);
  selfViewTurn = run.catch(() => undefined);
  return run;
}

const addSelfView: Handler = async (ctx) => {
  const account = await authenticate(ctx);
  const tracker = trackerId(ctx);
  const body = validate(SelfViewBody, await readJson(ctx), 'Self-view');
  const now = Date.now();
  if (body.at > now + 5 * 60_000) throw new HttpError(400, 'bad_request', 'at must not be in the future.');
  const outcome = await inTurn(() => ctx.app.store.addSelfView(account, tracker, body.at, now));
  if (outcome === null) throw NOT_FOUND();
  if (outcome === 'limited') {
    const limit = ctx.app.config.selfViewsPerMinute;
    throw new HttpError(429, 'rate_limited', `At most ${limit} self-views of one tracker a minute; try again shortly.`, retryAfter(now, MINUTE));
  }
  // For good, unlike a 429: the extension drops a call refused with another 4xx instead of retrying it.
  if (outcome === 'full') {
    throw new HttpError(409, 'self_views_full', `This tracker keeps at most ${MAX_SELF_VIEWS_PER_TRACKER} self-views more than a minute apart; this one was not stored.`);
  }
  // A self-view inside one already stored changes nothing (SPEC §3: merged).
  if (outcome !== 'covered') {
    ctx.app.contexts.invalidate(account, tracker);
    // Hits recorded before this self-view arrived may be the sender's own (SPEC §3: re-labelled, re-announced).
    await inTurn(() => relabelNear(ctx.app.store, account, tracker, body.at));
  }
  sendJson(ctx.res, 204, undefined);
};

const events: Handler = async (ctx) => {
  const account = await authenticate(ctx);
  const query = validate(EventsQuery, single(ctx.query, ['after', 'wait', 'blobsAfter']), 'Events query');
  const { app, req, res } = ctx;
  // Issue 21: with blobsAfter, the sealed-blob changes come alongside, on their own cursor (README, API).
  let blobsAfter = parseBlobsAfter(query.blobsAfter);
  const deadline = Date.now() + (query.wait ?? 0) * 1000;
  let after = query.after ?? null;
  let gone = false;
  let ticket: ReturnType<FeedWaiters['ticket']> | null = null;
  // A client that goes away (an MV3 worker stopped mid-poll) releases its wait, timer and gauge at once.
  res.once('close', () => {
    gone = true;
    ticket?.cancel();
  });
  for (;;) {
    ticket = app.feed.ticket(account);
    try {
      const page = await app.store.events(account, after, PAGE_LIMIT).catch((error: unknown) => {
        if (error instanceof InvalidCursorError) throw new HttpError(400, 'bad_cursor', 'The cursor is not one this server handed out.');
        throw error;
      });
      const blobs = blobsAfter === null ? null : await blobPage(ctx, account, blobsAfter);
      const remaining = deadline - Date.now();
      // On shutdown the held request is answered with what there is (an empty page keeps the cursor).
      if (page.events.length > 0 || (blobs?.blobs.length ?? 0) > 0 || remaining <= 0 || gone || req.destroyed || app.feed.closed) {
        sendJson(res, 200, blobs ? { ...page, blobs: blobs.blobs, blobCursor: String(blobs.cursor), keys: blobs.keys } : page);
        return;
      }
      after = page.cursor;
      if (blobs) blobsAfter = blobs.cursor;
      await ticket.wait(remaining);
    } finally {
      ticket.cancel();
    }
  }
};

// writeHead takes a flat [name, value, …] array without copying or re-checking an object's keys.
const PIXEL_HEADER_LIST: string[] = Object.entries(PIXEL_HEADERS).flat();

export function sendPixel(res: ServerResponse): void {
  res.writeHead(200, PIXEL_HEADER_LIST);
  res.end(GIF);
}

/** A pixel fetch that node:http read: requests on connections the fast path handed over (fastpath.ts). */
class NodePixelRequest implements PixelRequest {
  constructor(
    private req: IncomingMessage,
    private res: ServerResponse,
  ) {}

  get method(): string {
    return this.req.method ?? 'GET';
  }

  get url(): string {
    return this.req.url ?? '';
  }

  get peer(): string | undefined {
    return this.req.socket.remoteAddress;
  }

  header(name: PixelHeaderName): string | undefined {
    const value = this.req.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  respond(): void {
    if (!this.res.headersSent && !this.res.destroyed) sendPixel(this.res);
  }
}

/** Listed in the route table; createDispatcher serves /p/ itself before routing (the hot path). */
const pixel: Handler = ({ app, req, res }) => handlePixel(app, new NodePixelRequest(req, res));

// ── the route table ────────────────────────────────────────────────────────

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'OPTIONS';

function routes(): Array<[Method[], string, string, Handler]> {
  return [
    [['GET'], '/healthz', 'healthz', healthz],
    [['GET'], '/metrics', 'metrics', metrics],
    [['OPTIONS'], '/v1/*', 'preflight', preflight],
    [['POST'], '/v1/accounts', 'accounts', createAccount],
    [['DELETE'], '/v1/accounts/me', 'accounts/me', deleteAccount],
    [['PUT'], '/v1/trackers/:tracker', 'trackers', putTracker],
    [['GET'], '/v1/trackers/:tracker', 'trackers', getTracker],
    [['DELETE'], '/v1/trackers/:tracker', 'trackers', deleteTracker],
    [['POST'], '/v1/trackers/:tracker/self-views', 'self-views', addSelfView],
    [['GET'], '/v1/events', 'events', events],
    ...SYNC_ROUTES,
    ...NOTIFY_ROUTES,
    // Every path under /p/ answers the GIF, also ones the router cannot decode (see dispatch).
    [['GET', 'HEAD'], '/p/*', 'pixel', pixel],
  ];
}

interface RouteStore {
  name: string;
  handler: Handler;
}

export function createDispatcher(app: App): (req: IncomingMessage, res: ServerResponse) => void {
  const router = Router({ maxParamLength: 2048, ignoreTrailingSlash: false });
  for (const [methods, path, name, handler] of routes()) {
    router.on(methods, path, () => undefined, { name, handler } satisfies RouteStore);
  }

  const fail = (res: ServerResponse, route: string, error: unknown) => {
    if (error instanceof HttpError) {
      sendError(res, error.status, error.code, error.message, error.headers);
      return;
    }
    if (error instanceof StoreBehindError) {
      app.log.warn({ route }, 'request refused: recorded hits not yet in the database');
      sendError(res, 503, 'behind', error.message, { 'retry-after': '5' });
      return;
    }
    if (error instanceof StoreUnavailableError) {
      // Said at once (Store.failing; /healthz says why): a client retries later rather than wait for a disk.
      app.metrics.storeErrors.inc({ operation: route });
      sendError(res, 503, 'store_failing', 'The server cannot store anything right now; try again in a minute.', { 'retry-after': '60' });
      return;
    }
    app.metrics.storeErrors.inc({ operation: route });
    app.log.error({ route, err: error instanceof Error ? { name: error.name, message: error.message } : String(error) }, 'request failed');
    sendError(res, 500, 'internal', 'Something went wrong on the server; try again.');
  };

  const pixelDeps: PixelDeps = app;
  return (req, res) => {
    // An absolute-form request line (`GET http://host/p/….gif`, RFC 9112 §3.2.2) is
    // served as its path, so a pixel fetched that way is still a pixel.
    if (req.url && req.url[0] !== '/') req.url = originForm(req.url);
    if (req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined) app.forwarding.saw(req.socket.remoteAddress);
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    // The route table's `GET|HEAD /p/*`, matched by a prefix test before the router:
    // every path under /p/ answers the GIF, also ones the router could not decode.
    if (url.startsWith('/p/') && (method === 'GET' || method === 'HEAD')) {
      void handlePixel(pixelDeps, new NodePixelRequest(req, res));
      return;
    }
    const started = performance.now();
    let found: ReturnType<typeof router.find> = null;
    try {
      found = router.find(method as Method, url);
    } catch {
      found = null;
    }
    if (!found) {
      sendError(res, 404, 'not_found', 'No such route.');
      return;
    }
    const route = found.store as RouteStore;
    const api = url.startsWith('/v1/');
    // The options page's "Test connection" reads /healthz too; only /v1 acts, so only /v1 refuses.
    if (api || route.name === 'healthz') {
      // These answers depend on Origin from here on, errors included (the extension reads their message).
      res.setHeader('vary', 'Origin');
      const origin = req.headers.origin;
      const allowed = allowedOrigin(origin, app.config.corsOrigins);
      if (allowed !== null) res.setHeader('access-control-allow-origin', allowed);
      else if (api && origin !== undefined && method !== 'OPTIONS') {
        sendError(res, 403, 'forbidden_origin', 'This server answers web pages only from browser extensions and the origins listed in OPENPING_CORS_ORIGINS.');
        return;
      }
    }
    const q = url.indexOf('?');
    const ctx: Ctx = {
      app,
      req,
      res,
      params: found.params,
      query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)),
    };
    Promise.resolve()
      .then(() => route.handler(ctx))
      .catch((error: unknown) => fail(res, route.name, error))
      .finally(() => {
        app.metrics.requestSeconds.observe({ route: route.name, status: String(res.statusCode) }, (performance.now() - started) / 1000);
      });
  };
}

/** The path and query of an absolute-form target; anything else is left as it is. */
export function originForm(target: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target);
  if (!scheme) return target;
  const rest = target.slice(scheme[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}
