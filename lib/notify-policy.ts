/**
 * Which browser of an account notifies (issue 21). The choice is the account's, kept by the server
 * (README "Which browser notifies"): `every` browser, only `one` chosen browser, or `once` — whichever is
 * open, the first to claim the notification at the server. An open's claim keys are the ids of the hits
 * it tells of; a reminder's is its tracker and due time, so a snoozed reminder is claimed anew.
 *
 * The decision is a pure function (tests/unit/notify-policy.test.ts); the rest asks the server and keeps
 * its last answer for when it cannot be reached.
 */
import { browser } from 'wxt/browser';
import { ApiError, request } from './api';
import type { Identity } from './settings';

export type NotifyMode = 'every' | 'one' | 'once';

export interface NotifyPolicy {
  mode: NotifyMode;
  /** The chosen browser's device id under `one`. */
  device: string | null;
  /** This browser's device id (the server says which token asked). */
  you: string;
}

/** What to do with one notification: show it, stay silent, or show it only if the server's claim is won. */
export type Delivery = 'show' | 'skip' | 'claim';

/**
 * - An account on one browser, or a policy not known yet (never reached the server): this browser shows.
 * - An open: `every` shows everywhere; `one` only on the chosen browser; `once` on the first to claim.
 * - A reminder fires once wherever it fires: claimed under `every` and `once`; under `one` only the
 *   chosen browser shows it.
 */
export function deliveryOf(kind: 'open' | 'reminder', policy: NotifyPolicy | null, shared: boolean): Delivery {
  if (!shared || !policy) return 'show';
  if (policy.mode === 'one') return policy.device === policy.you ? 'show' : 'skip';
  if (kind === 'reminder' || policy.mode === 'once') return 'claim';
  return 'show';
}

export function reminderClaimKey(tracker: string, dueAt: number): string {
  return `${tracker}@${Math.round(dueAt)}`;
}

const POLICY_KEY = 'notifyPolicy';

interface StoredPolicy extends NotifyPolicy {
  account: string;
}

/** The account's choice, fresh from the server; the last one known when it cannot be reached (null: none yet). */
export async function loadPolicy(identity: Identity): Promise<NotifyPolicy | null> {
  try {
    const fresh = await request<NotifyPolicy>(identity.server, '/v1/account/notify', { token: identity.token, timeoutMs: 5_000 });
    await browser.storage.local.set({ [POLICY_KEY]: { ...fresh, account: identity.account } satisfies StoredPolicy });
    return fresh;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const stored = (await browser.storage.local.get(POLICY_KEY))[POLICY_KEY] as StoredPolicy | undefined;
    return stored && stored.account === identity.account ? { mode: stored.mode, device: stored.device, you: stored.you } : null;
  }
}

/** The options page's choice; answers the policy as stored. */
export async function savePolicy(identity: Identity, mode: NotifyMode, device: string | null): Promise<NotifyPolicy> {
  const saved = await request<NotifyPolicy>(identity.server, '/v1/account/notify', { method: 'PUT', token: identity.token, body: { mode, device } });
  await browser.storage.local.set({ [POLICY_KEY]: { ...saved, account: identity.account } satisfies StoredPolicy });
  return saved;
}

/** `won`: show it; `lost`: another browser did; `later`: the server could not be asked, try again at the next sync. */
export async function claim(identity: Identity, key: string): Promise<'won' | 'lost' | 'later'> {
  try {
    await request(identity.server, `/v1/notifications/${encodeURIComponent(key)}/claim`, { method: 'POST', token: identity.token, timeoutMs: 5_000 });
    return 'won';
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 409) return 'lost';
    if (error.retryable) return 'later';
    // Refused for good (a server without claims: 404): showing it beats never showing it.
    console.warn('[openping] notification claim refused; shown here', error.message);
    return 'won';
  }
}

/**
 * Whether this browser shows one notification now: `show`, `skip` (for good), or `later` (keep it and
 * ask again at the next sync). Under a claim the keys are claimed one by one in one order (hit ids
 * begin with their time), so two browsers with the same batch race for the same first key: the loser
 * stops there and the winner takes the rest. A browser that read the feed in other pages may win a later
 * key alone — a notification for an open the other did not tell of.
 */
export async function mayShow(identity: Identity | null, kind: 'open' | 'reminder', keys: readonly string[], policy: NotifyPolicy | null, shared: boolean): Promise<'show' | 'skip' | 'later'> {
  const delivery = deliveryOf(kind, policy, shared);
  if (delivery !== 'claim') return delivery;
  // Nothing to claim (a notification decided before claims existed): shown, as before.
  if (!identity || keys.length === 0) return 'show';
  let won = false;
  for (const key of [...keys].sort()) {
    const outcome = await claim(identity, key);
    if (outcome === 'won') won = true;
    else return won ? 'show' : outcome === 'lost' ? 'skip' : 'later';
  }
  return 'show';
}
