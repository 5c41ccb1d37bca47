/**
 * A pixel pasted into another mail app (Apple Mail, Outlook, Thunderbird, a
 * phone; issue 20). No extension sees that app's Send button, so the server
 * tells when the message left:
 *
 * - The popup registers the tracker `armed` with `autoSend: true` when it copies
 *   the pixel. While armed, every fetch is `presend` (backend/classify): the
 *   user's own app showing the draft.
 * - Every authenticated API call notes the network (/24 or /48, the only thing
 *   a hit keeps too) it came from: the extension's long polls and registrations
 *   come from the user's browser, so these are the sender's own networks.
 * - The first fetch of an armed `autoSend` tracker from a network that none of
 *   the account's calls came from in the last OWN_NETWORK_DAYS is the message
 *   out in the world: the tracker turns `sent` at that fetch's time, sentBy
 *   `fetch`, and that fetch is classified by the normal rules — except the
 *   "too soon after sending" rule, which needs a real send time.
 * - "I sent it" in the popup is a plain `PUT {"state":"sent"}` (sentBy
 *   `client`), whichever comes first.
 *
 * Known limits (README "A pixel for any mail app"): a draft written on a phone
 * or behind another network than the browser's (a corporate proxy for the
 * desktop app only, IPv6 for one and IPv4 for the other) looks like the world
 * and turns the tracker `sent` early; the popup says which rule fired, and the
 * user can leave `autoSend` off and mark it sent by hand.
 */
import type { Logger } from './log.ts';
import type { Store, TrackerState, SentBy } from './store/types.ts';

const DAY = 86_400_000;
/** Networks the account's API calls came from within this long count as the sender's own. */
export const OWN_NETWORK_DAYS = 30;
/** Most own networks read per account: a laptop moves between a handful of networks a month. */
export const OWN_NETWORKS_LIMIT = 64;
/** One instance writes the same account's network at most this often (long polls come every 20 s). */
const NOTE_EVERY_MS = 10 * 60_000;
const CACHE_MAX = 20_000;

/** The part of a tracker's context the rule reads and, when it fires, updates. */
export interface SendableContext {
  state: TrackerState;
  sentAt: number | null;
  sentBy: SentBy | null;
  autoSend: boolean;
}

/**
 * The armed → sent rule: a fetch from `prefix` sends the tracker when it is armed
 * with autoSend and the account's API calls never came from that network. A
 * fetch whose network is unknown (`unknown`: no client address) sends nothing.
 */
export function sendsTracker(context: Pick<SendableContext, 'state' | 'autoSend'>, prefix: string, own: ReadonlySet<string>): boolean {
  return context.state === 'armed' && context.autoSend && prefix !== 'unknown' && !own.has(prefix);
}

/**
 * The account's own networks as this process knows them. With SQLite (one
 * process owns the file) every note goes through here, so the cache only
 * needs to forget networks that aged out; with PostgreSQL other instances note
 * networks too, so entries expire after `ttlMs`.
 */
export class OwnNetworks {
  private written = new Map<string, number>();
  private cached = new Map<string, { loadedAt: number; prefixes: Set<string> }>();

  constructor(
    private store: Store,
    private ttlMs: number,
    private log: Logger,
  ) {}

  /** An API call of `account` came from `prefix`; stored before it resolves (a fetch right after the call must see it). */
  async note(account: string, prefix: string, now: number): Promise<void> {
    this.cached.get(account)?.prefixes.add(prefix);
    const key = `${account} ${prefix}`;
    const last = this.written.get(key);
    if (last !== undefined && now - last < NOTE_EVERY_MS && now >= last) return;
    if (this.written.size >= CACHE_MAX) this.written.clear();
    this.written.set(key, now);
    try {
      await this.store.noteAccountNetwork(account, prefix, now);
    } catch (error) {
      // The call itself goes on; the next call of the account tries again.
      this.written.delete(key);
      this.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not note the network of an API call');
    }
  }

  async get(account: string, now: number): Promise<ReadonlySet<string>> {
    const entry = this.cached.get(account);
    if (entry && now - entry.loadedAt <= this.ttlMs) return entry.prefixes;
    const prefixes = new Set(await this.store.accountNetworks(account, now - OWN_NETWORK_DAYS * DAY, OWN_NETWORKS_LIMIT));
    if (this.cached.size >= CACHE_MAX) this.cached.clear();
    this.cached.set(account, { loadedAt: now, prefixes });
    return prefixes;
  }

  /** The account is gone (DELETE /v1/accounts/me). */
  forget(account: string): void {
    this.cached.delete(account);
    for (const key of this.written.keys()) if (key.startsWith(`${account} `)) this.written.delete(key);
  }
}

/**
 * Applies the rule to a fetch at `at` from `prefix`: when it fires, the store
 * turns the tracker sent and `context` is updated to what the store holds, so
 * the fetch is classified as sent. Of fetches racing on a context that is
 * still armed (the same moment, or several PostgreSQL instances) the earliest
 * fetch's time is the send, so none of them is left `presend`.
 * Returns whether this fetch sent it.
 */
export async function sendOnOutsideFetch(
  deps: { store: Store; ownNetworks: OwnNetworks },
  account: string,
  tracker: string,
  context: SendableContext,
  prefix: string,
  at: number,
): Promise<boolean> {
  if (!sendsTracker(context, prefix, await deps.ownNetworks.get(account, at))) return false;
  const saved = await deps.store.sendOnFetch(account, tracker, at);
  if (!saved) return false;
  context.state = saved.state;
  context.sentAt = saved.sentAt;
  context.sentBy = saved.sentBy;
  context.autoSend = saved.autoSend;
  return saved.sentBy === 'fetch' && saved.sentAt === at;
}
