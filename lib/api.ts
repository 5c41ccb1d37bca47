/**
 * The tracking server's HTTP API (SPEC §3) as seen from the extension's
 * service worker. Only HTTP lives here: no storage, no retries — callers
 * (outbox, sync) decide what a failure means.
 */
import type { HitRecord } from './db';
import type { HealthWarning as ContractHealthWarning } from '../contract';

/** Why a call failed, in the terms the background acts on. */
export type ApiFailure =
  /** No answer: server down, DNS, offline, CORS/host permission missing, timeout. */
  | 'network'
  /** 401: the token is missing or the server no longer knows the account. */
  | 'unauthorized'
  /** 5xx or 429: worth retrying later. */
  | 'server'
  /** Any other 4xx: the request itself is wrong; retrying will not help. */
  | 'rejected';

/**
 * What went wrong, for the words a user reads (lib/api-words.ts, STYLE §14): the
 * error's `message` stays English, for the console and the worker's log.
 * `answered`: the server answered with an error status (its `code`, if any, says which).
 */
export type ApiProblem = 'unreachable' | 'answered' | 'not-json' | 'incomplete' | 'endless' | 'not-openping' | 'scheme';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly failure: ApiFailure,
    readonly status: number | null,
    message: string,
    /** The server's `error` code when it sent one. */
    readonly code: string | null = null,
    readonly problem: ApiProblem = 'answered',
    /** Values for the words: `server`, `scheme`, or `says` (the server's own sentence, English). */
    readonly params: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  /** Whether the same call may succeed later without anything changing on our side. */
  get retryable(): boolean {
    return this.failure === 'network' || this.failure === 'server' || this.failure === 'unauthorized';
  }
}

export interface Credentials {
  server: string;
  token: string;
}

export interface NewAccount {
  account: string;
  token: string;
  pixelBase: string;
}

export interface EventsPage {
  events: HitRecord[];
  cursor: string | null;
  /** Issue 21: the sealed-blob changes, when asked for with blobsAfter (lib/sealed-sync.ts). */
  blobs?: { tracker: string; sealed: string | null; seq: number }[];
  blobCursor?: string;
  /** Issue 21: where the account's key rotation stands (GET /v1/keys), alongside the blobs. */
  keys?: { version: number; rekey: boolean; stale: number };
}

export interface TrackerState {
  tracker: string;
  state: 'armed' | 'sent';
  sentAt: number | null;
}

/** A server URL as the API wants it: scheme + host + path, no trailing slash. */
export function normalizeServer(server: string): string {
  const url = new URL(server.trim());
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ApiError('rejected', null, `The server URL must start with http:// or https:// (got ${url.protocol}).`, null, 'scheme', {
      scheme: url.protocol,
    });
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

export interface RequestOptions {
  method?: string;
  token?: string;
  body?: unknown;
  signal?: AbortSignal;
  /** Client-side limit; long polls pass their own. */
  timeoutMs?: number;
}

/** Exported for the calls of issue 21 (lib/sealed-sync.ts, lib/pairing.ts), which keep their own file. */
export async function request<T>(server: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 15_000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(`${normalizeServer(server)}${path}`, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal,
      // The token is the credential; cookies of the server's origin are not wanted.
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new ApiError('network', null, `Cannot reach the tracking server at ${server}: ${(error as Error).message}`, null, 'unreachable', {
      server,
    });
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text().catch(() => '');
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const body = (json ?? {}) as { error?: unknown; message?: unknown };
    const code = typeof body.error === 'string' ? body.error : null;
    const message =
      typeof body.message === 'string' ? body.message : `The tracking server answered ${res.status} ${res.statusText}`.trim();
    const failure: ApiFailure =
      res.status === 401 ? 'unauthorized' : res.status >= 500 || res.status === 429 ? 'server' : 'rejected';
    throw new ApiError(failure, res.status, message, code, 'answered', typeof body.message === 'string' ? { says: body.message } : {});
  }
  if (json === null) throw new ApiError('server', res.status, 'The tracking server sent a reply that is not JSON.', null, 'not-json');
  return json as T;
}

export async function createAccount(server: string): Promise<NewAccount> {
  const body = await request<Partial<NewAccount>>(server, '/v1/accounts', { method: 'POST', body: {} });
  if (typeof body.account !== 'string' || typeof body.token !== 'string' || typeof body.pixelBase !== 'string') {
    throw new ApiError('server', 201, 'The tracking server created an account but its reply lacks account, token or pixelBase.', null, 'incomplete');
  }
  return { account: body.account, token: body.token, pixelBase: body.pixelBase };
}

export function deleteAccount(creds: Credentials): Promise<void> {
  return request(creds.server, '/v1/accounts/me', { method: 'DELETE', token: creds.token });
}

export function putTracker(
  creds: Credentials,
  tracker: string,
  state: 'armed' | 'sent',
  sentAt?: number,
  /** A pixel pasted into another mail app: the server sends it at its first fetch from another network. */
  autoSend?: boolean,
): Promise<TrackerState> {
  return request(creds.server, `/v1/trackers/${encodeURIComponent(tracker)}`, {
    method: 'PUT',
    token: creds.token,
    body: { state, ...(sentAt === undefined ? {} : { sentAt }), ...(autoSend === undefined ? {} : { autoSend }) },
  });
}

export function deleteTracker(creds: Credentials, tracker: string): Promise<void> {
  return request(creds.server, `/v1/trackers/${encodeURIComponent(tracker)}`, { method: 'DELETE', token: creds.token });
}

export function postSelfView(creds: Credentials, tracker: string, at: number): Promise<void> {
  return request(creds.server, `/v1/trackers/${encodeURIComponent(tracker)}/self-views`, {
    method: 'POST',
    token: creds.token,
    body: { at },
  });
}

export interface TrackerView extends TrackerState {
  /** Every stored hit of the tracker, oldest first. */
  hits: HitRecord[];
  /** Fetches the server counted but did not store (its caps). */
  dropped: number;
}

/** Pages followed for one tracker at most: 500 hits each (SPEC §3), so 100,000 hits. */
const MAX_TRACKER_PAGES = 200;

/**
 * GET /v1/trackers/{tracker}: the tracker and all its hits. The server answers
 * at most 500 hits at a time with the cursor of the next page (SPEC §3); this
 * follows `next` until it is null.
 */
export async function getTracker(creds: Credentials, tracker: string, signal?: AbortSignal): Promise<TrackerView> {
  const hits: HitRecord[] = [];
  let after: string | null = null;
  for (let pages = 1; ; pages++) {
    const query: string = after === null ? '' : `?after=${encodeURIComponent(after)}`;
    const page = await request<Partial<TrackerView> & { next?: unknown }>(
      creds.server,
      `/v1/trackers/${encodeURIComponent(tracker)}${query}`,
      { token: creds.token, signal },
    );
    if (!Array.isArray(page.hits)) throw new ApiError('server', 200, 'The tracking server sent a tracker without hits.', null, 'incomplete');
    hits.push(...page.hits);
    const next = page.next ?? null;
    if (next === null) {
      return {
        tracker: typeof page.tracker === 'string' ? page.tracker : tracker,
        state: page.state === 'sent' ? 'sent' : 'armed',
        sentAt: typeof page.sentAt === 'number' ? page.sentAt : null,
        hits,
        dropped: typeof page.dropped === 'number' ? page.dropped : 0,
      };
    }
    // A server that never says null must not keep the worker busy forever.
    if (typeof next !== 'string' || next === after || pages >= MAX_TRACKER_PAGES) {
      throw new ApiError('server', 200, `The tracking server's pages of tracker ${tracker} do not come to an end.`, null, 'endless');
    }
    after = next;
  }
}

/** One page of the account's hits after `cursor`; with `wait` > 0 the server holds the call until a hit arrives. */
export async function getEvents(
  creds: Credentials,
  cursor: string | null,
  wait = 0,
  signal?: AbortSignal,
  blobsAfter?: string,
): Promise<EventsPage> {
  const params = new URLSearchParams();
  if (cursor !== null) params.set('after', cursor);
  params.set('wait', String(wait));
  if (blobsAfter !== undefined) params.set('blobsAfter', blobsAfter);
  const page = await request<Partial<EventsPage>>(creds.server, `/v1/events?${params}`, {
    token: creds.token,
    signal,
    timeoutMs: (wait + 15) * 1000,
  });
  if (!Array.isArray(page.events)) throw new ApiError('server', 200, 'The tracking server sent an events page without events.', null, 'incomplete');
  const next = page.cursor as unknown;
  // SPEC §3 does not fix the cursor's JSON type; keep it opaque as a string either way.
  const blobs = Array.isArray(page.blobs) && typeof page.blobCursor === 'string' ? { blobs: page.blobs, blobCursor: page.blobCursor, keys: page.keys } : {};
  return { events: page.events, cursor: typeof next === 'string' || typeof next === 'number' ? String(next) : cursor, ...blobs };
}

/**
 * A warning of /healthz (SPEC §3, contract/health.ts): a stable code and one
 * sentence for the server's operator. Any code: a newer server may give more.
 */
export type HealthWarning = ContractHealthWarning<string>;

function isHealthWarning(value: unknown): value is HealthWarning {
  const w = value as Partial<HealthWarning> | null;
  if (typeof w !== 'object' || w === null || typeof w.code !== 'string' || typeof w.message !== 'string') return false;
  // Parameters of another shape are dropped, the warning kept: it is then shown in the server's words.
  if (w.params !== undefined && (typeof w.params !== 'object' || w.params === null || !Object.values(w.params).every((v) => typeof v === 'string'))) {
    delete (w as { params?: unknown }).params;
  }
  return true;
}

/**
 * GET /healthz: whether an OpenPing server answers there (options page "Test
 * connection"), and what it warns of — e.g. a pixel URL recipients cannot reach.
 */
export async function checkHealth(server: string): Promise<HealthWarning[]> {
  const body = await request<{ ok?: unknown; warnings?: unknown }>(server, '/healthz', { timeoutMs: 8_000 });
  if (body.ok !== true) throw new ApiError('server', 200, 'The server answered, but not like an OpenPing tracking server.', null, 'not-openping');
  // A server from before the warnings sends no list; an entry of another shape is skipped, not shown.
  return Array.isArray(body.warnings) ? body.warnings.filter(isHealthWarning) : [];
}
